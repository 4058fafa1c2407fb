package session_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"reserver/internal/profile"
	"reserver/internal/session"
	"reserver/internal/sitesim"
)

// courtsimWith loads configs/sites/courtsim.yaml with one edit (old → new;
// new "" cuts from old to the end of the file), aimed at srv.
func courtsimWith(t *testing.T, srv *sitesim.Server, old, new string) *profile.Profile {
	t.Helper()
	raw, err := os.ReadFile("../../configs/sites/courtsim.yaml")
	require.NoError(t, err)
	src := string(raw)
	if old != "" {
		i := strings.Index(src, old)
		require.GreaterOrEqual(t, i, 0, "courtsim.yaml has no %q", old)
		if new == "" {
			src = src[:i]
		} else {
			src = strings.Replace(src, old, new, 1)
		}
	}
	p, err := profile.Parse("courtsim.yaml", []byte(src))
	require.NoError(t, err)
	p, err = p.WithBaseURL(srv.URL())
	require.NoError(t, err)
	return p
}

func TestRehearseRunsVerify(t *testing.T) {
	t.Parallel()
	const unmatched = `data-facility="nowhere-{{ .Booking.Court }}"`
	tests := []struct {
		name    string
		old     string // edit of courtsim.yaml; "" for none
		new     string
		submit  bool
		taken   bool // user002 holds the slot before the rehearsal
		healthy bool
		want    []string
		last    string // the last line of the output; "" for any
	}{
		{name: "no submit: the slot is free", healthy: true, want: []string{
			"verify  GET  /mypage/rentList.do  200  ", "retry  (no reservation for this slot)", "\nhealthy\n"}},
		{name: "after a submit: the reservation is found", submit: true, healthy: true, want: []string{
			"submit  POST /rent/apply.do  200", "verify  GET  /mypage/rentList.do  200  ",
			"success  reservation=", "(this slot is booked by this account)", "\nhealthy\n"}},
		{name: "no verify step", old: "  verify:\n", new: "", submit: false, healthy: true, want: []string{
			"warning courtsim.yaml:", "no verify step", "verify  none: the profile has no verify step", "\nhealthy\n"}},
		{name: "verify answers something unrecognised", old: "path: /mypage/rentList.do", new: "path: /mypage/nothing.do", healthy: false, want: []string{
			"verify  GET  /mypage/nothing.do  404  ", "unknown  (cannot tell whether this slot is booked)",
			"unhealthy: verify answered unknown"}},
		{name: "verify misses the reservation the submit made", old: `data-facility="{{ .Booking.Court }}"`, new: unmatched, submit: true, healthy: false, want: []string{
			"submit  POST /rent/apply.do  200", "retry  (no reservation for this slot)",
			"unhealthy: verify does not find the reservation the submit just made"}},
		{name: "a submit that does not book is unhealthy", submit: true, taken: true, healthy: false, want: []string{
			"submit  POST /rent/apply.do  200", "sold_out", "retry  (no reservation for this slot)"},
			last: "unhealthy: submit answered sold_out"},
		{name: "a submit that does not book is the last line after a verify problem too", old: "path: /mypage/rentList.do", new: "path: /mypage/nothing.do",
			submit: true, taken: true, healthy: false, want: []string{"unhealthy: verify answered unknown"},
			last: "unhealthy: submit answered sold_out"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setupSim(t, "courtsim.yaml", sitesim.Options{Accounts: 2})
			p := courtsimWith(t, b.srv, tc.old, tc.new)
			if tc.taken {
				// Court 3, 09:00 is slot 4 (timeNo = hour - 5).
				_, err := b.srv.Reserve("user002", 3, "2026-12-01", 4)
				require.NoError(t, err)
			}
			var out strings.Builder
			healthy, err := session.Rehearse(t.Context(), p, profile.AccountData{Username: "user001", Password: "pass1234"},
				booking(p, "3", "09:00", "홍길동"), session.RehearseOptions{Submit: tc.submit, Transport: b.tr, Probes: -1, ProbeSpacing: 1}, &out)
			require.NoError(t, err)
			text := out.String()
			require.Equal(t, tc.healthy, healthy, text)
			for _, w := range tc.want {
				require.Contains(t, text, w)
			}
			if tc.last != "" {
				lines := strings.Split(strings.TrimSpace(text), "\n")
				require.Equal(t, tc.last, lines[len(lines)-1], text)
			}
			require.NotContains(t, text, "pass1234")
		})
	}
}
