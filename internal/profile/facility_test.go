package profile_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/profile"
)

// withTop puts top-level keys in front of minimal's steps.
func withTop(top string) string { return strings.Replace(minimal, "steps:", top+"steps:", 1) }

// CheckSlot refuses what the declared courts and grid do not have, each
// problem on its field with what the site does have; nothing is checked
// that the profile does not declare.
func TestCheckSlot(t *testing.T) {
	t.Parallel()
	grid := mustParse(t, withTop("courts: [\"1-8\", 10, Centre]\nslots: {first: \"06:00\", last: \"20:00\", length: 60m}\n"))
	list := mustParse(t, withTop("slots: [\"06:00-08:00\", \"08:00-10:00\", \"19:30-21:00\", \"22:00-24:00\"]\n"))
	none := mustParse(t, minimal)
	require.Nil(t, none.Courts)
	require.Nil(t, none.Slots)
	tests := []struct {
		name               string
		p                  *profile.Profile
		court, start, end  string
		field, wantProblem string // "" when the booking is fine
	}{
		{"grid: a court and slot it has", grid, "3", "10:00", "11:00", "", ""},
		{"grid: the first and last court of a range", grid, "8", "06:00", "07:00", "", ""},
		{"grid: a listed single court", grid, "10", "20:00", "21:00", "", ""},
		{"grid: leading zeros name the same court", grid, "03", "10:00", "11:00", "", ""},
		{"grid: a named court, any case", grid, "centre", "10:00", "11:00", "", ""},
		{"grid: a court it lacks", grid, "99", "10:00", "11:00", "court", `the site has no court "99" (its courts: 1-8, 10, Centre)`},
		{"grid: a court between ranges", grid, "9", "10:00", "11:00", "court", `no court "9"`},
		{"grid: a name it lacks", grid, "Annex", "10:00", "11:00", "court", `no court "Annex"`},
		{"grid: a start off the grid", grid, "3", "10:30", "11:30", "start", "no slot of the site starts at 10:30 (slots start every 60m from 06:00 to 20:00)"},
		{"grid: before the first slot", grid, "3", "05:00", "06:00", "start", "no slot of the site starts at 05:00"},
		{"grid: after the last slot", grid, "3", "21:00", "22:00", "start", "no slot of the site starts at 21:00"},
		{"grid: two slots are not one", grid, "3", "10:00", "12:00", "end", "the site's slot from 10:00 ends at 11:00, not 12:00"},
		{"list: a listed slot", list, "3", "08:00", "10:00", "", ""},
		{"list: a slot ending at midnight", list, "3", "22:00", "24:00", "", ""},
		{"list: an odd listed slot", list, "3", "19:30", "21:00", "", ""},
		{"list: not a listed start", list, "3", "07:00", "08:00", "start", "no slot of the site starts at 07:00 (slots 06:00-08:00, 08:00-10:00, 19:30-21:00, 22:00-24:00)"},
		{"list: the wrong end", list, "3", "06:00", "07:00", "end", "ends at 08:00, not 07:00"},
		{"list: courts not declared", list, "99", "06:00", "08:00", "", ""},
		{"nothing declared", none, "99", "03:17", "04:00", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.p.CheckSlot(tc.court, tc.start, tc.end)
			if tc.wantProblem == "" {
				require.Empty(t, got)
				return
			}
			require.Len(t, got, 1, "%v", got)
			require.Equal(t, tc.field, got[0].Field)
			require.Contains(t, got[0].Problem, tc.wantProblem)
		})
	}
	// Every problem at once.
	got := grid.CheckSlot("99", "10:30", "11:30")
	require.Len(t, got, 2)
	require.Equal(t, []string{"court", "start"}, []string{got[0].Field, got[1].Field})
}

