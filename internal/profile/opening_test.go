package profile_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/profile"
)

// withOpening is minimal in zone with the opening rule rule (one line of
// YAML) on line 4.
func withOpening(zone, rule string) string {
	return strings.Replace(minimal, "steps:", "time_zone: "+zone+"\n"+rule+"\nsteps:", 1)
}

const (
	seoul  = "Asia/Seoul"
	york   = "America/New_York" // 2026: 02:00 → 03:00 on Mar 8, 02:00 → 01:00 on Nov 1
	berlin = "Europe/Berlin"    // 2026: 02:00 → 03:00 on Mar 29, 03:00 → 02:00 on Oct 25
)

func TestOpensAtEveryShape(t *testing.T) {
	t.Parallel()
	const (
		days7   = `opening: {days_before: 7, at: "09:00"}`
		rollEnd = `opening: {rolling: {before: 72h, of: end}}`
	)
	tests := []struct {
		name, zone, rule string
		play             string // YYYY-MM-DD in the zone
		start, end       string
		want             string // RFC 3339 in the zone; "" for ok == false
	}{
		// days_before
		{"7 days before", seoul, days7, "2026-12-01", "10:00", "11:00", "2026-11-24T09:00:00+09:00"},
		{"across a year", seoul, days7, "2027-01-03", "10:00", "11:00", "2026-12-27T09:00:00+09:00"},
		{"the same day", seoul, `opening: {days_before: 0, at: "06:30"}`, "2026-03-01", "10:00", "11:00", "2026-03-01T06:30:00+09:00"},
		{"seconds", seoul, `opening: {days_before: 14, at: "12:00:30"}`, "2026-12-15", "10:00", "11:00", "2026-12-01T12:00:30+09:00"},
		{"one-digit hour with seconds", seoul, `opening: {days_before: 1, at: "9:05:59"}`, "2026-12-15", "10:00", "11:00", "2026-12-14T09:05:59+09:00"},
		{"midnight", seoul, `opening: {days_before: 1, at: "00:00:00"}`, "2026-12-15", "10:00", "11:00", "2026-12-14T00:00:00+09:00"},
		{"a fixed rule ignores the slot", seoul, days7, "2026-12-01", "", "nonsense", "2026-11-24T09:00:00+09:00"},

		// monthly
		{"monthly 25th", seoul, `opening: {monthly: {day: 25, at: "10:00"}}`, "2026-12-31", "10:00", "11:00", "2026-11-25T10:00:00+09:00"},
		{"monthly in January", seoul, `opening: {monthly: {day: 25, at: "10:00"}}`, "2027-01-01", "10:00", "11:00", "2026-12-25T10:00:00+09:00"},
		{"monthly with seconds", seoul, `opening: {monthly: {day: 1, at: "09:00:05"}}`, "2026-12-20", "10:00", "11:00", "2026-11-01T09:00:05+09:00"},
		{"monthly last", seoul, `opening: {monthly: {day: last, at: "14:00"}}`, "2026-03-10", "10:00", "11:00", "2026-02-28T14:00:00+09:00"},
		{"monthly last in a leap year", seoul, `opening: {monthly: {day: last, at: "14:00"}}`, "2028-03-01", "10:00", "11:00", "2028-02-29T14:00:00+09:00"},
		{"monthly last of a 31-day month", seoul, `opening: {monthly: {day: last, at: "14:00"}}`, "2026-02-01", "10:00", "11:00", "2026-01-31T14:00:00+09:00"},
		{"monthly 31 in a 30-day month", seoul, `opening: {monthly: {day: 31, at: "14:00"}}`, "2026-05-10", "10:00", "11:00", "2026-04-30T14:00:00+09:00"},

		// A wall time a spring-forward gap skips is the instant the clock
		// jumps to; one a fall-back fold repeats is its first occurrence.
		{"New York gap", york, `opening: {days_before: 7, at: "02:30"}`, "2026-03-15", "10:00", "11:00", "2026-03-08T03:00:00-04:00"},
		{"New York gap, its first second", york, `opening: {days_before: 7, at: "02:00"}`, "2026-03-15", "10:00", "11:00", "2026-03-08T03:00:00-04:00"},
		{"New York gap, its last second", york, `opening: {days_before: 7, at: "02:59:59"}`, "2026-03-15", "10:00", "11:00", "2026-03-08T03:00:00-04:00"},
		{"New York before the gap", york, `opening: {days_before: 7, at: "01:59:59"}`, "2026-03-15", "10:00", "11:00", "2026-03-08T01:59:59-05:00"},
		{"New York after the gap", york, `opening: {days_before: 7, at: "03:00"}`, "2026-03-15", "10:00", "11:00", "2026-03-08T03:00:00-04:00"},
		{"New York fold", york, `opening: {days_before: 7, at: "01:30"}`, "2026-11-08", "10:00", "11:00", "2026-11-01T01:30:00-04:00"},
		{"New York fold, its first second", york, `opening: {days_before: 7, at: "01:00"}`, "2026-11-08", "10:00", "11:00", "2026-11-01T01:00:00-04:00"},
		{"New York after the fold", york, `opening: {days_before: 7, at: "02:00"}`, "2026-11-08", "10:00", "11:00", "2026-11-01T02:00:00-05:00"},
		{"Berlin gap", berlin, `opening: {days_before: 1, at: "02:30"}`, "2026-03-30", "10:00", "11:00", "2026-03-29T03:00:00+02:00"},
		{"Berlin fold", berlin, `opening: {days_before: 1, at: "02:30"}`, "2026-10-26", "10:00", "11:00", "2026-10-25T02:30:00+02:00"},
		{"Berlin fold with seconds", berlin, `opening: {days_before: 1, at: "02:59:59"}`, "2026-10-26", "10:00", "11:00", "2026-10-25T02:59:59+02:00"},
		{"Berlin monthly in the gap", berlin, `opening: {monthly: {day: 29, at: "02:15"}}`, "2026-04-10", "10:00", "11:00", "2026-03-29T03:00:00+02:00"},
		{"Berlin monthly in the fold", berlin, `opening: {monthly: {day: 25, at: "02:15"}}`, "2026-11-10", "10:00", "11:00", "2026-10-25T02:15:00+02:00"},

		// rolling
		{"rolling of end", seoul, rollEnd, "2026-12-04", "10:00", "11:00", "2026-12-01T11:00:00+09:00"},
		{"rolling of start", seoul, `opening: {rolling: {before: 72h, of: start}}`, "2026-12-04", "10:00", "11:00", "2026-12-01T10:00:00+09:00"},
		{"rolling in days", seoul, `opening: {rolling: {before: 14d, of: start}}`, "2026-12-15", "07:30", "09:00", "2026-12-01T07:30:00+09:00"},
		{"rolling in days and hours", seoul, `opening: {rolling: {before: 1d12h, of: start}}`, "2026-12-15", "07:30", "09:00", "2026-12-13T19:30:00+09:00"},
		{"rolling of an end at 24:00", seoul, rollEnd, "2026-12-04", "23:00", "24:00", "2026-12-02T00:00:00+09:00"},
		{"rolling at 1s rounds up", seoul, `opening: {rolling: {before: 1500ms, of: start, granularity: 1s}}`, "2026-12-04", "10:00", "11:00", "2026-12-04T09:59:59+09:00"},
		{"rolling at 1s on the second", seoul, `opening: {rolling: {before: 90s, of: start}}`, "2026-12-04", "10:00", "11:00", "2026-12-04T09:58:30+09:00"},
		{"rolling at 1m rounds up", seoul, `opening: {rolling: {before: 90s, of: start, granularity: 1m}}`, "2026-12-04", "10:00", "11:00", "2026-12-04T09:59:00+09:00"},
		{"rolling at 1m on the minute", seoul, `opening: {rolling: {before: 72h, of: end, granularity: 1m}}`, "2026-12-04", "10:00", "11:00", "2026-12-01T11:00:00+09:00"},
		{"rolling counts elapsed time across a DST change", york, `opening: {rolling: {before: 24h, of: start}}`, "2026-03-08", "10:00", "11:00", "2026-03-07T09:00:00-05:00"},
		{"rolling from a slot in the gap", york, `opening: {rolling: {before: 1h, of: start}}`, "2026-03-08", "02:30", "03:30", "2026-03-08T01:00:00-05:00"},
		{"rolling from a slot in the fold", berlin, `opening: {rolling: {before: 1h, of: start}}`, "2026-10-25", "02:30", "03:30", "2026-10-25T01:30:00+02:00"},
		{"rolling of end ignores a bad start", seoul, rollEnd, "2026-12-04", "x", "11:00", "2026-12-01T11:00:00+09:00"},
		{"rolling of start ignores a bad end", seoul, `opening: {rolling: {before: 72h, of: start}}`, "2026-12-04", "10:00", "", "2026-12-01T10:00:00+09:00"},
		{"rolling, start unparsable", seoul, `opening: {rolling: {before: 72h, of: start}}`, "2026-12-04", "10", "11:00", ""},
		{"rolling, start 24:00", seoul, `opening: {rolling: {before: 72h, of: start}}`, "2026-12-04", "24:00", "11:00", ""},
		{"rolling, start with seconds", seoul, `opening: {rolling: {before: 72h, of: start}}`, "2026-12-04", "10:00:00", "11:00", ""},
		{"rolling, end unparsable", seoul, rollEnd, "2026-12-04", "10:00", "25:00", ""},
		{"rolling, end missing", seoul, rollEnd, "2026-12-04", "10:00", "", ""},
		{"rolling, end 24:30", seoul, rollEnd, "2026-12-04", "10:00", "24:30", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := mustParse(t, withOpening(tc.zone, tc.rule))
			play, err := time.ParseInLocation(time.DateOnly, tc.play, p.Location)
			require.NoError(t, err)
			got, ok := p.OpensAt(play, tc.start, tc.end)
			if tc.want == "" {
				require.False(t, ok, "got %s", got)
				return
			}
			require.True(t, ok)
			require.Equal(t, tc.want, got.Format(time.RFC3339Nano))
		})
	}
}

