// Package smstext says what reserver's SMS messages say: the data their
// templates see (Data), the languages they come in, the built-in text of
// each outbox kind in each language, the noun for one bookable unit and
// the booking's reason codes in words.
//
// It is the one vocabulary shared by internal/profile, which checks a
// site's own texts (the profile's sms: key) with Check when it loads them,
// and internal/notify, which renders messages. It depends on nothing but
// the standard library, so that both can import it. It sends nothing,
// reads no configuration and does not choose a message's language: the
// outbox payload carries it (internal/schedule writes it).
package smstext

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/template"
)

// Languages of messages.
const (
	Korean  = "ko"
	English = "en"
	// DefaultLanguage is the language of a message whose site or outbox
	// row says none (every row written before languages existed).
	DefaultLanguage = Korean
)

// Languages lists the languages that have built-in texts, in
// documentation order.
var Languages = []string{Korean, English}

// Known reports whether lang is one of Languages.
func Known(lang string) bool { return slices.Contains(Languages, lang) }

// Outbox kinds (internal/schedule writes them; notify.KindBooked and the
// others are the same names).
const (
	KindBooked      = "booked"
	KindLoginFailed = "login_failed"
	KindFailed      = "failed"
)

// Kinds lists the outbox kinds that have texts.
var Kinds = []string{KindBooked, KindLoginFailed, KindFailed}

// Data is what a template sees.
type Data struct {
	BookingID     int64
	Kind          string
	Site          string
	Court         string
	Date          string // YYYY-MM-DD in the site's zone
	Start         string // HH:MM
	End           string // HH:MM
	ReservationNo string
	Name          string
	Reason        string // the booking's reason code, e.g. sold_out
	ReasonText    string // the reason in words, in the message's language
	// Noun is what one bookable unit of the site is called in the
	// message's language ("코트", "court", "room").
	Noun string
	// Language is the message's language (ko or en).
	Language string
	// OpensAt is the booking's opening instant in the site's time zone
	// with its offset ("2026-12-02 09:00:00 +09:00 KST", as every part of
	// reserver shows instants); empty when the outbox row does not carry
	// it.
	OpensAt string
	// Choices is how many choices (alternative slots, in order) the
	// booking had: 0 or 1 for a booking of one slot. Choice is the
	// 1-based choice the site booked (a confirmation; 0 otherwise), and
	// ChoiceText says it in the message's language ("2nd choice", "2순위";
	// empty for a booking of one slot). OtherChoices is Choices less the
	// one the message names (0 for one slot): a failure names the first
	// choice and says how many more there were.
	Choices, Choice int
	ChoiceText      string
	OtherChoices    int
}

// Built-in templates (Go text/template over Data), by language and kind.
const (
	BookedKorean      = `[reserver] {{.Date}} {{.Start}}-{{.End}} {{.Court}}번 {{.Noun}} 예약 완료{{with .ChoiceText}}({{.}}){{end}}.{{if .ReservationNo}} 예약번호 {{.ReservationNo}}{{else}} 예약번호는 사이트의 예약 내역에서 확인하세요.{{end}}`
	LoginFailedKorean = `[reserver] {{.Site}} 로그인 실패: 비밀번호가 거부되었습니다. {{.Date}} {{.Start}} {{.Court}}번 {{.Noun}} 예약이 열리기{{if .OpensAt}}({{.OpensAt}}){{end}} 전에 지금 확인하세요.`
	FailedKorean      = `[reserver] {{.Date}} {{.Start}}-{{.End}} {{.Court}}번 {{.Noun}}{{if .OtherChoices}} 외 {{.OtherChoices}}개{{end}} 예약 실패: {{.ReasonText}}`

	BookedEnglish      = `[reserver] {{.Date}} {{.Start}}-{{.End}} {{.Noun}} {{.Court}} booked{{with .ChoiceText}} ({{.}}){{end}}.{{if .ReservationNo}} Reservation no. {{.ReservationNo}}{{else}} See the site's reservation list for the number.{{end}}`
	LoginFailedEnglish = `[reserver] {{.Site}} login failed: the password was refused. Check it now, before booking {{.Noun}} {{.Court}} on {{.Date}} {{.Start}} opens{{if .OpensAt}} at {{.OpensAt}}{{end}}.`
	FailedEnglish      = `[reserver] {{.Date}} {{.Start}}-{{.End}} {{.Noun}} {{.Court}}{{if .OtherChoices}} (+{{.OtherChoices}} more){{end}} not booked: {{.ReasonText}}`
)

var builtin = map[string]map[string]string{
	Korean:  {KindBooked: BookedKorean, KindLoginFailed: LoginFailedKorean, KindFailed: FailedKorean},
	English: {KindBooked: BookedEnglish, KindLoginFailed: LoginFailedEnglish, KindFailed: FailedEnglish},
}

// Builtin returns the built-in template of kind in lang, and false when
// there is none (an unknown language or kind).
func Builtin(lang, kind string) (string, bool) {
	s, ok := builtin[lang][kind]
	return s, ok
}

var nouns = map[string]string{Korean: "코트", English: "court"}

// DefaultNoun is what one bookable unit is called in lang when the site
// says nothing: a tennis court. Unknown languages get the Korean noun.
func DefaultNoun(lang string) string {
	if n, ok := nouns[lang]; ok {
		return n
	}
	return nouns[DefaultLanguage]
}

