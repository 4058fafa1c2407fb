package sitesim

import (
	"net/http"
	"net/url"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCartCheckoutAnswers(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := newCartSite(t, Options{HoldFor: time.Minute})
		en := memCart(t, s, "127.0.0.1")
		en.mustLogin("user002")
		ko := memCart(t, s, "127.0.0.2")
		ko.mustLogin("user001")
		enHold := en.mustHold(1, cartSlotAt(22, 1))
		koHold := ko.mustHold(1, cartSlotAt(22, 2))

		for _, body := range []map[string]string{
			{"hold_id": enHold, "name": "", "phone": "010-1234-5678"},
			{"hold_id": enHold, "name": "홍길동", "phone": "  "},
			{"hold_id": enHold},
		} {
			requireAPIError(t, en.postJSON(CartPathCheckout, body), http.StatusUnprocessableEntity, codeInvalid, "Name and phone are required.")
		}
		requireAPIError(t, ko.postJSON(CartPathCheckout, map[string]string{"hold_id": koHold}),
			http.StatusUnprocessableEntity, codeInvalid, "이름과 연락처를 입력하세요.")

		requireOops(t, en.checkout("H999999"))
		requireOops(t, en.checkout(koHold))
		requireOops(t, en.postJSON(CartPathCheckout, `{"hold_id":`))

		url1 := en.mustCheckout(enHold)
		require.Equal(t, url1, en.mustCheckout(enHold), "one checkout per hold")

		time.Sleep(time.Minute)
		requireAPIError(t, en.checkout(enHold), http.StatusGone, codeHoldExpired, "Your hold has expired.")
		requireAPIError(t, ko.checkout(koHold), http.StatusGone, codeHoldExpired, "장바구니 보관 시간이 만료되었습니다.")
		l := s.Ledger()
		require.Equal(t, []HoldState{HoldExpired, HoldExpired}, []HoldState{l.Holds[0].State, l.Holds[1].State})

		// A confirmed hold cannot be checked out again.
		confirmed := en.mustHold(1, cartSlotAt(22, 3))
		require.Equal(t, http.StatusOK, en.confirm(en.mustCheckout(confirmed)).status)
		requireOops(t, en.checkout(confirmed))
	})
}

func TestCartConfirmAnswers(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := newCartSite(t, Options{})
		en := memCart(t, s, "127.0.0.1")
		en.mustLogin("user002")
		ko := memCart(t, s, "127.0.0.2")
		ko.mustLogin("user001")
		confirmURL := en.mustCheckout(en.mustHold(1, cartSlotAt(22, 1)))
		koURL := ko.mustCheckout(ko.mustHold(1, cartSlotAt(22, 2)))
		xsrf := en.cookie(CartXSRFCookie)

		// No session: to the login.
		anon := memCart(t, s, "127.0.0.3")
		r := anon.postForm(confirmURL, url.Values{"_csrf": {xsrf}, "accept_terms": {"1"}})
		require.Equal(t, http.StatusFound, r.status)
		require.Equal(t, CartPathLogin, r.header.Get("Location"))

		// A missing or foreign _csrf is forbidden; the header does not count.
		for _, form := range []url.Values{
			{"accept_terms": {"1"}},
			{"_csrf": {ko.cookie(CartXSRFCookie)}, "accept_terms": {"1"}},
		} {
			r = en.postForm(confirmURL, form)
			require.Equal(t, http.StatusForbidden, r.status)
			require.Contains(t, r.body, "<h1>Forbidden</h1>")
		}
		r = en.do(http.MethodPost, confirmURL, nil, en.jsonHeader(""))
		require.Equal(t, http.StatusForbidden, r.status)

		// Unknown, malformed or another account's checkout: the generic page.
		requireOops(t, en.confirm("/checkout/C999999/confirm"))
		requireOops(t, en.confirm(koURL))
		requireOops(t, en.confirm("/checkout//confirm"))
		requireOops(t, en.confirm("/checkout/"+"C000001"+"/confirm/again"))

		// Terms not accepted.
		for _, v := range []url.Values{{}, {"accept_terms": {"0"}}} {
			v.Set("_csrf", xsrf)
			r = en.postForm(confirmURL, v)
			require.Equal(t, http.StatusOK, r.status)
			require.Contains(t, r.body, `<p class="message">Please accept the terms.</p>`)
		}
		r = ko.postForm(koURL, url.Values{"_csrf": {ko.cookie(CartXSRFCookie)}})
		require.Contains(t, r.body, `<p class="message">이용약관에 동의해 주세요.</p>`)
		require.Empty(t, s.Ledger().Reservations)

		// Confirmed, then a repeat.
		r = en.confirm(confirmURL)
		require.Regexp(t, orderCodeRE, r.body)
		require.Zero(t, s.Ledger().RepeatSubmits)
		requireOops(t, en.confirm(confirmURL))
		l := s.Ledger()
		require.Len(t, l.Reservations, 1)
		last := l.Confirms[len(l.Confirms)-1]
		require.Equal(t, ResultAlreadyMine, last.Result)
		require.True(t, last.Repeat)
		require.Equal(t, 1, l.RepeatSubmits)

		results := map[Result]int{}
		for _, c := range l.Confirms {
			results[c.Result]++
		}
		// Paths that are no confirm route are not confirms.
		require.Equal(t, map[Result]int{ResultNoSession: 1, ResultBadPath: 3, ResultBadRequest: 5, ResultSuccess: 1, ResultAlreadyMine: 1}, results)
	})
}

