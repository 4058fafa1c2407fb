package profile_test

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"reserver/internal/profile"
)

func TestLoadReportsEveryProblemWithLine(t *testing.T) {
	t.Parallel()
	_, err := profile.Load("testdata/broken.yaml")
	var le *profile.LoadError
	require.True(t, errors.As(err, &le), "%v", err)
	want := []struct {
		line int
		msg  string
	}{
		{1, `name "Bad Name"`},
		{2, "needs http(s)://host"},
		{3, `unknown charset "klingon"`},
		{4, `unknown time zone "Mars/Olympus"`},
		{5, "timeout"},
		{6, `unknown key "colour"`},
		{8, `unknown type "colour"`},
		{12, "opening.at must be HH:MM"},
		{15, `unsupported method "FETCH"`},
		{18, "unknown field .Account.Pasword"},
		{20, "needs a capture group"},
		{22, "path must start with"},
		{25, "bad CSS selector"},
		{30, `extraction "later" is not made by an earlier step`},
		{32, "bad template"},
		{33, "bad template"},
		{34, `optional booking field "opt"`},
		{38, "bad regex"},
		{39, `unknown class "victory"`},
		{40, "status 999"},
		{42, "unreachable: rule 3 matches everything"},
		{42, "reservation only belongs to a success rule"},
		{44, `extraction "later" is not made by an earlier step`},
	}
	for _, w := range want {
		found := false
		for _, p := range le.Problems {
			if p.Line == w.line && strings.Contains(p.Msg, w.msg) {
				found = true
				require.Equal(t, "testdata/broken.yaml", p.File)
				break
			}
		}
		require.True(t, found, "missing problem at line %d containing %q; got:\n%v", w.line, w.msg, err)
	}
	require.Len(t, le.Problems, len(want), "%v", err)
	require.Contains(t, err.Error(), "testdata/broken.yaml:39: ")
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, src, want string }{
		{"empty", "", "empty profile"},
		{"not a mapping", "- a\n", "profile must be a mapping"},
		{"missing steps", "name: a\nbase_url: http://127.0.0.1\n", "steps is required"},
		{"missing submit", "name: a\nbase_url: http://127.0.0.1\nsteps:\n  login: {path: /}\n  trace: {path: /}\n", "submit is required"},
		{"unknown step", "name: a\nbase_url: http://127.0.0.1\nsteps:\n  dance: {path: /}\n", `unknown key "dance"`},
		{"duplicate key", "name: a\nname: b\n", `duplicate key "name"`},
		{"form on GET", minimalWith("    path: /page?d={{ yyyymmdd .Booking.Date }}\n", "    path: /page\n    form: {a: b}\n"), "form needs a method with a body"},
		{"body without type", minimalWith("    path: /go\n", "    path: /go\n    body: x\n"), "body needs content_type"},
		{"every_submit on submit", minimalWith("    path: /go\n", "    path: /go\n    every_submit: true\n"), "every_submit only applies to a page visited before the submit"},
		{"undeclared field", minimalWith(`name: "{{ .Booking.Name }}"`, `name: "{{ .Booking.Fields.team }}"`), `booking field "team" is not declared`},
		{"index of an unknown extraction", minimalWith(`token: "{{ .X.token }}"`, `token: "{{ index .X \"nope\" }}"`), `extraction "nope"`},
		{"both opening kinds", strings.Replace(minimal, "steps:", "opening: {days_before: 1, at: \"09:00\", monthly: {day: 1, at: \"09:00\"}}\nsteps:", 1), "not both"},
		{"monthly bad day", strings.Replace(minimal, "steps:", "opening: {monthly: {day: 32, at: \"09:00\"}}\nsteps:", 1), "1..31"},
		{"submit without rules", minimalWith("    classify:\n", "    x_classify:\n"), "classify rules are required"},
		{"regex and css", minimalWith("{css: 'input[name=tok]', attr: value}", "{css: 'input', regex: '(x)'}"), "give one of regex, css or json, not regex and css"},
		{"template in content_type", minimalWith("    path: /go\n", "    path: /go\n    content_type: 'text/{{ .X.csrf }}'\n"), "content_type is not a template position"},
		{"template in user_agent", strings.Replace(minimal, "steps:", "user_agent: 'UA {{ .Now }}'\nsteps:", 1), "user_agent is not a template position"},
		{"bad header extraction", minimalWith("{regex: 'csrf = \"([^\"]+)\"'}", "{regex: '(x)', from: 'header:'}"), "from must be"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := profile.Parse("t.yaml", []byte(tc.src))
			require.ErrorIs(t, err, profile.ErrInvalid)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func minimalWith(old, new string) string {
	if !strings.Contains(minimal, old) {
		panic("minimalWith: " + old)
	}
	return strings.Replace(minimal, old, new, 1)
}

func TestLoadDirDuplicateNames(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir+"/a.yaml", minimal)
	writeFile(t, dir+"/b.yml", minimal)
	writeFile(t, dir+"/_skip.yaml", "not: valid")
	writeFile(t, dir+"/notes.txt", "ignored")
	_, err := profile.LoadDir(dir)
	require.ErrorIs(t, err, profile.ErrInvalid)
	require.Contains(t, err.Error(), `profile name "mini" is already used`)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
}

func TestLoadWarnings(t *testing.T) {
	t.Parallel()
	const verify = "  verify:\n    path: /mine\n"
	tests := []struct {
		name string
		src  string
		want []string // "line: substring", in order
	}{
		{"no verify step", minimal, []string{"3: steps: no verify step", "3: operator review"}},
		{"verify without rules", minimal + verify, []string{"32: verify: no classify rules: every 2xx or 3xx answer counts as booked"}},
		{"verify without a retry rule", minimal + verify + "    classify:\n      - {status: 200, body_contains: '{{ .Booking.Court }}', class: success}\n",
			[]string{"32: verify: no retry rule"}},
		{"verify without a success rule", minimal + verify + "    classify:\n      - {status: 200, class: retry}\n",
			[]string{"32: verify: no success rule"}},
		{"a complete verify", minimal + verify + "    classify:\n      - {status: 200, body_contains: '{{ .Booking.Court }}', class: success}\n      - {status: 200, class: retry}\n",
			nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := profile.Parse("w.yaml", []byte(tc.src))
			require.NoError(t, err)
			require.Len(t, p.Warnings, len(slices.Compact(lineOf(tc.want))), "%q", p.Warnings)
			for _, w := range tc.want {
				line, msg, _ := strings.Cut(w, ": ")
				require.True(t, slices.ContainsFunc(p.Warnings, func(got string) bool {
					return strings.HasPrefix(got, "w.yaml:"+line+": ") && strings.Contains(got, msg)
				}), "want a warning at w.yaml:%s containing %q; got %q", line, msg, p.Warnings)
			}
		})
	}
}

func lineOf(ws []string) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i], _, _ = strings.Cut(w, ": ")
	}
	return out
}

func TestShippedProfilesLoadWithoutWarnings(t *testing.T) {
	t.Parallel()
	profs, err := profile.LoadDir("../../configs/sites")
	require.NoError(t, err)
	require.NotEmpty(t, profs)
	for name, p := range profs {
		require.Empty(t, p.Warnings, name)
	}
}
