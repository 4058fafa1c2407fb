package draft

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/korean"

	"reserver/internal/har"
)

// tmpRec records a plain Go client's exchanges as HAR entries.
type tmpRec struct {
	rt http.RoundTripper
	mu sync.Mutex
	h  har.HAR
}

func (r *tmpRec) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := r.rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	rb, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(rb))
	e := har.Entry{StartedDateTime: time.Now().Format(time.RFC3339Nano)}
	e.Request = har.Request{Method: req.Method, URL: req.URL.String(), HTTPVersion: "HTTP/1.1"}
	for k, vs := range req.Header {
		for _, v := range vs {
			e.Request.Headers = append(e.Request.Headers, har.NameValue{Name: k, Value: v})
		}
	}
	for _, c := range req.Cookies() {
		e.Request.Cookies = append(e.Request.Cookies, har.Cookie{Name: c.Name, Value: c.Value})
	}
	if body != nil {
		e.Request.PostData = &har.PostData{MimeType: req.Header.Get("Content-Type"), Text: string(body)}
	}
	e.Response = har.Response{Status: resp.StatusCode}
	for k, vs := range resp.Header {
		for _, v := range vs {
			e.Response.Headers = append(e.Response.Headers, har.NameValue{Name: k, Value: v})
		}
	}
	e.Response.Content.MimeType = resp.Header.Get("Content-Type")
	if utf8.Valid(rb) {
		e.Response.Content.Text = string(rb)
	} else {
		e.Response.Content.Text, e.Response.Content.Encoding = base64.StdEncoding.EncodeToString(rb), "base64"
	}
	e.Response.RedirectURL = resp.Header.Get("Location")
	r.mu.Lock()
	r.h.Log.Entries = append(r.h.Log.Entries, e)
	r.mu.Unlock()
	return resp, nil
}

func recordEgov(t *testing.T, base string, euckr bool) *har.HAR {
	rec := &tmpRec{rt: http.DefaultTransport}
	rec.h.Log.Version = "1.2"
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Transport: rec, Jar: jar}
	get := func(p string) string {
		resp, err := c.Get(base + p)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return string(b)
	}
	post := func(p string, f url.Values) string {
		resp, err := c.PostForm(base+p, f)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return string(b)
	}
	get("/login.do")
	post("/loginProc.do", url.Values{"userId": {"user001"}, "userPw": {"wrong"}})
	post("/loginProc.do", url.Values{"userId": {"user001"}, "userPw": {"pass1234"}})
	page := get("/rent/form.do?facilityNo=3&useDate=20261209&timeNo=4")
	tok := regexp.MustCompile(`name="rentToken" value="([^"]+)"`).FindStringSubmatch(page)[1]
	name := "홍길동"
	if euckr { // a browser posts a form in its page's charset
		name, _ = korean.EUCKR.NewEncoder().String(name)
	}
	post("/rent/apply.do", url.Values{"facilityNo": {"3"}, "useDate": {"20261209"}, "timeNo": {"4"}, "rentToken": {tok},
		"userName": {name}, "userTel": {"010-1234-5678"}, "people": {"2"}})
	get("/mypage/rentList.do")
	return &rec.h
}

func recordCart(t *testing.T, base, day string) *har.HAR {
	rec := &tmpRec{rt: http.DefaultTransport}
	rec.h.Log.Version = "1.2"
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Transport: rec, Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, p, ctype, body string, hdr map[string]string) string {
		req, _ := http.NewRequest(method, base+p, strings.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return string(b)
	}
	xsrf := func() string {
		u, _ := url.Parse(base)
		for _, ck := range jar.Cookies(u) {
			if ck.Name == "XSRF-TOKEN" {
				return ck.Value
			}
		}
		return ""
	}
	page := do("GET", "/login", "", "", nil)
	tok := regexp.MustCompile(`name="_token" value="([^"]+)"`).FindStringSubmatch(page)[1]
	do("POST", "/login", "application/x-www-form-urlencoded", url.Values{"_token": {tok}, "username": {"user002"}, "password": {"pass1234"}, "login": {"Log in"}}.Encode(), nil)
	do("GET", "/dashboard", "", "", nil)
	do("GET", "/api/resources", "", "", map[string]string{"Accept": "application/json"})
	start, end := day+"T10:00:00+09:00", day+"T11:00:00+09:00"
	held := do("POST", "/api/cart/items", "application/json", `{"resource_id":3,"start":"`+start+`","end":"`+end+`"}`,
		map[string]string{"X-XSRF-TOKEN": xsrf(), "Accept": "application/json"})
	hold := regexp.MustCompile(`"id":"([^"]+)"`).FindStringSubmatch(held)[1]
	co := do("POST", "/api/checkout", "application/json", `{"hold_id":"`+hold+`","name":"Kim","phone":"010-1234-5678"}`,
		map[string]string{"X-XSRF-TOKEN": xsrf(), "Accept": "application/json"})
	confirm := regexp.MustCompile(`"confirm_url":"([^"]+)"`).FindStringSubmatch(co)[1]
	do("POST", confirm, "application/x-www-form-urlencoded", url.Values{"_csrf": {xsrf()}, "accept_terms": {"1"}}.Encode(), nil)
	do("GET", "/api/reservations", "", "", map[string]string{"Accept": "application/json"})
	return &rec.h
}
