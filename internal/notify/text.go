package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"text/template"
	"unicode/utf8"
)

// Default message templates (Go text/template over Data), one per kind.
const (
	TemplateBookedDefault      = `[reserver] {{.Date}} {{.Start}}-{{.End}} {{.Court}}번 코트 예약 완료.{{if .ReservationNo}} 예약번호 {{.ReservationNo}}{{else}} 예약번호는 사이트의 예약 내역에서 확인하세요.{{end}}`
	TemplateLoginFailedDefault = `[reserver] {{.Site}} 로그인 실패: 비밀번호가 거부되었습니다. {{.Date}} {{.Start}} {{.Court}}번 코트 예약이 열리기 전에 지금 확인하세요.`
	TemplateFailedDefault      = `[reserver] {{.Date}} {{.Start}}-{{.End}} {{.Court}}번 코트 예약 실패: {{.ReasonText}}`
)

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
	ReasonText    string // the reason in words (Korean)
}

// reasonTexts says the booking package's reason codes in words.
var reasonTexts = map[string]string{
	"window_closed":   "예약 시간 안에 성공하지 못했습니다",
	"sold_out":        "이미 다른 사람이 예약했습니다",
	"login_failed":    "로그인이 거부되었습니다",
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
}

// ReasonText says a reason code in words; unknown codes are returned as they are.
func ReasonText(reason string) string {
	if s, ok := reasonTexts[reason]; ok {
		return s
	}
	if reason == "" {
		return "알 수 없는 이유"
	}
	return reason
}

// texts holds the parsed templates by kind.
type texts map[string]*template.Template

// sampleData renders every template once at start-up, so that a template
// naming an unknown field fails the configuration, not a message.
var sampleData = Data{
	BookingID: 1, Kind: KindBooked, Site: "courtsim", Court: "3", Date: "2025-01-01", Start: "10:00",
	End: "11:00", ReservationNo: "R-1", Name: "홍길동", Reason: "sold_out", ReasonText: ReasonText("sold_out"),
}

// parseTexts parses the configured templates over the defaults.
func parseTexts(configured map[string]string) (texts, error) {
	src := map[string]string{
		KindBooked:      TemplateBookedDefault,
		KindLoginFailed: TemplateLoginFailedDefault,
		KindFailed:      TemplateFailedDefault,
	}
	for k, v := range configured {
		if strings.TrimSpace(v) != "" {
			src[k] = v
		}
	}
	out := texts{}
	for kind, s := range src {
		t, err := template.New(kind).Option("missingkey=error").Parse(s)
		if err != nil {
			return nil, fmt.Errorf("%w: templates.%s: %w", ErrConfig, kind, err)
		}
		if err := t.Execute(&bytes.Buffer{}, sampleData); err != nil {
			return nil, fmt.Errorf("%w: templates.%s: %w", ErrConfig, kind, err)
		}
		out[kind] = t
	}
	return out, nil
}

// render makes the text of a message of kind from d.
func (t texts) render(kind string, d Data) (string, error) {
	tmpl, ok := t[kind]
	if !ok {
		return "", fmt.Errorf("no template for outbox kind %q", kind)
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, d); err != nil {
		return "", fmt.Errorf("render the %s template: %w", kind, err)
	}
	text := strings.TrimSpace(b.String())
	if text == "" {
		return "", fmt.Errorf("the %s template rendered an empty text", kind)
	}
	return text, nil
}

// payloadData decodes an outbox payload (JSON object: site, court, date,
// start, end, reservation_no, name and optionally reason).
func payloadData(payload string) (Data, error) {
	var p map[string]any
	if payload != "" {
		if err := json.Unmarshal([]byte(payload), &p); err != nil {
			return Data{}, fmt.Errorf("decode the outbox payload: %w", err)
		}
	}
	str := func(k string) string {
		switch v := p[k].(type) {
		case string:
			return v
		case nil:
			return ""
		default:
			return fmt.Sprint(v)
		}
	}
	return Data{
		Site: str("site"), Court: str("court"), Date: str("date"), Start: str("start"), End: str("end"),
		ReservationNo: str("reservation_no"), Name: str("name"), Reason: str("reason"),
	}, nil
}

// smsBytes is the length of s as Korean carriers count it (EUC-KR): one
// byte per ASCII character, two per Hangul syllable or any other character.
func smsBytes(s string) int {
	n := 0
	for _, r := range s {
		if r < utf8.RuneSelf {
			n++
		} else {
			n += 2
		}
	}
	return n
}

// cutBytes shortens s to at most limit bytes as smsBytes counts them,
// ending with "…" when it had to cut.
func cutBytes(s string, limit int) string {
	if smsBytes(s) <= limit {
		return s
	}
	n := 0
	for i, r := range s {
		w := 1
		if r >= utf8.RuneSelf {
			w = 2
		}
		if n+w > limit-2 { // room for the two-byte ellipsis
			return s[:i] + "…"
		}
		n += w
	}
	return s
}

// cutRunes shortens s to at most limit characters, ending with "…" when
// it had to cut.
func cutRunes(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	i, n := 0, 0
	for j := range s {
		if n == limit-1 {
			i = j
			break
		}
		n++
	}
	return s[:i] + "…"
}

// maskPhone keeps the country code and the last four digits of a number,
// enough for an operator to tell messages apart in a log.
func maskPhone(p string) string {
	if len(p) <= 7 {
		return strings.Repeat("*", len(p))
	}
	head := 3
	if !strings.HasPrefix(p, "+") {
		head = 2
	}
	return p[:head] + strings.Repeat("*", len(p)-head-4) + p[len(p)-4:]
}

// truncate shortens s to at most n bytes without splitting a UTF-8 character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