func TestCartConfirmAfterExpiry(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := newCartSite(t, Options{})
		for _, tt := range []struct{ account, want string }{
			{"user002", "Your hold has expired."},
			{"user001", "장바구니 보관 시간이 만료되었습니다."},
		} {
			c := memCart(t, s, "127.0.0.1")
			c.mustLogin(tt.account)
			start := cartSlotAt(23, 1)
			confirmURL := c.mustCheckout(c.mustHold(2, start))
			time.Sleep(HoldForDefault)
			r := c.confirm(confirmURL)
			require.Equal(t, http.StatusOK, r.status)
			require.Contains(t, r.body, `<p class="message">`+tt.want+`</p>`)
			require.Equal(t, ResultExpired, s.Ledger().Confirms[len(s.Ledger().Confirms)-1].Result)
			require.Equal(t, HoldExpired, lastHold(t, s).State)
			require.Empty(t, s.Ledger().Reservations)
			// Confirming again says the same; the slot is free for anyone.
			require.Contains(t, c.confirm(confirmURL).body, tt.want)
		}
	})
}

func TestCartWhenText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		day, slot int
		en, ko    string
	}{
		{24, 5, "Thu, Dec 24, 2026, 10:00 AM – 11:00 AM", "2026년 12월 24일 (목) 오전 10:00 – 오전 11:00"},
		{24, 6, "Thu, Dec 24, 2026, 11:00 AM – 12:00 PM", "2026년 12월 24일 (목) 오전 11:00 – 오후 12:00"},
		{6, 1, "Sun, Dec 6, 2026, 6:00 AM – 7:00 AM", "2026년 12월 6일 (일) 오전 6:00 – 오전 7:00"},
		{5, 15, "Sat, Dec 5, 2026, 8:00 PM – 9:00 PM", "2026년 12월 5일 (토) 오후 8:00 – 오후 9:00"},
		{31, 18, "Thu, Dec 31, 2026, 11:00 PM – 12:00 AM", "2026년 12월 31일 (목) 오후 11:00 – 오전 12:00"},
	}
	for _, tt := range tests {
		start := cartSlotAt(tt.day, tt.slot)
		require.Equal(t, tt.en, whenText(LangEN, start, start.Add(time.Hour)))
		require.Equal(t, tt.ko, whenText(LangKO, start, start.Add(time.Hour)))
	}
}
