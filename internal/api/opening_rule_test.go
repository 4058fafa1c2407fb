package api

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/database/dbtest"
	"reserver/internal/profile"
)

// loadedSite is a real site profile as the API sees it, like the app's
// adapter (which this package cannot import).
type loadedSite struct{ p *profile.Profile }

func (s loadedSite) Location() *time.Location { return s.p.Location }
func (s loadedSite) OpensAt(d time.Time, start, end string) (time.Time, bool) {
	return s.p.OpensAt(d, start, end)
}
func (s loadedSite) CheckFields(f map[string]string) []FieldProblem {
	var out []FieldProblem
	for _, e := range s.p.ValidateFields(f) {
		out = append(out, FieldProblem{Field: e.Field, Detail: e.Problem})
	}
	return out
}

var openingBlock = regexp.MustCompile(`(?m)^opening:\n(?:[ #].*\n)*`)

// courtsimWith is the shipped courtsim profile with its opening rule
// replaced by rule (one line of YAML).
func courtsimWith(t *testing.T, rule string) *profile.Profile {
	t.Helper()
	src, err := os.ReadFile("../../configs/sites/courtsim.yaml")
	require.NoError(t, err)
	require.Regexp(t, openingBlock, string(src), "courtsim.yaml has an opening rule to replace")
	p, err := profile.Parse("courtsim.yaml", []byte(openingBlock.ReplaceAllString(string(src), rule+"\n")))
	require.NoError(t, err)
	require.True(t, p.Opening.Rolling)
	return p
}

// A booking of a site with a rolling rule opens a fixed time before its
// own slot: the API computes it from the booking's date, start and end, and
// warns when a given opens_at disagrees.
func TestRollingOpeningRule(t *testing.T) {
	t.Parallel()
	// The end of a slot minus 96h30s, rounded up to the minute.
	p := courtsimWith(t, `opening: {rolling: {before: 96h30s, of: end, granularity: 1m}}`)
	b := setup(t, dbtest.SQLite(t), func(o *Options) { o.Sites = siteMap{"courtsim": loadedSite{p}} })
	booking := func(court int, start, end, opensAt string) string {
		body := strings.Replace(validBody, `"court": 3`, fmt.Sprintf(`"court": %d`, court), 1)
		body = strings.Replace(body, `"start": "10:00"`, `"start": "`+start+`"`, 1)
		body = strings.Replace(body, `"end": "11:00"`, `"end": "`+end+`"`, 1)
		given := ""
		if opensAt != "" {
			given = `"opens_at": "` + opensAt + `",`
		}
		return strings.Replace(body, `"opens_at": "2026-11-25T10:00:00+09:00",`, given, 1)
	}
	tests := []struct {
		name       string
		court      int
		start, end string
		opensAt    string // given; "" to leave it out
		want       string // the stored opens_at
		warning    string // "" for none
	}{
		{"computed from the end", 3, "10:00", "11:00", "",
			"2026-11-27T02:00:00Z", ""},
		{"another slot, another instant", 4, "18:00", "19:30", "",
			"2026-11-27T10:30:00Z", ""},
		{"a given opens_at that agrees", 5, "10:00", "11:00", "2026-11-27T11:00:00+09:00",
			"2026-11-27T02:00:00Z", ""},
		{"a given opens_at that disagrees", 6, "10:00", "11:00", "2026-11-27T10:00:00+09:00",
			"2026-11-27T01:00:00Z",
			"opens_at 2026-11-27 10:00:00 +09:00 KST differs from the site's opening rule, which gives 2026-11-27 11:00:00 +09:00 KST; the given opens_at is used"},
		{"a given opens_at that disagrees by the rounding", 7, "10:00", "11:00", "2026-11-27T10:59:30+09:00",
			"2026-11-27T01:59:30Z",
			"opens_at 2026-11-27 10:59:30 +09:00 KST differs from the site's opening rule, which gives 2026-11-27 11:00:00 +09:00 KST"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := b.do(t, "POST", "/v1/bookings", b.alice, booking(tc.court, tc.start, tc.end, tc.opensAt))
			require.Equal(t, 201, r.status, r.raw)
			require.Equal(t, tc.want, r.body["opens_at"], r.raw)
			if tc.warning == "" {
				require.NotContains(t, r.body, "warnings", r.raw)
			} else {
				require.Len(t, r.body["warnings"], 1, r.raw)
				require.Contains(t, r.body["warnings"].([]any)[0], tc.warning)
			}
			got := b.do(t, "GET", fmt.Sprintf("/v1/bookings/%d", int64(r.body["id"].(float64))), b.alice, "")
			require.Equal(t, 200, got.status, got.raw)
			require.Equal(t, tc.want, got.body["opens_at"], "stored")
		})
	}
}

// Without a usable start or end a rolling rule gives no instant: the
// booking is refused for its start or end, not for a missing opening rule.
func TestRollingOpeningRuleWithABadSlot(t *testing.T) {
	t.Parallel()
	p := courtsimWith(t, `opening: {rolling: {before: 72h, of: start}}`)
	sites := siteMap{"courtsim": loadedSite{p}}
	body := strings.Replace(validBody, `"opens_at": "2026-11-25T10:00:00+09:00",`, "", 1)
	_, probs := decodeBooking([]byte(strings.Replace(body, `"start": "10:00"`, `"start": "10:0"`, 1)), sites, rateLimits, fixedNow)
	require.Len(t, probs, 1, "%v", probs)
	require.Equal(t, "start", probs[0].Field)

	v, probs := decodeBooking([]byte(body), sites, rateLimits, fixedNow)
	require.Empty(t, probs)
	require.True(t, v.OpensAtComputed)
	require.Equal(t, "2026-11-28T10:00:00+09:00", v.OpensAt.Format(time.RFC3339))
}
