package profile_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"reserver/internal/profile"
)

// TestOpeningLoadErrors loads opening rules that start on line 4 and
// expects exactly the problems listed, each at its line.
func TestOpeningLoadErrors(t *testing.T) {
	t.Parallel()
	const clockMsg = "must be HH:MM or HH:MM:SS, from 00:00 to 23:59:59, got "
	tests := []struct {
		name, rule string
		want       []string // "line: substring", one per problem
	}{
		{"not a mapping", `opening: weekly`, []string{"4: opening must be a mapping"}},
		{"empty", `opening: {}`, []string{"4: opening: give days_before (with at), monthly or rolling"}},
		{"only at", `opening: {at: "09:00"}`, []string{"4: opening: give days_before (with at), monthly or rolling"}},
		{"unknown key", `opening: {days_before: 7, at: "09:00", hour: 9}`,
			[]string{`4: opening: unknown key "hour" (allowed: days_before, at, monthly, rolling)`}},
		{"unknown key in monthly", `opening: {monthly: {day: 1, at: "09:00", hour: 9}}`,
			[]string{`4: opening.monthly: unknown key "hour" (allowed: day, at)`}},
		{"unknown key in rolling", `opening: {rolling: {before: 72h, of: end, every: 1m}}`,
			[]string{`4: opening.rolling: unknown key "every" (allowed: before, of, granularity, at)`}},
		{"duplicate key", "opening:\n  rolling: {before: 72h, of: end}\n  rolling: {before: 24h, of: end}",
			[]string{`6: opening: duplicate key "rolling"`}},

		// Two shapes at once: a problem at each shape after the first,
		// and the problems inside every shape.
		{"days_before and monthly", `opening: {days_before: 1, at: "09:00", monthly: {day: 1, at: "09:00"}}`,
			[]string{"4: opening: days_before and monthly are two rules: give one, not both"}},
		{"three shapes", "opening:\n  days_before: 7\n  at: \"09:00\"\n  monthly: {day: 1, at: \"09:00\"}\n  rolling: {before: 72h, of: end}",
			[]string{"7: opening: days_before and monthly are two rules", "8: opening: days_before and rolling are two rules"}},
		{"two shapes, both wrong", "opening:\n  monthly: {day: 40, at: \"09:00\"}\n  rolling: {before: 0s, of: end}",
			[]string{"5: opening.monthly.day must be 1..31", "6: opening: monthly and rolling are two rules", `6: opening.rolling.before must be above 0 and at most 400d, got "0s"`}},

		// days_before
		{"days_before without at", `opening: {days_before: 7}`, []string{"4: opening.at is required (HH:MM or HH:MM:SS)"}},
		{"days_before too many", `opening: {days_before: 367, at: "09:00"}`, []string{"4: opening.days_before must be 0..366, got 367"}},
		{"days_before negative", `opening: {days_before: -1, at: "09:00"}`, []string{"4: opening.days_before must be 0..366, got -1"}},
		{"days_before not a number", `opening: {days_before: seven, at: "09:00"}`, []string{`4: opening.days_before must be an integer, got "seven"`}},
		{"days_before and at both wrong", "opening:\n  days_before: 400\n  at: \"9:00:60\"",
			[]string{"5: opening.days_before must be 0..366", `6: opening.at ` + clockMsg + `"9:00:60"`}},

		// Clock strings, in every at.
		{"hour 25", `opening: {days_before: 7, at: "25:00"}`, []string{`4: opening.at ` + clockMsg + `"25:00"`}},
		{"second 60", `opening: {days_before: 7, at: "9:00:60"}`, []string{`4: opening.at ` + clockMsg + `"9:00:60"`}},
		{"24:00", `opening: {days_before: 7, at: "24:00"}`, []string{`4: opening.at ` + clockMsg + `"24:00"`}},
		{"minute 60", `opening: {days_before: 7, at: "12:60"}`, []string{`4: opening.at ` + clockMsg + `"12:60"`}},
		{"one-digit second", `opening: {days_before: 7, at: "12:00:5"}`, []string{`4: opening.at ` + clockMsg + `"12:00:5"`}},
		{"one-digit minute", `opening: {days_before: 7, at: "12:5"}`, []string{`4: opening.at ` + clockMsg + `"12:5"`}},
		{"three-digit hour", `opening: {days_before: 7, at: "012:00"}`, []string{`4: opening.at ` + clockMsg + `"012:00"`}},
		{"hour only", `opening: {days_before: 7, at: "12"}`, []string{`4: opening.at ` + clockMsg + `"12"`}},
		{"fractions", `opening: {days_before: 7, at: "12:00:00.5"}`, []string{`4: opening.at ` + clockMsg + `"12:00:00.5"`}},
		{"four parts", `opening: {days_before: 7, at: "12:00:00:00"}`, []string{`4: opening.at ` + clockMsg + `"12:00:00:00"`}},
		{"a sign", `opening: {days_before: 7, at: "+9:00"}`, []string{`4: opening.at ` + clockMsg + `"+9:00"`}},
		{"a word", `opening: {days_before: 7, at: noon}`, []string{`4: opening.at ` + clockMsg + `"noon"`}},
		{"null", `opening: {days_before: 7, at: ~}`, []string{`4: opening.at ` + clockMsg + `""`}},
		{"a list", `opening: {days_before: 7, at: ["09:00"]}`, []string{`4: opening.at must be a scalar`}},
		{"monthly at", `opening: {monthly: {day: 1, at: "09:61"}}`, []string{`4: opening.monthly.at ` + clockMsg + `"09:61"`}},
		{"monthly without at", `opening: {monthly: {day: 1}}`, []string{"4: opening.monthly.at is required (HH:MM or HH:MM:SS)"}},

		// monthly
		{"monthly day 32", `opening: {monthly: {day: 32, at: "09:00"}}`, []string{`4: opening.monthly.day must be 1..31 or "last", got 32`}},
		{"monthly without day", `opening: {monthly: {at: "09:00"}}`, []string{`4: opening.monthly: day is required (1..31 or "last")`}},
		{"monthly with at outside", "opening:\n  monthly: {day: 1, at: \"09:00\"}\n  at: \"09:00\"",
			[]string{"6: opening: at belongs inside monthly"}},

		// rolling
		{"rolling not a mapping", `opening: {rolling: 72h}`, []string{"4: opening.rolling must be a mapping"}},
		{"rolling with at outside", "opening:\n  rolling: {before: 72h, of: end}\n  at: \"09:00\"",
			[]string{"6: opening: at does not apply to a rolling rule"}},
		{"rolling with at inside", "opening:\n  rolling:\n    before: 72h\n    of: end\n    at: \"09:00\"",
			[]string{"8: opening.rolling: at does not belong to a rolling rule"}},
		{"rolling without of", `opening: {rolling: {before: 72h}}`,
			[]string{"4: opening.rolling: of is required (start or end"}},
		{"rolling of neither", `opening: {rolling: {before: 72h, of: middle}}`,
			[]string{`4: opening.rolling.of must be start or end, got "middle"`}},
		{"rolling of a list", `opening: {rolling: {before: 72h, of: [start]}}`,
			[]string{`4: opening.rolling.of must be a scalar`}},
		{"rolling without before", `opening: {rolling: {of: start}}`,
			[]string{"4: opening.rolling: before is required (a duration such as 72h, 90m or 14d)"}},
		{"rolling empty", `opening: {rolling: {}}`,
			[]string{"4: opening.rolling: before is required", "4: opening.rolling: of is required"}},
		{"every rolling problem", `opening: {rolling: {before: soon, of: middle, granularity: 1h, at: "09:00"}}`,
			[]string{`4: opening.rolling.before must be a duration such as 72h, 90m or 14d, got "soon"`,
				`4: opening.rolling.of must be start or end, got "middle"`,
				`4: opening.rolling.granularity must be 1s or 1m, got "1h"`,
				"4: opening.rolling: at does not belong to a rolling rule"}},
		{"every rolling problem on its line", "opening:\n  rolling:\n    before: 401d\n    of: both\n    granularity: 2s",
			[]string{`6: opening.rolling.before must be above 0 and at most 400d, got "401d"`,
				`7: opening.rolling.of must be start or end, got "both"`,
				`8: opening.rolling.granularity must be 1s or 1m, got "2s"`}},
	}
	for _, bad := range []string{"72", "3 days", "1.5d", "d", "-1d", "1d-1h", "1d+1h", "72hours", "1dd", `""`} {
		tests = append(tests, struct {
			name, rule string
			want       []string
		}{"before " + bad, "opening: {rolling: {before: " + bad + ", of: end}}",
			[]string{"4: opening.rolling.before must be a duration such as 72h, 90m or 14d, got "}})
	}
	for _, far := range []string{"0s", "0d", "-72h", "400d1s", "9601h", "99999999999d"} {
		tests = append(tests, struct {
			name, rule string
			want       []string
		}{"before " + far, "opening: {rolling: {before: " + far + ", of: end}}",
			[]string{`4: opening.rolling.before must be above 0 and at most 400d, got "` + far + `"`}})
	}
	for _, g := range []string{"1h", "500ms", "minute", "0s", "2m"} {
		tests = append(tests, struct {
			name, rule string
			want       []string
		}{"granularity " + g, "opening: {rolling: {before: 72h, of: end, granularity: " + g + "}}",
			[]string{`4: opening.rolling.granularity must be 1s or 1m, got "` + g + `"`}})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := profile.Parse("o.yaml", []byte(withOpening(seoul, tc.rule)))
			var le *profile.LoadError
			require.True(t, errors.As(err, &le), "%v", err)
			for _, w := range tc.want {
				line, msg, _ := strings.Cut(w, ": ")
				require.Contains(t, err.Error(), "o.yaml:"+line+": "+msg)
			}
			require.Len(t, le.Problems, len(tc.want), "%v", err)
		})
	}
}

