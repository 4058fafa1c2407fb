package sitesim

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// BenchmarkVisitAndSubmit measures the hot path of a booking window in
// memory: one booking-page visit and one submit per iteration, many
// sessions in parallel, most submits losing to an earlier one.
func BenchmarkVisitAndSubmit(b *testing.B) {
	s, err := New(Options{Accounts: 5000})
	if err != nil {
		b.Fatal(err)
	}
	h := s.Handler()
	var next atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		n := int(next.Add(1))
		ip := "127.0.0." + strconv.Itoa(1+n%250)
		serve := func(method, target, body, cookie string) *httptest.ResponseRecorder {
			var req *http.Request
			if body != "" {
				req = httptest.NewRequest(method, target, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			} else {
				req = httptest.NewRequest(method, target, nil)
			}
			req.RemoteAddr = ip + ":1234"
			if cookie != "" {
				req.AddCookie(&http.Cookie{Name: SessionCookie, Value: cookie})
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			return rec
		}
		login := serve(http.MethodPost, PathLoginProc, "userId="+s.AccountName(n)+"&userPw="+PasswordDefault, "")
		cookie := login.Result().Cookies()[0].Value
		slot := 1 + n%SlotsDefault
		for pb.Next() {
			page := serve(http.MethodGet, formPath(1, testUseDate, slot), "", cookie)
			tok := tokenRE.FindStringSubmatch(page.Body.String())[1]
			form := url.Values{
				"facilityNo": {"1"}, "useDate": {testUseDate}, "timeNo": {strconv.Itoa(slot)},
				"rentToken": {tok}, "userName": {"홍길동"}, "userTel": {"010-1234-5678"}, "people": {"2"},
			}
			if rec := serve(http.MethodPost, PathApply, form.Encode(), cookie); rec.Code != http.StatusOK {
				b.Fatalf("submit: status %d", rec.Code)
			}
		}
	})
}
