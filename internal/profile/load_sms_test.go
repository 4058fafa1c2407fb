package profile_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"reserver/internal/profile"
)

// langField declares a booking field lang with the given values.
func langField(values string) string {
	return "fields:\n  - {name: lang, values: [" + values + "]}\n"
}

func TestLoadSMS(t *testing.T) {
	t.Parallel()
	p := mustParse(t, minimal+langField("ko, en")+`sms:
  language: en
  language_field: lang
  noun: {ko: 방, en: room}
  templates:
    en:
      booked: "[reserver] {{.Date}} {{.Start}}-{{.End}} {{.Noun}} {{.Court}} booked. No. {{.ReservationNo}}"
    ko:
      failed: "{{.Court}}번 {{.Noun}} 실패: {{.ReasonText}}"
`)
	s := p.SMS
	require.NotNil(t, s)
	require.Equal(t, "en", s.Language)
	require.Equal(t, "lang", s.LanguageField)
	require.Equal(t, map[string]string{"ko": "방", "en": "room"}, s.Noun)
	require.Equal(t, map[string]map[string]string{
		"en": {"booked": "[reserver] {{.Date}} {{.Start}}-{{.End}} {{.Noun}} {{.Court}} booked. No. {{.ReservationNo}}"},
		"ko": {"failed": "{{.Court}}번 {{.Noun}} 실패: {{.ReasonText}}"},
	}, s.Templates)

	require.Equal(t, "ko", s.LanguageOf(map[string]string{"lang": "ko"}), "the booking's field picks")
	require.Equal(t, "en", s.LanguageOf(map[string]string{"lang": "en"}))
	require.Equal(t, "en", s.LanguageOf(nil), "no field: the site's language")
	require.Equal(t, "en", s.LanguageOf(map[string]string{"lang": "ja"}), "not a language: the site's")
	require.Equal(t, "room", s.NounOf("en"))
	require.Equal(t, "방", s.NounOf("ko"))

	// Without the key: Korean, about a court.
	var none *profile.SMS
	require.Nil(t, mustParse(t, minimal).SMS)
	require.Equal(t, "ko", none.LanguageOf(map[string]string{"lang": "en"}))
	require.Equal(t, "코트", none.NounOf("ko"))
	require.Equal(t, "court", none.NounOf("en"))

	// A noun left out keeps its default where the site's messages never
	// go; the language alone is enough.
	q := mustParse(t, minimal+"sms: {language: en}\n").SMS
	require.Equal(t, map[string]string{"ko": "코트", "en": "court"}, q.Noun)
	require.Nil(t, q.Templates)
	require.Equal(t, "en", q.LanguageOf(map[string]string{"lang": "ko"}), "no language_field: the field is not read")
}

func TestLoadSMSErrors(t *testing.T) {
	t.Parallel()
	// base is the line of minimal's last line; the tests' own lines follow.
	base := strings.Count(minimal, "\n")
	type prob struct {
		line int      // after minimal
		msgs []string // all in one problem
	}
	tests := []struct {
		name string
		src  string // appended to minimal
		want []prob // every problem, in any order
	}{
		{"not a mapping", "sms: yes\n", []prob{{1, []string{"sms must be a mapping"}}}},
		{"unknown key", "sms:\n  language: en\n  colour: red\n", []prob{{3, []string{`sms: unknown key "colour" (allowed: language, language_field, noun, templates)`}}}},
		{"unknown language", "sms:\n  language: ja\n", []prob{{2, []string{`sms.language: unknown language "ja" (ko, en)`}}}},
		{"language_field not declared", "sms:\n  language_field: lang\n", []prob{{2, []string{`sms.language_field: booking field "lang" is not declared under fields`}}}},
		{"language_field without values", "fields:\n  - {name: lang}\nsms:\n  language_field: lang\n",
			[]prob{{4, []string{`sms.language_field: field "lang" must declare values`}}}},
		{"language_field allowing a language without texts", langField("ko, ja, en") + "sms:\n  language_field: lang\n",
			[]prob{{4, []string{`sms.language_field: field "lang" allows "ja", a language without texts (ko, en)`}}}},
		{"noun in an unknown language", "sms:\n  noun:\n    ko: 방\n    ja: heya\n", []prob{{4, []string{`sms.noun: unknown language "ja"`}}}},
		{"empty noun", "sms:\n  noun: {ko: ''}\n", []prob{{2, []string{"sms.noun.ko must not be empty"}}}},
		{"noun missing a language the messages may be in", langField("ko, en") + "sms:\n  language_field: lang\n  noun:\n    ko: 방\n",
			[]prob{{5, []string{"sms.noun: no en noun, but this site's messages may be in en"}}}},
		{"noun missing the site's language", "sms:\n  language: en\n  noun: {ko: 방}\n",
			[]prob{{3, []string{"sms.noun: no en noun"}}}},
		{"templates in an unknown language", "sms:\n  templates:\n    ja:\n      booked: x\n", []prob{{3, []string{`sms.templates: unknown language "ja"`}}}},
		{"template of an unknown kind", "sms:\n  templates:\n    en:\n      confirmed: x\n",
			[]prob{{4, []string{`sms.templates.en: unknown key "confirmed" (allowed: booked, login_failed, failed)`}}}},
		{"template naming an unknown field", "sms:\n  templates:\n    en:\n      booked: \"{{.Room}} booked\"\n",
			[]prob{{4, []string{`sms.templates.en.booked: bad template:`, "can't evaluate field Room"}}}},
		{"template that does not parse", "sms:\n  templates:\n    ko:\n      failed: \"{{.Court\"\n",
			[]prob{{4, []string{`sms.templates.ko.failed: bad template:`, "unclosed action"}}}},
		{"template that renders nothing", "sms:\n  templates:\n    en:\n      failed: \"{{if false}}x{{end}}\"\n",
			[]prob{{4, []string{`sms.templates.en.failed: bad template:`, "renders an empty text"}}}},
		{"templates not a mapping", "sms:\n  templates: [a]\n", []prob{{2, []string{"sms.templates must be a mapping"}}}},
		{"every problem at once", langField("en, fr") + "sms:\n  language: de\n  language_field: lang\n  noun: {xx: y}\n  templates:\n    en: {booked: '{{.Nope}}', sent: x}\n",
			[]prob{
				{4, []string{`sms.language: unknown language "de"`}},
				{5, []string{`field "lang" allows "fr"`}},
				{6, []string{`sms.noun: unknown language "xx"`}},
				{8, []string{`sms.templates.en.booked: bad template:`, "can't evaluate field Nope"}},
				{8, []string{`sms.templates.en: unknown key "sent"`}},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := profile.Parse("sms.yaml", []byte(minimal+tt.src))
			var le *profile.LoadError
			require.True(t, errors.As(err, &le), "%v", err)
			for _, w := range tt.want {
				prefix := fmt.Sprintf("sms.yaml:%d: ", base+w.line)
				found := false
				for _, p := range le.Problems {
					all := strings.HasPrefix(p.String(), prefix)
					for _, m := range w.msgs {
						all = all && strings.Contains(p.Msg, m)
					}
					found = found || all
				}
				require.True(t, found, "no problem %q at line %d; got:\n%v", w.msgs, w.line, err)
			}
			require.Len(t, le.Problems, len(tt.want), "only the expected problems:\n%v", err)
		})
	}
}
