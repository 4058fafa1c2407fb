package sitesim

import (
	"context"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/text/encoding/korean"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testDate is a use date far from "today" so no test depends on the day.
const (
	testUseDate = "20261125"
	testISODate = "2026-11-25"
)

var (
	tokenRE  = regexp.MustCompile(`name="rentToken" value="([^"]+)"`)
	numberRE = regexp.MustCompile(MsgReservationNumber + `(R\d{8}-\d{6})`)
)

// startSite starts a real server and closes it when the test ends.
func startSite(t *testing.T, opts Options) *Server {
	t.Helper()
	srv, err := Start(opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv.Close()) })
	return srv
}

// client is a plain net/http client with a cookie jar, the way a raw-HTTP
// booking session talks to the site. It does not follow redirects so tests
// can see them.
type client struct {
	t       *testing.T
	base    string
	charset string
	hc      *http.Client
}

func newClient(t *testing.T, srv *Server) *client {
	t.Helper()
	return newClientFrom(t, srv, "")
}

// newClientFrom binds the client's connections to localIP (a 127.0.0.x
// address) when it is not empty.
func newClientFrom(t *testing.T, srv *Server, localIP string) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	if localIP != "" {
		dialer.LocalAddr = &net.TCPAddr{IP: net.ParseIP(localIP)}
	}
	tr := &http.Transport{DialContext: dialer.DialContext, MaxIdleConnsPerHost: 4}
	t.Cleanup(tr.CloseIdleConnections)
	return &client{
		t:       t,
		base:    srv.URL(),
		charset: srv.Options().Charset,
		hc: &http.Client{
			Jar:       jar,
			Transport: tr,
			Timeout:   10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}
}

// reply is a response with its body decoded to UTF-8.
type reply struct {
	status int
	header http.Header
	body   string
}

func (c *client) try(method, path string, form url.Values) (reply, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(context.Background(), method, c.base+path, body)
	require.NoError(c.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: decodeBody(c.t, resp.Header, raw)}, nil
}

func (c *client) do(method, path string, form url.Values) reply {
	c.t.Helper()
	r, err := c.try(method, path, form)
	require.NoError(c.t, err)
	return r
}

func (c *client) get(path string) reply { c.t.Helper(); return c.do(http.MethodGet, path, nil) }

func (c *client) login(user, password string) reply {
	c.t.Helper()
	return c.do(http.MethodPost, PathLoginProc, url.Values{"userId": {user}, "userPw": {password}})
}

func (c *client) mustLogin(user string) {
	c.t.Helper()
	r := c.login(user, PasswordDefault)
	require.Equal(c.t, http.StatusFound, r.status, r.body)
	require.Equal(c.t, PathMain, r.header.Get("Location"))
}

// visit opens the booking page and returns its token.
func (c *client) visit(facility int, useDate string, slot int) string {
	c.t.Helper()
	r := c.get(formPath(facility, useDate, slot))
	require.Equal(c.t, http.StatusOK, r.status, r.body)
	m := tokenRE.FindStringSubmatch(r.body)
	require.NotNil(c.t, m, "no rentToken in booking page: %s", r.body)
	return m[1]
}

func formPath(facility int, useDate string, slot int) string {
	return PathForm + "?" + url.Values{
		"facilityNo": {strconv.Itoa(facility)},
		"useDate":    {useDate},
		"timeNo":     {strconv.Itoa(slot)},
	}.Encode()
}

// applyForm is a complete submit form; userName is encoded in the client's
// charset before percent-encoding, as a browser on the legacy site does.
func (c *client) applyForm(facility int, useDate string, slot int, token, userName string) url.Values {
	c.t.Helper()
	name := userName
	if c.charset == CharsetEUCKR {
		enc, err := korean.EUCKR.NewEncoder().String(userName)
		require.NoError(c.t, err)
		name = enc
	}
	return url.Values{
		"facilityNo": {strconv.Itoa(facility)},
		"useDate":    {useDate},
		"timeNo":     {strconv.Itoa(slot)},
		"rentToken":  {token},
		"userName":   {name},
		"userTel":    {"010-1234-5678"},
		"people":     {"2"},
	}
}

func (c *client) submit(facility int, useDate string, slot int, token string) reply {
	c.t.Helper()
	return c.do(http.MethodPost, PathApply, c.applyForm(facility, useDate, slot, token, "홍길동"))
}

// book visits the page and submits at once.
func (c *client) book(facility int, useDate string, slot int) reply {
	c.t.Helper()
	return c.submit(facility, useDate, slot, c.visit(facility, useDate, slot))
}

func decodeBody(t *testing.T, h http.Header, raw []byte) string {
	t.Helper()
	_, params, _ := mime.ParseMediaType(h.Get("Content-Type"))
	if strings.EqualFold(params["charset"], "euc-kr") {
		s, err := korean.EUCKR.NewDecoder().Bytes(raw)
		require.NoError(t, err)
		return string(s)
	}
	return string(raw)
}

// lastSubmit returns the newest ledger submit.
func lastSubmit(t *testing.T, s *Site) Submit {
	t.Helper()
	subs := s.Ledger().Submits
	require.NotEmpty(t, subs)
	return subs[len(subs)-1]
}

// memClient drives Handler() in memory, for tests inside a synctest bubble
// where real sockets cannot be used. It keeps the session cookie itself.
type memClient struct {
	t      *testing.T
	h      http.Handler
	ip     string
	cookie string
}

func (m *memClient) do(method, path string, form url.Values) *httptest.ResponseRecorder {
	m.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	req.RemoteAddr = m.ip + ":40000"
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if m.cookie != "" {
		req.AddCookie(&http.Cookie{Name: SessionCookie, Value: m.cookie})
	}
	rec := httptest.NewRecorder()
	m.h.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.Name == SessionCookie {
			m.cookie = c.Value
		}
	}
	return rec
}

func (m *memClient) login(user string) {
	m.t.Helper()
	rec := m.do(http.MethodPost, PathLoginProc, url.Values{"userId": {user}, "userPw": {PasswordDefault}})
	require.Equal(m.t, http.StatusFound, rec.Code, rec.Body.String())
}

func (m *memClient) book(facility int, useDate string, slot int) *httptest.ResponseRecorder {
	m.t.Helper()
	rec := m.do(http.MethodGet, formPath(facility, useDate, slot), nil)
	require.Equal(m.t, http.StatusOK, rec.Code)
	tok := tokenRE.FindStringSubmatch(rec.Body.String())
	require.NotNil(m.t, tok)
	return m.do(http.MethodPost, PathApply, url.Values{
		"facilityNo": {strconv.Itoa(facility)}, "useDate": {useDate}, "timeNo": {strconv.Itoa(slot)},
		"rentToken": {tok[1]}, "userName": {"홍길동"}, "userTel": {"010-1234-5678"}, "people": {"2"},
	})
}
