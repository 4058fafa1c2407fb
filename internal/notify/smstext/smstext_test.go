package smstext

import (
	"maps"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// Every language has a text for every kind and every reason code, and
// its built-in templates render with the sample data.
func TestEveryLanguageIsComplete(t *testing.T) {
	t.Parallel()
	koReasons := slices.Sorted(maps.Keys(reasonTexts[Korean]))
	for _, lang := range Languages {
		require.True(t, Known(lang))
		require.Equal(t, koReasons, slices.Sorted(maps.Keys(reasonTexts[lang])), "reason codes of %s", lang)
		require.NotEmpty(t, DefaultNoun(lang))
		for _, kind := range Kinds {
			src, ok := Builtin(lang, kind)
			require.True(t, ok, "%s %s", lang, kind)
			_, err := Parse(kind, lang, src)
			require.NoError(t, err, "%s %s", lang, kind)
		}
	}
	require.False(t, Known("ja"))
	_, ok := Builtin("ja", KindBooked)
	require.False(t, ok)
}

func TestReasonText(t *testing.T) {
	t.Parallel()
	require.Equal(t, "이미 다른 사람이 예약했습니다", ReasonText(Korean, "sold_out"))
	require.Equal(t, "someone else booked it first", ReasonText(English, "sold_out"))
	require.Equal(t, "unknown reason", ReasonText(English, ""))
	require.Equal(t, "알 수 없는 이유", ReasonText(Korean, ""))
	require.Equal(t, "new_code", ReasonText(English, "new_code"), "an unknown code as it is")
	require.Equal(t, "이미 다른 사람이 예약했습니다", ReasonText("ja", "sold_out"), "an unknown language is Korean")
}

// The confirmations fit one SMS (90 bytes, one per ASCII character, two
// per other) for usual values, in both languages.
func TestBookedFitsOneSMS(t *testing.T) {
	t.Parallel()
	for _, lang := range Languages {
		src, _ := Builtin(lang, KindBooked)
		tmpl, err := Parse(KindBooked, lang, src)
		require.NoError(t, err)
		d := Sample(lang)
		d.Date, d.ReservationNo = "2030-05-01", "R-123456"
		text, err := Render(tmpl, d)
		require.NoError(t, err)
		n := 0
		for _, r := range text {
			n += min(utf8.RuneLen(r), 2)
		}
		require.LessOrEqual(t, n, 90, "%s: %s", lang, text)
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, src, want string }{
		{"unknown field", "{{.Room}}", "can't evaluate field Room"},
		{"syntax", "{{.Court", "unclosed action"},
		{"empty", "  {{if .Reason}}{{end}}  ", "renders an empty text"},
	}
	for _, tt := range tests {
		_, err := Parse("booked", English, tt.src)
		require.ErrorContains(t, err, tt.want, tt.name)
	}
	_, err := Parse("booked", English, "{{.Noun}} {{.Language}}")
	require.NoError(t, err, "the noun and the language are fields")
}
