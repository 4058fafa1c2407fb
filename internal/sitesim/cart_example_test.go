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

// A raw-HTTP client books a court on the cart flavour: visit the login page
// for its _token, log in, put the slot in the cart with the XSRF header,
// check out, and confirm with the form's _csrf field.
func ExampleStart_cart() {
	kst := time.FixedZone("KST", 9*60*60)
	monday := time.Date(2026, 12, 21, 12, 0, 0, 0, kst)
	srv, err := sitesim.Start(sitesim.Options{Flavor: sitesim.FlavorCart, Skew: time.Until(monday)})
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	jar, _ := cookiejar.New(nil)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Jar: jar, Transport: tr}
	base, _ := url.Parse(srv.URL())
	xsrf := func() string {
		for _, ck := range jar.Cookies(base) {
			if ck.Name == sitesim.CartXSRFCookie {
				return ck.Value
			}
		}
		return ""
	}
	send := func(method, path, contentType, body string) string {
		req, _ := http.NewRequest(method, srv.URL()+path, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set(sitesim.CartXSRFHeader, xsrf())
		resp, err := c.Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	const form = "application/x-www-form-urlencoded"

	page := send(http.MethodGet, "/login", "", "")
	token := regexp.MustCompile(`name="_token" value="([^"]+)"`).FindStringSubmatch(page)[1]
	send(http.MethodPost, "/login", form, url.Values{
		"_token": {token}, "username": {"user002"}, "password": {"pass1234"}, "login": {"Log in"},
	}.Encode())

	held := send(http.MethodPost, "/api/cart/items", "application/json",
		`{"resource_id":3,"start":"2026-12-24T10:00:00+09:00","end":"2026-12-24T11:00:00+09:00"}`)
	holdID := regexp.MustCompile(`"id":"(H\d+)"`).FindStringSubmatch(held)[1]
	co := send(http.MethodPost, "/api/checkout", "application/json",
		`{"hold_id":"`+holdID+`","name":"홍길동","phone":"010-1234-5678"}`)
	confirmURL := regexp.MustCompile(`"confirm_url":"([^"]+)"`).FindStringSubmatch(co)[1]
	order := send(http.MethodPost, confirmURL, form, url.Values{"_csrf": {xsrf()}, "accept_terms": {"1"}}.Encode())

	fmt.Println(regexp.MustCompile(`<p class="when">([^<]+)</p>`).FindStringSubmatch(order)[1])
	l := srv.Ledger()
	r := l.Reservations[0]
	fmt.Println(l.Flavor, r.Number, r.Account, r.Facility, r.Date, r.Slot)
	fmt.Println(l.Submits[0].Result, l.Holds[0].State)
	// Output:
	// Thu, Dec 24, 2026, 10:00 AM – 11:00 AM
	// cart RS-000001 user002 3 2026-12-24 5
	// held confirmed
}
