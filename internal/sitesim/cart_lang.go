package sitesim

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Languages an account of the cart flavour can use.
const (
	LangKO = "ko"
	LangEN = "en"
)

// ErrUnknownLanguage is returned by [Site.SetLanguage] for anything but
// "ko" and "en".
var ErrUnknownLanguage = errors.New("sitesim: unknown language")

// languages holds each account's language: odd-numbered accounts (user001,
// user003, …) speak Korean, even-numbered ones English, unless changed.
type languages struct {
	mu       sync.RWMutex
	override map[string]string
}

func newLanguages() *languages { return &languages{override: make(map[string]string)} }

// of returns the language of a valid account name.
func (l *languages) of(account string) string {
	l.mu.RLock()
	lang, ok := l.override[account]
	l.mu.RUnlock()
	if ok {
		return lang
	}
	i, _ := strconv.Atoi(strings.TrimPrefix(account, "user"))
	if i%2 == 1 {
		return LangKO
	}
	return LangEN
}

func (l *languages) set(account, lang string) {
	l.mu.Lock()
	l.override[account] = lang
	l.mu.Unlock()
}

// SetLanguage changes the language the cart flavour answers account in:
// "ko" or "en". The eGov flavour always speaks Korean.
func (s *Site) SetLanguage(account, lang string) error {
	if !s.names.valid(account) {
		return fmt.Errorf("%w: %q", ErrUnknownAccount, account)
	}
	if lang != LangKO && lang != LangEN {
		return fmt.Errorf("%w: %q (want %q or %q)", ErrUnknownLanguage, lang, LangKO, LangEN)
	}
	s.langs.set(account, lang)
	return nil
}

// text is one answer of the cart flavour in both languages.
type text struct{ en, ko string }

func (t text) in(lang string) string {
	if lang == LangKO {
		return t.ko
	}
	return t.en
}

// format fills the text's verbs in lang.
func (t text) format(lang string, args ...any) string { return fmt.Sprintf(t.in(lang), args...) }

// Fixed texts of the cart flavour. Clients classify answers by their JSON
// code or page heading; the texts are what a person would read.
var (
	txtLoginFailed = text{"Invalid username or password.", "아이디 또는 비밀번호가 올바르지 않습니다."}
	txtConflict    = text{"This time conflicts with an existing reservation.", "기존 예약과 시간이 겹칩니다."}
	txtInvalid     = text{"Name and phone are required.", "이름과 연락처를 입력하세요."}
	txtHoldExpired = text{"Your hold has expired.", "장바구니 보관 시간이 만료되었습니다."}
	txtAcceptTerms = text{"Please accept the terms.", "이용약관에 동의해 주세요."}
	txtWelcome     = text{"Welcome, %s.", "%s님, 환영합니다."}
	txtConfirmed   = text{"Booking confirmed", "예약이 확정되었습니다"}
	txtOrder       = text{"Order", "주문번호"}
)

// Texts the cart flavour answers in English whatever the account's
// language.
const (
	txtOops         = "Oops! Something went wrong."
	txtTryLater     = "Please try again later."
	txtUnauth       = "Please log in."
	txtCSRF         = "CSRF token mismatch."
	txtRateLimited  = "Too many requests"
	txtServerError  = "Server Error"
	txtUnavailable  = "Service Unavailable"
	txtPageExpired  = "Page Expired"
	txtForbidden    = "Forbidden"
	txtNotFound     = "Not Found"
	resourcePrefix  = "Court "
	loginButtonText = "Log in"
)

// noticeText is the answer to a slot that is not open yet. The notice is
// said in hours when it is whole hours, else as a Go duration.
func noticeText(lang string, notice time.Duration) string {
	if notice%time.Hour == 0 {
		h := int64(notice / time.Hour)
		if lang == LangKO {
			return fmt.Sprintf("예약은 이용 종료 %d시간 전부터 가능합니다.", h)
		}
		return fmt.Sprintf("Bookings open %d hours before the end of the slot.", h)
	}
	if lang == LangKO {
		return fmt.Sprintf("예약은 이용 종료 %s 전부터 가능합니다.", notice)
	}
	return fmt.Sprintf("Bookings open %s before the end of the slot.", notice)
}

// limitText is the answer to an add that would take the account past its
// limit for the period (periodDay or periodWeek).
func limitText(lang, period string, limit int) string {
	if lang == LangKO {
		per := "하루"
		if period == periodWeek {
			per = "일주일"
		}
		return fmt.Sprintf("예약 가능 횟수를 초과했습니다. 한 계정은 %s에 %d건까지 예약할 수 있습니다.", per, limit)
	}
	return fmt.Sprintf("Booking limit reached: an account may hold %d per %s.", limit, period)
}

// heldText is the answer to a new hold. The hold time is said in minutes
// when it is whole minutes, else as a Go duration.
func heldText(lang string, holdFor time.Duration) string {
	if holdFor%time.Minute == 0 {
		m := int64(holdFor / time.Minute)
		if lang == LangKO {
			return fmt.Sprintf("장바구니에 담았습니다. %d분 안에 결제를 완료하세요.", m)
		}
		return fmt.Sprintf("Added to your cart. Complete checkout within %d minutes.", m)
	}
	if lang == LangKO {
		return fmt.Sprintf("장바구니에 담았습니다. %s 안에 결제를 완료하세요.", holdFor)
	}
	return fmt.Sprintf("Added to your cart. Complete checkout within %s.", holdFor)
}

var koWeekdays = [...]string{"일", "월", "화", "수", "목", "금", "토"}

// whenText is the order page's slot line on a 12-hour clock:
// "Thu, Dec 24, 2026, 10:00 AM – 11:00 AM" or
// "2026년 12월 24일 (목) 오전 10:00 – 오전 11:00".
func whenText(lang string, start, end time.Time) string {
	start, end = start.In(seoul), end.In(seoul)
	if lang == LangKO {
		return fmt.Sprintf("%d년 %d월 %d일 (%s) %s – %s", start.Year(), int(start.Month()), start.Day(),
			koWeekdays[start.Weekday()], koClock(start), koClock(end))
	}
	return start.Format("Mon, Jan 2, 2006, 3:04 PM") + " – " + end.Format("3:04 PM")
}

// koClock writes a time as 오전/오후 h:mm.
func koClock(t time.Time) string {
	half := "오전"
	if t.Hour() >= 12 {
		half = "오후"
	}
	return half + " " + t.Format("3:04")
}
