package series

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var seoul = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		panic(err)
	}
	return loc
}()

func day(s string) time.Time {
	d, err := time.ParseInLocation(dateLayout, s, seoul)
	if err != nil {
		panic(err)
	}
	return d
}

func dates(slots []Slot, skipped bool) []string {
	var out []string
	for _, s := range slots {
		if s.Skipped == skipped {
			out = append(out, s.Date)
		}
	}
	return out
}

func TestWeekdayRule(t *testing.T) {
	t.Parallel()
	days, err := ParseWeekdays([]string{"Saturday"})
	require.NoError(t, err)
	r := Rule{Weekdays: days, Start: "10:00", End: "12:00"}
	// 2027-03-01 is a Monday: the season's Saturdays are these.
	slots, err := r.Slots(day("2027-03-01"), day("2027-04-30"), []string{"2027-03-20"})
	require.NoError(t, err)
	require.Equal(t, []string{"2027-03-06", "2027-03-13", "2027-03-27", "2027-04-03", "2027-04-10", "2027-04-17", "2027-04-24"}, dates(slots, false))
	require.Equal(t, []string{"2027-03-20"}, dates(slots, true))
	for _, s := range slots {
		require.Equal(t, "10:00", s.Start)
		require.Equal(t, "12:00", s.End)
	}

	_, err = ParseWeekdays([]string{"sat", "caturday"})
	require.ErrorContains(t, err, `unknown weekday "caturday": expected one of sun, mon, tue, wed, thu, fri, sat`)
	_, err = ParseWeekdays([]string{"sat", "SAT"})
	require.ErrorContains(t, err, "given twice")
	_, err = r.Slots(day("2027-03-01"), day("2027-02-01"), nil)
	require.ErrorContains(t, err, "the season's until (2027-02-01) is before its from (2027-03-01)")
	_, err = r.Slots(day("2027-01-01"), day("2029-01-01"), nil)
	require.ErrorContains(t, err, "at most 400")
}

// A cron rule's matches are slot starts in the site's zone, whatever the
// zone of the process: 07:00 in Seoul is 22:00 UTC the day before.
func TestCronRuleInSiteZone(t *testing.T) {
	t.Parallel()
	r := Rule{Cron: "0 7 * * sat,sun", SlotMinutes: 90}
	slots, err := r.Slots(day("2027-03-01"), day("2027-03-14"), []string{"2027-03-07"})
	require.NoError(t, err)
	require.Equal(t, []Slot{
		{Date: "2027-03-06", Start: "07:00", End: "08:30"},
		{Date: "2027-03-07", Start: "07:00", End: "08:30", Skipped: true},
		{Date: "2027-03-13", Start: "07:00", End: "08:30"},
		{Date: "2027-03-14", Start: "07:00", End: "08:30"},
	}, slots)

	for _, tc := range []struct{ cron, want string }{
		{"0 7,9 * * sat", "matches more than once on 2027-03-06 (07:00 and 09:00): a series books one slot a day"},
		{"CRON_TZ=UTC 0 7 * * sat", "read in the site's time zone: remove the TZ= prefix"},
		{"@every 1h", "@every is a period"},
		{"0 25 * * sat", `"0 25 * * sat" is not a cron expression`},
		{"0 23 * * sat", "would end after midnight"},
	} {
		_, err := Rule{Cron: tc.cron, SlotMinutes: 90}.Slots(day("2027-03-01"), day("2027-03-14"), nil)
		require.ErrorContains(t, err, tc.want, tc.cron)
	}
	_, err = Rule{Cron: "0 7 * * sat"}.Slots(day("2027-03-01"), day("2027-03-14"), nil)
	require.ErrorContains(t, err, "needs slot_minutes")
}
