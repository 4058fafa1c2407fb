package simbrowser

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/korean"

	"reserver/internal/har"
	"reserver/internal/sitesim"
)

// startBrowser starts one headless Chromium for the test, already running
// (so each flow's timeout bounds the flow, not the browser).
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	return StartForTest(t)
}

// flow is one booking flow against one simulator.
type flow struct {
	name string
	opts sitesim.Options
	book func(context.Context, string, Booking) (*har.HAR, error)
	// check asserts the recording against the booking and its ledger
	// reservation.
	check func(t *testing.T, srv *sitesim.Server, h *har.HAR, b Booking, rsv sitesim.Reservation)
}

// TestBook books one slot by hand in a real Chromium on each flavour (one
// browser for all of them) and checks the ledger and the recording.
func TestBook(t *testing.T) {
	browser := startBrowser(t)
	flows := []flow{
		{name: "egov-utf-8", opts: sitesim.Options{}, book: BookEgov, check: checkEgov},
		{name: "egov-euc-kr", opts: sitesim.Options{Charset: sitesim.CharsetEUCKR}, book: BookEgov, check: checkEgov},
		{name: "cart", opts: sitesim.Options{Flavor: sitesim.FlavorCart}, book: BookCart, check: checkCart},
	}
	for _, f := range flows {
		t.Run(f.name, func(t *testing.T) {
			srv := startSite(t, f.opts)
			b := tomorrow(srv, "user001")
			ctx, cancel := context.WithTimeout(browser, 60*time.Second)
			defer cancel()
			h, err := f.book(ctx, srv.URL(), b)
			require.NoError(t, err)

			l := srv.Ledger()
			require.Len(t, l.Reservations, 1, "exactly one reservation")
			rsv := l.Reservations[0]
			require.Equal(t, []any{b.Account, b.Court, b.Date, 5, b.Name, b.Phone},
				[]any{rsv.Account, rsv.Facility, rsv.Date, rsv.Slot, rsv.UserName, rsv.UserTel})

			require.Equal(t, "1.2", h.Log.Version)
			require.Equal(t, Creator, h.Log.Creator)
			require.NotNil(t, h.Log.Browser)
			require.NotEmpty(t, h.Log.Pages)
			for _, e := range h.Log.Entries {
				require.True(t, strings.HasPrefix(e.Request.URL, srv.URL()+"/"), e.Request.URL)
				require.NotEmpty(t, e.ResourceType, e.Request.URL)
				require.NotEmpty(t, e.StartedDateTime)
				require.Positive(t, e.Response.Status, e.Request.URL)
				if e.Response.Status == http.StatusOK {
					require.NotEmpty(t, e.Response.Content.Text, "the body of %s", e.Request.URL)
					require.Positive(t, e.Response.Content.Size)
				}
			}
			f.check(t, srv, h, b, rsv)
			requireRoundTrip(t, h, f.name)
		})
	}
}

// TestBookRefused: a refusal comes back as ErrRefused with the site's own
// words, with the recording so far.
func TestBookRefused(t *testing.T) {
	browser := startBrowser(t)
	t.Run("egov slot taken", func(t *testing.T) {
		srv := startSite(t, sitesim.Options{})
		b := tomorrow(srv, "user001")
		_, err := srv.Reserve("user002", b.Court, b.Date, 5)
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(browser, 60*time.Second)
		defer cancel()
		h, err := BookEgov(ctx, srv.URL(), b)
		require.ErrorIs(t, err, ErrRefused)
		require.ErrorContains(t, err, sitesim.MsgTaken)
		require.NotEmpty(t, entries(h, http.MethodPost, sitesim.PathApply), "the submit is recorded")
		require.Len(t, srv.Ledger().Reservations, 1, "only the other account's")
	})
	t.Run("cart wrong password", func(t *testing.T) {
		srv := startSite(t, sitesim.Options{Flavor: sitesim.FlavorCart})
		b := tomorrow(srv, "user002")
		b.Password = "wrong"
		ctx, cancel := context.WithTimeout(browser, 60*time.Second)
		defer cancel()
		_, err := BookCart(ctx, srv.URL(), b)
		require.ErrorIs(t, err, ErrRefused)
		require.ErrorContains(t, err, "Invalid username or password.")
		require.Empty(t, srv.Ledger().Reservations)
	})
}