// The loader reads courts and slots in their shapes and refuses bad ones
// with the line and what to write instead.
func TestLoadCourtsAndSlots(t *testing.T) {
	t.Parallel()
	p := mustParse(t, withTop("courts: [1, \"2-4\", Centre]\nslots: {first: \"07:30\", last: \"19:30\", length: 1h30m}\n"))
	require.Equal(t, "1, 2-4, Centre", p.Courts.String())
	require.Equal(t, profile.Slots{First: 7*time.Hour + 30*time.Minute, Last: 19*time.Hour + 30*time.Minute, Length: 90 * time.Minute}, *p.Slots)

	tests := []struct{ name, top, want string }{
		{"courts not a list", "courts: 1-8\n", `courts must be a non-empty list`},
		{"courts empty", "courts: []\n", `courts must be a non-empty list`},
		{"a backwards range", "courts: [\"8-1\"]\n", `courts[0]: range "8-1" must run from a lower number to a higher one`},
		{"an empty court", "courts: [\"\"]\n", `courts[0] is empty`},
		{"a repeated court", "courts: [\"1-8\", 5]\n", `courts[1]: "5" repeats a court already listed (1-8)`},
		{"a repeated name", "courts: [Centre, centre]\n", `courts[1]: "centre" repeats a court already listed (Centre)`},
		{"a template court", "courts: [\"{{ .Booking.Court }}\"]\n", `courts[0] is not a template position`},
		{"slots not a shape", "slots: 60m\n", `slots must be a grid {first: "06:00", last: "21:00", length: 60m} or a list`},
		{"grid without length", "slots: {first: \"06:00\", last: \"20:00\"}\n", "slots.length is required"},
		{"grid without first", "slots: {last: \"20:00\", length: 60m}\n", "slots.first is required"},
		{"grid unknown key", "slots: {first: \"06:00\", last: \"20:00\", length: 60m, every: 2}\n", `slots: unknown key "every"`},
		{"grid bad time", "slots: {first: \"6am\", last: \"20:00\", length: 60m}\n", `slots.first must be a time of day HH:MM`},
		{"grid bad length", "slots: {first: \"06:00\", last: \"20:00\", length: 90s}\n", `slots.length must be whole minutes`},
		{"grid last before first", "slots: {first: \"20:00\", last: \"06:00\", length: 60m}\n", "slots.last (06:00) is before slots.first (20:00)"},
		{"grid last off the grid", "slots: {first: \"06:00\", last: \"20:30\", length: 60m}\n", "slots.last (20:30) is not on the grid: slots start every 60m from 06:00"},
		{"grid past midnight", "slots: {first: \"07:00\", last: \"23:00\", length: 2h}\n", "ends after midnight"},
		{"list bad slot", "slots: [\"06:00\"]\n", `slots[0] must be a slot HH:MM-HH:MM, such as 06:00-08:00, got "06:00"`},
		{"list backwards slot", "slots: [\"08:00-06:00\"]\n", `slots[0]: the slot "08:00-06:00" ends before it starts`},
		{"list overlap", "slots: [\"06:00-08:00\", \"07:00-09:00\"]\n", `slots[1]: "07:00-09:00" starts before the slot before it (06:00-08:00) ends`},
		{"list empty", "slots: []\n", "slots must list at least one slot"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := profile.Parse("site.yaml", []byte(withTop(tc.top)))
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			require.Contains(t, err.Error(), "site.yaml:3:", "the problem carries the line it is on")
		})
	}
}

// The simulator's profiles declare what the simulator serves by default.
func TestSimProfilesDeclareCourtsAndSlots(t *testing.T) {
	t.Parallel()
	for _, f := range []string{"courtsim.yaml", "courtsim-euckr.yaml", "cartsim.yaml"} {
		p, err := profile.Load("../../configs/sites/" + f)
		require.NoError(t, err)
		require.Empty(t, p.CheckSlot("10", "17:00", "18:00"), f)
		require.Empty(t, p.CheckSlot("1", "06:00", "07:00"), f)
		require.Len(t, p.CheckSlot("99", "10:00", "11:00"), 1, f)
		require.Len(t, p.CheckSlot("3", "18:00", "19:00"), 1, f)
	}
}
