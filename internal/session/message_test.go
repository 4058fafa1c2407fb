package session_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/profile"
	"reserver/internal/session"
	"reserver/internal/sitesim"
)

// messageLine is courtsim.yaml's top-level message key.
var messageLine = regexp.MustCompile(`(?m)^message: .*$`)

// An attempt's excerpt leads with the site's message, not with the
// header and menu text before it: the alert's text when the profile says
// nothing, the declared element's when it declares one, and the secrets
// are masked in it too.
func TestExcerptLeadsWithMessage(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../../configs/sites/courtsim.yaml")
	require.NoError(t, err)
	require.Regexp(t, messageLine, string(src), "courtsim.yaml declares its message")
	for _, tc := range []struct {
		name    string
		message string // the message line put in the profile ("" removes it)
		want    string // what the submit's excerpt starts with
	}{
		{"courtsim.yaml as it is", "", sitesim.MsgNotOpen + " · "},
		{"undeclared: the alert", "-", sitesim.MsgNotOpen + " · "},
		{"a declared selector", `message: {css: "#footer"}`, "Copyright 시설관리공단. All rights reserved. · "},
		{"alternatives, the first that finds text", `message: [{css: "#nothing-here"}, {regex: 'class="msg-text">([^<]+)<'}]`, sitesim.MsgNotOpen + " · "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			text := string(src)
			switch tc.message {
			case "":
			case "-":
				text = messageLine.ReplaceAllString(text, "")
			default:
				text = messageLine.ReplaceAllString(text, tc.message)
			}
			p, err := profile.Parse("courtsim.yaml", []byte(text))
			require.NoError(t, err)
			b := setupSim(t, "courtsim.yaml", sitesim.Options{Accounts: 2})
			b.prof, err = p.WithBaseURL(b.srv.URL())
			require.NoError(t, err)
			b.srv.SetOpenAt(time.Now().Add(time.Hour))

			s := b.session(t, "user001")
			_, _, err = s.Login(t.Context(), 0)
			require.NoError(t, err)
			res := attempt(t.Context(), t, s, booking(p, "3", "10:00", "홍길동"))
			require.Equal(t, profile.ClassNotOpen, res.Class)
			require.True(t, strings.HasPrefix(res.Excerpt, tc.want), "the excerpt leads with the message:\n%s", res.Excerpt)
			// The rest of the page follows, as before.
			require.Contains(t, res.Excerpt, "시립 테니스장 통합예약")
			require.LessOrEqual(t, len([]rune(res.Excerpt)), session.ExcerptMax)
		})
	}
}
