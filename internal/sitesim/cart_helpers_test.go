package sitesim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// cartSimNow is where the sim clock of every cart test starts: Monday
// 2026-12-21 12:00:00 site time. With the default 72h notice, slots ending
// by Thursday 12:00 are open: 12-24 10:00–11:00 (slot 5) is, 12-24
// 12:00–13:00 (slot 7) opens in one hour.
var cartSimNow = time.Date(2026, 12, 21, 12, 0, 0, 0, seoul)

// cartSlotAt is the start of slot n on a day of December 2026.
func cartSlotAt(day, n int) time.Time { return slotStart(20261200+day, n) }

var (
	loginTokenRE = regexp.MustCompile(`<input type="hidden" name="_token" value="([0-9a-f]+)">`)
	orderCodeRE  = regexp.MustCompile(`<strong class="order-code">(RS-\d{6})</strong>`)
	hex32RE      = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

// The generic answer to anything unexpected, and the API's fixed answers.
const (
	oopsHTML       = `<h1>Oops! Something went wrong.</h1><p>Please try again later.</p>`
	unauthJSON     = `{"ok":false,"code":"unauthenticated","message":"Please log in."}` + "\n"
	csrfJSON       = `{"ok":false,"code":"csrf","message":"CSRF token mismatch."}` + "\n"
	conflictEN     = `{"ok":false,"code":"conflict","message":"This time conflicts with an existing reservation."}` + "\n"
	contentTypeAPI = "application/json; charset=utf-8"
)

// newCartSite makes a cart site whose sim clock reads cartSimNow now. In a
// synctest bubble the clock then only moves with the bubble's.
func newCartSite(t *testing.T, opts Options) *Site {
	t.Helper()
	opts.Flavor = FlavorCart
	opts.Skew = cartSimNow.Sub(time.Now())
	s, err := New(opts)
	require.NoError(t, err)
	return s
}

// startCartSite serves a cart site on loopback for the test.
func startCartSite(t *testing.T, opts Options) *Server {
	t.Helper()
	opts.Flavor = FlavorCart
	opts.Skew = cartSimNow.Sub(time.Now())
	return startSite(t, opts)
}

// cartClient is a browser-like client of the cart flavour: a cookie jar,
// no redirects followed, the XSRF-TOKEN cookie sent back as the header.
type cartClient struct {
	t    *testing.T
	base *url.URL
	hc   *http.Client
}

func newCartClient(t *testing.T, base string, rt http.RoundTripper) *cartClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	u, err := url.Parse(base)
	require.NoError(t, err)
	return &cartClient{t: t, base: u, hc: &http.Client{
		Jar:       jar,
		Transport: rt,
		Timeout:   10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// memCart is an in-process client of s from ip, usable in a synctest
// bubble.
func memCart(t *testing.T, s *Site, ip string) *cartClient {
	t.Helper()
	return newCartClient(t, "http://cart.test", &InProcess{Handler: s.Handler(), RemoteAddr: ip + ":40000"})
}

// netCart is a client of srv over real loopback connections.
func netCart(t *testing.T, srv *Server) *cartClient {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	t.Cleanup(tr.CloseIdleConnections)
	return newCartClient(t, srv.URL(), tr)
}

func (c *cartClient) cookie(name string) string {
	for _, ck := range c.hc.Jar.Cookies(c.base) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

func (c *cartClient) try(method, path string, body io.Reader, header http.Header) (reply, error) {
	req, err := http.NewRequestWithContext(context.Background(), method, c.base.String()+path, body)
	require.NoError(c.t, err)
	for k, v := range header {
		req.Header[k] = v
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
	return reply{status: resp.StatusCode, header: resp.Header, body: string(raw)}, nil
}

func (c *cartClient) do(method, path string, body io.Reader, header http.Header) reply {
	c.t.Helper()
	r, err := c.try(method, path, body, header)
	require.NoError(c.t, err)
	return r
}

func (c *cartClient) get(path string) reply {
	c.t.Helper()
	return c.do(http.MethodGet, path, nil, nil)
}

// jsonHeader carries the XSRF header: the cookie's value, or xsrf when
// given ("-" for none).
func (c *cartClient) jsonHeader(xsrf string) http.Header {
	h := http.Header{"Content-Type": {"application/json"}}
	switch xsrf {
	case "":
		h.Set(CartXSRFHeader, c.cookie(CartXSRFCookie))
	case "-":
	default:
		h.Set(CartXSRFHeader, xsrf)
	}
	return h
}

func (c *cartClient) postJSON(path string, v any) reply {
	c.t.Helper()
	return c.postJSONXSRF(path, v, "")
}

// postJSONXSRF posts v (a string is sent as it is) with the given XSRF
// header (see jsonHeader).
func (c *cartClient) postJSONXSRF(path string, v any, xsrf string) reply {
	c.t.Helper()
	raw, ok := v.(string)
	if !ok {
		b, err := json.Marshal(v)
		require.NoError(c.t, err)
		raw = string(b)
	}
	return c.do(http.MethodPost, path, strings.NewReader(raw), c.jsonHeader(xsrf))
}

func (c *cartClient) postForm(path string, form url.Values) reply {
	c.t.Helper()
	return c.do(http.MethodPost, path, strings.NewReader(form.Encode()),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
}

// loginToken opens the login page and returns its _token.
func (c *cartClient) loginToken() string {
	c.t.Helper()
	r := c.get(CartPathLogin)
	require.Equal(c.t, http.StatusOK, r.status, r.body)
	m := loginTokenRE.FindStringSubmatch(r.body)
	require.NotNil(c.t, m, "no _token in the login page: %s", r.body)
	return m[1]
}

func loginForm(token, user, password string) url.Values {
	return url.Values{"_token": {token}, "username": {user}, "password": {password}, "login": {"Log in"}}
}

func (c *cartClient) login(user, password string) reply {
	c.t.Helper()
	return c.postForm(CartPathLogin, loginForm(c.loginToken(), user, password))
}

func (c *cartClient) mustLogin(user string) {
	c.t.Helper()
	r := c.login(user, PasswordDefault)
	require.Equal(c.t, http.StatusFound, r.status, r.body)
	require.Equal(c.t, CartPathDashboard, r.header.Get("Location"))
}

// add puts resource's slot starting at start in the cart.
func (c *cartClient) add(resource int, start time.Time) reply {
	c.t.Helper()
	return c.postJSON(CartPathItems, itemBody(resource, start))
}

func itemBody(resource int, start time.Time) map[string]any {
	return map[string]any{"resource_id": resource, "start": isoTime(start), "end": isoTime(start.Add(time.Hour))}
}

type holdReply struct {
	OK   bool `json:"ok"`
	Hold struct {
		ID        string `json:"id"`
		ExpiresAt string `json:"expires_at"`
	} `json:"hold"`
	Message string `json:"message"`
}

// mustHold adds a slot and returns the hold's id.
func (c *cartClient) mustHold(resource int, start time.Time) string {
	c.t.Helper()
	r := c.add(resource, start)
	require.Equal(c.t, http.StatusCreated, r.status, r.body)
	return decodeJSON[holdReply](c.t, r).Hold.ID
}

func (c *cartClient) checkout(holdID string) reply {
	c.t.Helper()
	return c.postJSON(CartPathCheckout, map[string]string{"hold_id": holdID, "name": "홍길동", "phone": "010-1234-5678"})
}

type checkoutReply struct {
	OK       bool `json:"ok"`
	Checkout struct {
		ID         string `json:"id"`
		ConfirmURL string `json:"confirm_url"`
	} `json:"checkout"`
}

// mustCheckout starts the hold's checkout and returns its confirm URL.
func (c *cartClient) mustCheckout(holdID string) string {
	c.t.Helper()
	r := c.checkout(holdID)
	require.Equal(c.t, http.StatusOK, r.status, r.body)
	return decodeJSON[checkoutReply](c.t, r).Checkout.ConfirmURL
}

// confirm posts the confirm form with the session's XSRF token.
func (c *cartClient) confirm(confirmURL string) reply {
	c.t.Helper()
	return c.postForm(confirmURL, url.Values{"_csrf": {c.cookie(CartXSRFCookie)}, "accept_terms": {"1"}})
}

// book holds, checks out and confirms; it returns the order page.
func (c *cartClient) book(resource int, start time.Time) reply {
	c.t.Helper()
	return c.confirm(c.mustCheckout(c.mustHold(resource, start)))
}

func decodeJSON[T any](t *testing.T, r reply) T {
	t.Helper()
	require.Equal(t, contentTypeAPI, r.header.Get("Content-Type"), r.body)
	var v T
	require.NoError(t, json.Unmarshal([]byte(r.body), &v), r.body)
	return v
}

// requireOops asserts the generic error page.
func requireOops(t *testing.T, r reply) {
	t.Helper()
	require.Equal(t, http.StatusOK, r.status, r.body)
	require.Equal(t, "text/html; charset=utf-8", r.header.Get("Content-Type"))
	require.Contains(t, r.body, oopsHTML)
}

// requireAPIError asserts a JSON error answer.
func requireAPIError(t *testing.T, r reply, status int, code, message string) {
	t.Helper()
	require.Equal(t, status, r.status, r.body)
	require.Equal(t, contentTypeAPI, r.header.Get("Content-Type"))
	b, err := json.Marshal(apiError{Code: code, Message: message})
	require.NoError(t, err)
	require.Equal(t, string(b)+"\n", r.body)
}

// lastHold returns the newest ledger hold.
func lastHold(t *testing.T, s *Site) Hold {
	t.Helper()
	hs := s.Ledger().Holds
	require.NotEmpty(t, hs)
	return hs[len(hs)-1]
}

// postSim posts to a /_sim/ route of s in memory.
func postSim(t *testing.T, s *Site, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, nil))
	return rec
}

func jsonBody(t *testing.T, v any) io.Reader {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return strings.NewReader(string(b))
}

func formBody(v url.Values) io.Reader { return strings.NewReader(v.Encode()) }