// The shapes and spellings that load, each with no problem and no warning
// beyond minimal's own.
func TestOpeningLoads(t *testing.T) {
	t.Parallel()
	for _, rule := range []string{
		`opening: {days_before: 0, at: "00:00"}`,
		`opening: {days_before: 366, at: "23:59:59"}`,
		`opening: {days_before: 7, at: "9:00"}`,
		`opening: {days_before: 7, at: 09:00}`,
		`opening: {monthly: {day: 31, at: "00:00:01"}}`,
		`opening: {monthly: {day: last, at: "10:00"}}`,
		`opening: {rolling: {before: 1ns, of: start}}`,
		`opening: {rolling: {before: 400d, of: end}}`,
		`opening: {rolling: {before: 9600h, of: end, granularity: 1m}}`,
		`opening: {rolling: {before: 2h30m, of: end, granularity: 1s}}`,
		`opening: {rolling: {before: 0d12h, of: start, granularity: 60s}}`,
	} {
		p, err := profile.Parse("o.yaml", []byte(withOpening(seoul, rule)))
		require.NoError(t, err, rule)
		require.NotNil(t, p.Opening, rule)
		require.Len(t, p.Warnings, len(mustParse(t, minimal).Warnings), "%s: %q", rule, p.Warnings)
	}
}
