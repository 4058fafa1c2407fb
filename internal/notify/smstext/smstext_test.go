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

// A booking of several choices: which choice was booked, and why none
// was, in each language; a booking of one slot reads as before.
func TestChoiceWords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		lang   string
		i, n   int
		choice string
	}{
		{English, 1, 3, "1st choice"}, {English, 2, 3, "2nd choice"}, {English, 3, 3, "3rd choice"},
		{English, 4, 16, "4th choice"}, {English, 11, 16, "11th choice"}, {English, 12, 16, "12th choice"},
		{English, 13, 16, "13th choice"}, {Korean, 2, 3, "2순위"}, {English, 1, 1, ""}, {Korean, 0, 3, ""},
	}
	for _, tt := range tests {
		require.Equal(t, tt.choice, ChoiceText(tt.lang, tt.i, tt.n), "%s %d of %d", tt.lang, tt.i, tt.n)
	}
	require.Equal(t, "all 3 choices were taken", ChoicesReasonText(English, "sold_out", 3))
	require.Equal(t, "선택지 3개 모두 이미 다른 사람이 예약했습니다", ChoicesReasonText(Korean, "sold_out", 3))
	require.Equal(t, "none of the 2 choices could be booked: no success within the booking window", ChoicesReasonText(English, "window_closed", 2))
	require.Equal(t, "선택지 2개 중 어느 것도 예약하지 못했습니다: 예약 시간 안에 성공하지 못했습니다", ChoicesReasonText(Korean, "window_closed", 2))
	require.Equal(t, ReasonText(English, "sold_out"), ChoicesReasonText(English, "sold_out", 1), "one slot: the reason as it was")

	// A won 2nd choice still fits one SMS.
	for _, lang := range Languages {
		src, _ := Builtin(lang, KindBooked)
		tmpl, err := Parse(KindBooked, lang, src)
		require.NoError(t, err)
		d := Sample(lang)
		d.Date, d.ReservationNo, d.Choices, d.Choice, d.ChoiceText = "2030-05-01", "R-123456", 3, 2, ChoiceText(lang, 2, 3)
		text, err := Render(tmpl, d)
		require.NoError(t, err)
		n := 0
		for _, r := range text {
			n += min(utf8.RuneLen(r), 2)
		}
		require.LessOrEqual(t, n, 90, "%s: %s", lang, text)
		require.Contains(t, text, d.ChoiceText)
	}
}