// reasonTexts say the booking package's reason codes in words, by
// language; every language has every code (a test checks).
var reasonTexts = map[string]map[string]string{
	Korean: {
		"window_closed":   "예약 시간 안에 성공하지 못했습니다",
		"sold_out":        "이미 다른 사람이 예약했습니다",
		"login_failed":    "사이트가 로그인을 거부했습니다. 비밀번호가 틀렸을 수 있습니다",
		"fatal":           "사이트가 오류로 응답했습니다",
		"missed":          "예약 시간에 실행되지 못했습니다",
		"internal_error":  "reserver 내부 오류",
		"unverified":      "신청 결과를 확인하지 못했습니다. 사이트에서 확인하세요",
		"user_cancelled":  "사용자가 취소했습니다",
		"operator_cancel": "운영자가 취소했습니다",
		// An operator reviews these; the user is told to look at the site.
		"unrecognised_answer": "사이트의 응답을 알아볼 수 없습니다. 사이트에서 예약 여부를 확인하세요",
		"mine_unconfirmed":    "이미 예약되었다는 응답을 확인하지 못했습니다. 사이트에서 확인하세요",
		"profile_error":       "예약 요청을 만들 수 없습니다(사이트 설정 오류)",
		"site_rejected":       "사이트가 요청을 거부했습니다(없는 코트나 시간일 수 있습니다)",
		"site_blocked":        "사이트가 우리 요청을 차단하는 동안 예약 시간이 끝났습니다",
		"account_limit":       "이 계정은 사이트가 허용하는 예약 수를 이미 채웠습니다",
		"":                    "알 수 없는 이유",
	},
	English: {
		"window_closed":       "no success within the booking window",
		"sold_out":            "someone else booked it first",
		"login_failed":        "the site refused the login: wrong password?",
		"fatal":               "the site answered with an error",
		"missed":              "reserver did not run at the opening",
		"internal_error":      "reserver internal error",
		"unverified":          "the result could not be confirmed; check on the site",
		"user_cancelled":      "cancelled by you",
		"operator_cancel":     "cancelled by an operator",
		"unrecognised_answer": "the site's answer was not recognised; check on the site whether it is booked",
		"mine_unconfirmed":    "the site's \"already yours\" could not be confirmed; check on the site",
		"profile_error":       "the booking request could not be made (site configuration error)",
		"site_rejected":       "the site refused the request as invalid (a court or time it does not have?)",
		"site_blocked":        "the site was blocking our requests until the booking window closed",
		"account_limit":       "the account already holds as many reservations as the site allows",
		"":                    "unknown reason",
	},
}

// ReasonText says a reason code in words in lang (Korean for an unknown
// language); an unknown code is returned as it is.
func ReasonText(lang, reason string) string {
	texts, ok := reasonTexts[lang]
	if !ok {
		texts = reasonTexts[DefaultLanguage]
	}
	if s, ok := texts[reason]; ok {
		return s
	}
	return reason
}

// ChoicesReasonText says why a booking of n choices failed, in lang: for
// one choice (n <= 1) ReasonText; for more, that none of them could be
// booked, and why ("all 3 choices were taken" when the last answer was
// sold out).
func ChoicesReasonText(lang, reason string, n int) string {
	why := ReasonText(lang, reason)
	if n <= 1 {
		return why
	}
	if lang != English {
		if reason == "sold_out" {
			return fmt.Sprintf("선택지 %d개 모두 이미 다른 사람이 예약했습니다", n)
		}
		return fmt.Sprintf("선택지 %d개 중 어느 것도 예약하지 못했습니다: %s", n, why)
	}
	if reason == "sold_out" {
		return fmt.Sprintf("all %d choices were taken", n)
	}
	return fmt.Sprintf("none of the %d choices could be booked: %s", n, why)
}

// ChoiceText names choice i (1-based) of a booking of n choices in lang:
// "2nd choice", "2순위"; empty for a booking of one slot or no choice.
func ChoiceText(lang string, i, n int) string {
	if n <= 1 || i < 1 {
		return ""
	}
	if lang != English {
		return fmt.Sprintf("%d순위", i)
	}
	suffix := "th"
	if i%100 < 11 || i%100 > 13 {
		switch i % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return fmt.Sprintf("%d%s choice", i, suffix)
}

// Sample is the data every template is rendered with once before it is
// accepted, so that a template naming an unknown field fails where it is
// configured, not when a message is due.
func Sample(lang string) Data {
	return Data{
		BookingID: 1, Kind: KindBooked, Site: "courtsim", Court: "3", Date: "2025-01-01", Start: "10:00",
		End: "11:00", ReservationNo: "R-1", Name: "홍길동", Reason: "sold_out", ReasonText: ReasonText(lang, "sold_out"),
		Noun: DefaultNoun(lang), Language: lang, OpensAt: "2024-12-25 10:00:00 +09:00 KST",
	}
}

// ErrEmpty is returned for a template that renders no text.
var ErrEmpty = errors.New("renders an empty text")

// Parse parses src as the template name and renders it once with the
// sample data of lang: an error names the unknown field or the syntax
// problem.
func Parse(name, lang, src string) (*template.Template, error) {
	t, err := template.New(name).Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, err
	}
	if _, err := Render(t, Sample(lang)); err != nil {
		return nil, err
	}
	return t, nil
}

// Render executes t with d and trims the text; an empty text is an error
// (ErrEmpty), never an empty SMS.
func Render(t *template.Template, d Data) (string, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return "", err
	}
	text := strings.TrimSpace(b.String())
	if text == "" {
		return "", fmt.Errorf("the %s template %w", t.Name(), ErrEmpty)
	}
	return text, nil
}