func startSite(t *testing.T, opts sitesim.Options) *sitesim.Server {
	t.Helper()
	srv, err := sitesim.Start(opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv.Close()) })
	return srv
}

// tomorrow is a booking of court 3, 10:00-11:00 (slot 5) tomorrow in site
// time: open on both flavours (the cart's 72-hour notice included).
func tomorrow(srv *sitesim.Server, account string) Booking {
	day := srv.Now().In(time.FixedZone("KST", 9*60*60)).AddDate(0, 0, 1)
	return Booking{Account: account, Password: sitesim.PasswordDefault, Court: 3, Date: day.Format(time.DateOnly),
		Start: "10:00", End: "11:00", Name: "홍길동", Phone: "010-1234-5678"}
}

func checkEgov(t *testing.T, srv *sitesim.Server, h *har.HAR, b Booking, rsv sitesim.Reservation) {
	euckr := srv.Options().Charset == sitesim.CharsetEUCKR
	useDate := strings.ReplaceAll(b.Date, "-", "")

	// The login page, then the login POST carrying the password, answered
	// by a redirect that is its own entry, then the main page.
	requireDocument(t, one(t, h, http.MethodGet, sitesim.PathLogin), `name="userPw"`, euckr)
	i, login := index(t, h, http.MethodPost, sitesim.PathLoginProc)
	requireForm(t, login, map[string]string{"userId": b.Account, "userPw": b.Password})
	require.Equal(t, http.StatusFound, login.Response.Status)
	require.Equal(t, sitesim.PathMain, login.Response.RedirectURL)
	session := cookie(t, login.Response.Cookies, sitesim.SessionCookie)
	require.True(t, session.HTTPOnly)
	require.Empty(t, login.Response.Content.Text, "a redirect has no body")
	next := h.Log.Entries[i+1]
	require.Equal(t, http.MethodGet+" "+srv.URL()+sitesim.PathMain, next.Request.Method+" "+next.Request.URL,
		"the redirect's target is the next entry")
	require.Equal(t, login.Pageref, next.Pageref)
	require.Equal(t, session.Value, cookie(t, next.Request.Cookies, sitesim.SessionCookie).Value)
	require.Contains(t, har.Header(next.Request.Headers, "Cookie"), sitesim.SessionCookie+"="+session.Value)
	requireDocument(t, next, `<form name="rentSearchForm" method="get" action="/rent/form.do">`, euckr)

	// The booking page the search form opened, with the hidden token.
	page := one(t, h, http.MethodGet, sitesim.PathForm)
	require.Equal(t, []har.NameValue{{Name: "facilityNo", Value: "3"}, {Name: "useDate", Value: useDate},
		{Name: "timeNo", Value: "5"}}, page.Request.QueryString)
	body := requireDocument(t, page, `name="rentToken" value="`, euckr)
	token := regexp.MustCompile(`name="rentToken" value="([^"]+)"`).FindStringSubmatch(body)[1]

	// The submit with the booking's values, the name in the page's charset.
	name := b.Name
	if euckr {
		enc, err := korean.EUCKR.NewEncoder().String(name)
		require.NoError(t, err)
		name = enc
	}
	submit := one(t, h, http.MethodPost, sitesim.PathApply)
	requireForm(t, submit, map[string]string{"facilityNo": "3", "useDate": useDate, "timeNo": "5",
		"rentToken": token, "userName": name, "userTel": b.Phone})
	require.Equal(t, page.Request.URL, har.Header(submit.Request.Headers, "Referer"), "submitted from the booking page")
	requireDocument(t, submit, sitesim.MsgSuccess, euckr)
	requireDocument(t, submit, sitesim.MsgReservationNumber+rsv.Number, euckr)

	// The listing shows it.
	requireDocument(t, one(t, h, http.MethodGet, sitesim.PathRentList), rsv.Number, euckr)

	// An EUC-KR page's bytes are the server's, byte for byte.
	if euckr {
		resp, err := http.Get(srv.URL() + sitesim.PathLogin)
		require.NoError(t, err)
		defer resp.Body.Close()
		want, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		got, err := one(t, h, http.MethodGet, sitesim.PathLogin).Response.Content.Bytes()
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
}

func checkCart(t *testing.T, srv *sitesim.Server, h *har.HAR, b Booking, rsv sitesim.Reservation) {
	// The login page hands out the pre-session and the form's token.
	page := one(t, h, http.MethodGet, sitesim.CartPathLogin)
	body := requireDocument(t, page, `name="_token"`, false)
	loginToken := regexp.MustCompile(`name="_token" value="([^"]+)"`).FindStringSubmatch(body)[1]
	cookie(t, page.Response.Cookies, sitesim.CartSessionCookie)

	i, login := index(t, h, http.MethodPost, sitesim.CartPathLogin)
	requireForm(t, login, map[string]string{"_token": loginToken, "username": b.Account, "password": b.Password, "login": "Log+in"})
	require.Equal(t, http.StatusFound, login.Response.Status)
	require.Equal(t, sitesim.CartPathDashboard, login.Response.RedirectURL)
	xsrf := cookie(t, login.Response.Cookies, sitesim.CartXSRFCookie)
	require.False(t, xsrf.HTTPOnly)
	require.True(t, cookie(t, login.Response.Cookies, sitesim.CartSessionCookie).HTTPOnly)
	next := h.Log.Entries[i+1]
	require.Equal(t, srv.URL()+sitesim.CartPathDashboard, next.Request.URL, "the redirect's target is the next entry")
	requireDocument(t, next, `<p class="welcome">`, false)

	// The booking application and its API calls.
	requireDocument(t, one(t, h, http.MethodGet, sitesim.CartPathBook), `id="slot-form"`, false)
	resources := one(t, h, http.MethodGet, sitesim.CartPathResources)
	require.Equal(t, "fetch", resources.ResourceType)
	require.Contains(t, resources.Response.Content.Text, `"name":"Court 3"`)

	add := one(t, h, http.MethodPost, sitesim.CartPathItems)
	require.Equal(t, "fetch", add.ResourceType)
	require.Equal(t, xsrf.Value, har.Header(add.Request.Headers, sitesim.CartXSRFHeader))
	require.Contains(t, har.Header(add.Request.Headers, "Cookie"), sitesim.CartXSRFCookie+"="+xsrf.Value)
	require.Equal(t, "application/json", add.Request.PostData.MimeType)
	require.JSONEq(t, fmt.Sprintf(`{"resource_id":3,"start":"%sT10:00:00+09:00","end":"%sT11:00:00+09:00"}`, b.Date, b.Date),
		add.Request.PostData.Text)
	require.Equal(t, http.StatusCreated, add.Response.Status)
	var held struct {
		Hold struct{ ID string } `json:"hold"`
	}
	require.NoError(t, json.Unmarshal([]byte(add.Response.Content.Text), &held))

	checkout := one(t, h, http.MethodPost, sitesim.CartPathCheckout)
	require.JSONEq(t, fmt.Sprintf(`{"hold_id":%q,"name":%q,"phone":%q}`, held.Hold.ID, b.Name, b.Phone), checkout.Request.PostData.Text)
	var co struct {
		Checkout struct {
			ConfirmURL string `json:"confirm_url"`
		} `json:"checkout"`
	}
	require.NoError(t, json.Unmarshal([]byte(checkout.Response.Content.Text), &co))

	// The confirm page with the hidden _csrf, its POST, the order page.
	form := one(t, h, http.MethodGet, co.Checkout.ConfirmURL)
	requireDocument(t, form, `<input type="hidden" name="_csrf" value="`+xsrf.Value+`">`, false)
	confirm := one(t, h, http.MethodPost, co.Checkout.ConfirmURL)
	requireForm(t, confirm, map[string]string{"_csrf": xsrf.Value, "accept_terms": "1"})
	requireDocument(t, confirm, `<strong class="order-code">`+rsv.Number+`</strong>`, false)

	// The listing page and the call its script makes.
	requireDocument(t, one(t, h, http.MethodGet, sitesim.CartPathMyReservations), `id="reservations"`, false)
	list := one(t, h, http.MethodGet, sitesim.CartPathReservations)
	require.Contains(t, list.Response.Content.Text, `"code":"`+rsv.Number+`"`)
}

// entries returns the recording's exchanges of method on path (and query).
func entries(h *har.HAR, method, path string) []har.Entry {
	var out []har.Entry
	for _, e := range h.Log.Entries {
		u, err := url.Parse(e.Request.URL)
		if err != nil {
			continue
		}
		if e.Request.Method == method && (u.Path == path || u.RequestURI() == path) {
			out = append(out, e)
		}
	}
	return out
}

func one(t *testing.T, h *har.HAR, method, path string) har.Entry {
	t.Helper()
	es := entries(h, method, path)
	require.Len(t, es, 1, "%s %s", method, path)
	return es[0]
}

func index(t *testing.T, h *har.HAR, method, path string) (int, har.Entry) {
	t.Helper()
	e := one(t, h, method, path)
	for i := range h.Log.Entries {
		if h.Log.Entries[i].StartedDateTime == e.StartedDateTime && h.Log.Entries[i].Request.URL == e.Request.URL &&
			h.Log.Entries[i].Request.Method == method {
			return i, e
		}
	}
	t.Fatalf("no %s %s", method, path)
	return 0, har.Entry{}
}

// requireDocument asserts a page's body holds want and returns it
// decoded: text for UTF-8, base64 with the charset in the mimeType for
// EUC-KR.
func requireDocument(t *testing.T, e har.Entry, want string, euckr bool) string {
	t.Helper()
	c := e.Response.Content
	if euckr {
		require.Equal(t, "base64", c.Encoding, e.Request.URL)
		require.Equal(t, "euc-kr", har.Charset(c.MimeType), c.MimeType)
	} else {
		require.Empty(t, c.Encoding, e.Request.URL)
	}
	body, err := c.Decoded()
	require.NoError(t, err)
	require.Contains(t, body, want, e.Request.URL)
	return body
}

// requireForm asserts the posted form's fields (percent-decoded to the
// bytes as posted).
func requireForm(t *testing.T, e har.Entry, want map[string]string) {
	t.Helper()
	require.NotNil(t, e.Request.PostData, e.Request.URL)
	require.Equal(t, "application/x-www-form-urlencoded", e.Request.PostData.MimeType)
	require.NotEmpty(t, e.Request.PostData.Params, "a form's params")
	fields, ok := e.Request.PostData.Form()
	require.True(t, ok)
	got := map[string]string{}
	for _, f := range fields {
		got[f.Name] = f.Value
	}
	for k, v := range want {
		v, err := url.QueryUnescape(v)
		require.NoError(t, err)
		require.Equal(t, v, got[k], "field %s of %s", k, e.Request.URL)
	}
}

func cookie(t *testing.T, cs []har.Cookie, name string) har.Cookie {
	t.Helper()
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no cookie %s in %v", name, cs)
	return har.Cookie{}
}

// requireRoundTrip saves the recording and reads it back: har.Read takes
// what har.WriteFile wrote, and writing it again gives the same bytes. With
// RESERVER_HAR_DIR set the recording is kept there.
func requireRoundTrip(t *testing.T, h *har.HAR, name string) {
	t.Helper()
	dir := cmp.Or(os.Getenv("RESERVER_HAR_DIR"), t.TempDir())
	path := filepath.Join(dir, name+".har")
	require.NoError(t, har.WriteFile(path, h))
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	back, err := har.Read(bytes.NewReader(raw))
	require.NoError(t, err)
	var again bytes.Buffer
	require.NoError(t, har.Write(&again, back))
	require.Equal(t, string(raw), again.String())
	require.Equal(t, len(h.Log.Entries), len(back.Log.Entries))
	t.Logf("%s: %d entries, %d pages: %s", name, len(h.Log.Entries), len(h.Log.Pages), path)
}
