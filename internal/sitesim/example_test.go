package sitesim_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"

	"reserver/internal/sitesim"
)

// A raw-HTTP client books a court the way the legacy site insists on: log
// in, visit the booking page for its one-time token, submit the form. The
// ledger then tells when the submit arrived relative to the opening.
func ExampleStart() {
	srv, err := sitesim.Start(sitesim.Options{Skew: 2 * time.Second})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	srv.SetOpenAt(srv.Now()) // open now, on the site's clock

	jar, _ := cookiejar.New(nil)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Jar: jar, Transport: tr}

	post := func(path string, form url.Values) string {
		resp, err := c.PostForm(srv.URL()+path, form)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	post("/loginProc.do", url.Values{"userId": {srv.AccountName(1)}, "userPw": {"pass1234"}})

	resp, err := c.Get(srv.URL() + "/rent/form.do?facilityNo=2&useDate=20261201&timeNo=4")
	if err != nil {
		panic(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	token := regexp.MustCompile(`name="rentToken" value="([^"]+)"`).FindSubmatch(page)[1]

	body := post("/rent/apply.do", url.Values{
		"facilityNo": {"2"}, "useDate": {"20261201"}, "timeNo": {"4"}, "rentToken": {string(token)},
		"userName": {"홍길동"}, "userTel": {"010-1234-5678"}, "people": {"2"},
	})
	fmt.Println(strings.Contains(body, sitesim.MsgSuccess))

	l := srv.Ledger()
	r := l.Reservations[0]
	fmt.Println(r.Number, r.Account, r.Facility, r.Date, r.Slot, r.UserName)
	fmt.Println(l.Submits[0].Result, l.Submits[0].OffsetMS >= 0)
	// Output:
	// true
	// R20261201-000001 user001 2 2026-12-01 4 홍길동
	// success true
}