func TestOpensAtReadsThePlayDateInTheSiteZone(t *testing.T) {
	t.Parallel()
	p := mustParse(t, withOpening(seoul, `opening: {days_before: 1, at: "09:00"}`))
	// 15:00 UTC on Nov 30 is already Dec 1 in Seoul.
	got, ok := p.OpensAt(time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC), "10:00", "11:00")
	require.True(t, ok)
	require.Equal(t, "2026-11-30T09:00:00+09:00", got.Format(time.RFC3339))

	p = mustParse(t, withOpening(seoul, `opening: {rolling: {before: 24h, of: start}}`))
	got, ok = p.OpensAt(time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC), "10:00", "11:00")
	require.True(t, ok)
	require.Equal(t, "2026-11-30T10:00:00+09:00", got.Format(time.RFC3339))
}

func TestOpeningAsLoaded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rule string
		want profile.Opening
	}{
		{`opening: {days_before: 7, at: "09:00:30"}`, profile.Opening{DaysBefore: 7, At: 9*time.Hour + 30*time.Second}},
		{`opening: {monthly: {day: last, at: "10:00"}}`, profile.Opening{Monthly: true, Day: profile.LastDay, At: 10 * time.Hour}},
		{`opening: {rolling: {before: 72h, of: end}}`, profile.Opening{Rolling: true, Before: 72 * time.Hour, Of: profile.OfEnd, Granularity: time.Second}},
		{`opening: {rolling: {before: 14d, of: start, granularity: 1m}}`, profile.Opening{Rolling: true, Before: 14 * 24 * time.Hour, Of: profile.OfStart, Granularity: time.Minute}},
		{`opening: {rolling: {before: 400d, of: start, granularity: 60s}}`, profile.Opening{Rolling: true, Before: profile.MaxRollingBefore, Of: profile.OfStart, Granularity: time.Minute}},
	}
	for _, tc := range tests {
		p := mustParse(t, withOpening(seoul, tc.rule))
		require.Equal(t, tc.want, *p.Opening, tc.rule)
	}
	_, ok := mustParse(t, minimal).OpensAt(time.Now(), "10:00", "11:00")
	require.False(t, ok, "no rule")
}
