package har_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/text/encoding/korean"

	"reserver/internal/har"
	"reserver/internal/sitesim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var kst = time.FixedZone("KST", 9*60*60)

// bundle is a simulated site on loopback and a client whose transport is
// a recorder.
type bundle struct {
	srv    *sitesim.Server
	rec    *har.Recorder
	client *http.Client
}

func setup(t *testing.T, style har.Style, opts sitesim.Options) *bundle {
	t.Helper()
	srv, err := sitesim.Start(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	rec, err := har.NewRecorder(har.RecorderConfig{Style: style, Transport: tr, Location: kst})
	require.NoError(t, err)
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &bundle{srv: srv, rec: rec, client: &http.Client{Transport: rec, Jar: jar}}
}

// send makes one request and returns the body as the caller gets it.
func (b *bundle) send(t *testing.T, method, path, contentType, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, b.srv.URL()+path, strings.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("User-Agent", "Mozilla/5.0 (test)")
	if contentType != "application/json" {
		req.Header.Set("Accept", "text/html,application/xhtml+xml") // a navigation; a JSON call is a script's
	}
	resp, err := b.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, data
}

const form = "application/x-www-form-urlencoded"

var rentTokenRe = regexp.MustCompile(`name="rentToken" value="([^"]+)"`)

// bookEgov logs in (the client follows the redirect), opens the booking
// page and submits it with a Korean name in the site's charset. It
// returns the booking page's and the answer's bodies as the client got
// them.
func (b *bundle) bookEgov(t *testing.T, name []byte) (page, answer []byte) {
	t.Helper()
	b.send(t, http.MethodGet, sitesim.PathLogin, "", "")
	b.send(t, http.MethodPost, sitesim.PathLoginProc, form, "userId=user001&userPw=pass1234")
	_, page = b.send(t, http.MethodGet, sitesim.PathForm+"?facilityNo=2&useDate=20261224&timeNo=4", "", "")
	m := rentTokenRe.FindSubmatch(page)
	require.NotNil(t, m, "no rentToken on the booking page")
	_, answer = b.send(t, http.MethodPost, sitesim.PathApply, form,
		"facilityNo=2&useDate=20261224&timeNo=4&rentToken="+string(m[1])+
			"&userName="+url.QueryEscape(string(name))+"&userTel=010-1234-5678&people=2")
	return page, answer
}

func entry(t *testing.T, h *har.HAR, method, path string) har.Entry {
	t.Helper()
	for _, e := range h.Log.Entries {
		u, err := url.Parse(e.Request.URL)
		require.NoError(t, err)
		if e.Request.Method == method && u.Path == path {
			return e
		}
	}
	t.Fatalf("no %s %s among %d entries", method, path, len(h.Log.Entries))
	return har.Entry{}
}

func euckr(t *testing.T, s string) []byte {
	t.Helper()
	b, err := korean.EUCKR.NewEncoder().Bytes([]byte(s))
	require.NoError(t, err)
	return b
}

func TestRecorderRoundTrip(t *testing.T) {
	t.Parallel()
	for _, style := range []har.Style{har.StyleChromium, har.StyleFirefox} {
		t.Run(string(style), func(t *testing.T) {
			t.Parallel()
			b := setup(t, style, sitesim.Options{Charset: sitesim.CharsetEUCKR})
			b.bookEgov(t, euckr(t, "홍길동"))

			h := b.rec.HAR()
			var buf bytes.Buffer
			require.NoError(t, har.Write(&buf, h))
			back, err := har.Read(&buf)
			require.NoError(t, err)
			// Equal but for the indentation Write gave the raw pageTimings.
			want, err := json.Marshal(h)
			require.NoError(t, err)
			got, err := json.Marshal(back)
			require.NoError(t, err)
			require.JSONEq(t, string(want), string(got))
			require.Equal(t, h.Log.Entries, back.Log.Entries)
			// GET login, POST loginProc, its redirect to main, the booking page, the submit.
			require.Len(t, back.Log.Entries, 5)
			require.Equal(t, "1.2", back.Log.Version)
		})
	}
}

func TestRecorderChromium(t *testing.T) {
	t.Parallel()
	b := setup(t, har.StyleChromium, sitesim.Options{})
	b.bookEgov(t, []byte("홍길동"))
	h := b.rec.HAR()

	require.Equal(t, har.Creator{Name: "WebInspector", Version: har.ChromiumCreatorVersion}, h.Log.Creator)
	require.Nil(t, h.Log.Browser)
	for _, e := range h.Log.Entries {
		require.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`, e.StartedDateTime)
		require.Equal(t, "document", e.ResourceType, e.Request.URL)
	}
	login := entry(t, h, http.MethodPost, sitesim.PathLoginProc)
	require.Equal(t, http.StatusFound, login.Response.Status)
	require.Equal(t, sitesim.PathMain, login.Response.RedirectURL)
	require.Equal(t, "x-unknown", login.Response.Content.MimeType)
	require.Empty(t, login.Response.Content.Text)
	require.Equal(t, []har.Param{{Name: "userId", Value: "user001"}, {Name: "userPw", Value: "pass1234"}}, login.Request.PostData.Params)
	require.Equal(t, form, login.Request.PostData.MimeType)
	require.Len(t, login.Response.Cookies, 1)
	sid := login.Response.Cookies[0]
	require.Equal(t, har.Cookie{Name: sitesim.SessionCookie, Value: sid.Value, Path: "/", HTTPOnly: true}, sid)
	require.Equal(t, json.RawMessage(`{}`), login.Cache)
	require.Equal(t, "127.0.0.1", login.ServerIPAddress)
	require.Regexp(t, `^\d+$`, login.Connection)
	require.Equal(t, login.Response.HeadersSize+login.Response.BodySize, login.Response.TransferSize)
	require.Equal(t, float64(-1), login.Timings.SSL)

	// The request cookie comes from the jar, with what the response set.
	page := entry(t, h, http.MethodGet, sitesim.PathForm)
	require.Equal(t, []har.Cookie{{Name: sitesim.SessionCookie, Value: sid.Value, Path: "/", Domain: "127.0.0.1", HTTPOnly: true}}, page.Request.Cookies)
	require.Equal(t, []har.NameValue{{Name: "facilityNo", Value: "2"}, {Name: "useDate", Value: "20261224"}, {Name: "timeNo", Value: "4"}}, page.Request.QueryString)
	require.Equal(t, "text/html", page.Response.Content.MimeType) // without its charset, as Chromium writes it
	require.Equal(t, "text/html; charset=UTF-8", har.Header(page.Response.Headers, "content-type"))
	require.Empty(t, page.Response.Content.Encoding)
	require.Contains(t, page.Response.Content.Text, "시설 예약 신청")
	require.Equal(t, "Cache-Control", page.Response.Headers[0].Name) // as received, not lower-cased
	require.Equal(t, "Host", page.Request.Headers[0].Name)           // as sent
	require.Equal(t, "VeryHigh", page.Priority)

	// Raw, as in the body: Chromium does not decode params.
	apply := entry(t, h, http.MethodPost, sitesim.PathApply)
	require.Contains(t, apply.Request.PostData.Params, har.Param{Name: "userName", Value: "%ED%99%8D%EA%B8%B8%EB%8F%99"})

	// One page per navigation; the redirect's target continues the login's.
	require.Len(t, h.Log.Pages, 4)
	require.Equal(t, login.Pageref, entry(t, h, http.MethodGet, sitesim.PathMain).Pageref)
	require.Equal(t, b.srv.URL()+sitesim.PathMain, h.Log.Pages[1].Title)
}

func TestRecorderFirefox(t *testing.T) {
	t.Parallel()
	b := setup(t, har.StyleFirefox, sitesim.Options{Flavor: sitesim.FlavorCart})
	_, page := b.send(t, http.MethodGet, sitesim.CartPathLogin, "", "")
	token := regexp.MustCompile(`name="_token" value="([^"]+)"`).FindSubmatch(page)
	require.NotNil(t, token)
	b.send(t, http.MethodPost, sitesim.CartPathLogin, form, "_token="+string(token[1])+"&username=user002&password=pass1234&login=Log+in")
	b.send(t, http.MethodPost, sitesim.CartPathItems, "application/json", `{"resource_id":1}`) // 403: no XSRF header

	h := b.rec.HAR()
	require.Equal(t, har.Creator{Name: "Firefox", Version: har.FirefoxVersion}, h.Log.Creator)
	require.Equal(t, &har.Creator{Name: "Firefox", Version: har.FirefoxVersion}, h.Log.Browser)
	require.Len(t, h.Log.Pages, 1)
	require.Equal(t, "page_1", h.Log.Pages[0].ID)
	require.Equal(t, b.srv.URL()+sitesim.CartPathDashboard, h.Log.Pages[0].Title) // the last document
	for _, e := range h.Log.Entries {
		require.Equal(t, "page_1", e.Pageref)
		require.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+09:00$`, e.StartedDateTime)
		require.Equal(t, "insecure", e.SecurityState)
		require.Empty(t, e.ResourceType)
		require.Equal(t, json.RawMessage(`{}`), e.Cache)
		require.Equal(t, e.Time, float64(int64(e.Time)), "whole ms")
		for _, hd := range e.Response.Headers {
			require.Equal(t, strings.ToLower(hd.Name), hd.Name)
		}
		require.Equal(t, "HTTP/1.1", e.Request.HTTPVersion)
	}

	login := entry(t, h, http.MethodPost, sitesim.CartPathLogin)
	require.Equal(t, har.FirefoxNoBodyComment, login.Response.Content.Comment)
	require.Equal(t, "/dashboard", login.Response.RedirectURL)
	require.Equal(t, login.Response.HeadersSize, login.Response.BodySize, "Firefox's bodySize is the transferred size")
	require.Contains(t, login.Request.PostData.Params, har.Param{Name: "login", Value: "Log in"}) // decoded
	require.Len(t, login.Response.Cookies, 2)
	for _, c := range login.Response.Cookies {
		require.Equal(t, har.Cookie{Name: c.Name, Value: c.Value}, c, "Firefox keeps only name and value")
	}
	require.Equal(t, portOf(t, b.srv.URL()), login.Connection, "Firefox's connection is the server's port")

	dash := entry(t, h, http.MethodGet, sitesim.CartPathDashboard)
	require.Equal(t, "text/html; charset=utf-8", dash.Response.Content.MimeType)
	require.Contains(t, dash.Response.Content.Text, "Welcome, user002.")

	add := entry(t, h, http.MethodPost, sitesim.CartPathItems)
	require.Equal(t, http.StatusForbidden, add.Response.Status)
	require.Equal(t, []har.Param{}, add.Request.PostData.Params)
	var buf bytes.Buffer
	require.NoError(t, har.Write(&buf, h))
	require.Contains(t, buf.String(), `"params": []`, "written as [], as Firefox writes it")
}

func portOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u.Port()
}

func TestRecorderEUCKR(t *testing.T) {
	t.Parallel()
	for _, style := range []har.Style{har.StyleChromium, har.StyleFirefox} {
		t.Run(string(style), func(t *testing.T) {
			t.Parallel()
			b := setup(t, style, sitesim.Options{Charset: sitesim.CharsetEUCKR})
			name := euckr(t, "홍길동")
			page, answer := b.bookEgov(t, name)
			h := b.rec.HAR()

			// The caller got the page unchanged: EUC-KR bytes.
			_, err := korean.EUCKR.NewDecoder().Bytes(page)
			require.NoError(t, err)
			require.NotContains(t, string(page), "시설 예약 신청")

			got := entry(t, h, http.MethodGet, sitesim.PathForm).Response.Content
			text, err := got.Decoded()
			require.NoError(t, err)
			require.Contains(t, text, "시설 예약 신청")
			switch style {
			case har.StyleChromium:
				require.Equal(t, "base64", got.Encoding)
				require.Equal(t, "text/html", got.MimeType) // the charset is in the page's <meta> only
				raw, err := got.Bytes()
				require.NoError(t, err)
				require.Equal(t, page, raw)
			case har.StyleFirefox:
				require.Empty(t, got.Encoding, "Firefox keeps text decoded")
				require.Equal(t, "text/html; charset=EUC-KR", got.MimeType)
			}

			apply := entry(t, h, http.MethodPost, sitesim.PathApply)
			require.Contains(t, apply.Request.PostData.Text, "userName=%C8%AB%B1%E6%B5%BF")
			fields, ok := apply.Request.PostData.Form()
			require.True(t, ok)
			require.Contains(t, fields, har.NameValue{Name: "userName", Value: string(name)}, "the EUC-KR bytes as posted")
			require.Contains(t, apply.Request.PostData.Params, har.Param{Name: "userName", Value: "%C8%AB%B1%E6%B5%BF"},
				"raw in both: Firefox's decodeURIComponent fails on EUC-KR and keeps it")

			answerText, err := entry(t, h, http.MethodPost, sitesim.PathApply).Response.Content.Decoded()
			require.NoError(t, err)
			require.Contains(t, answerText, sitesim.MsgSuccess)
			require.NotContains(t, string(answer), sitesim.MsgSuccess) // the caller's copy is EUC-KR

			l := b.srv.Ledger()
			require.Len(t, l.Reservations, 1)
			require.Equal(t, "홍길동", l.Reservations[0].UserName)
		})
	}
}

// truncated is a transport whose answer breaks off: the one fault the
// simulator cannot give (its resets come before any answer).
type truncated struct{}

var errCut = errors.New("unexpected EOF (test)")

func (truncated) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  http.Header{"Content-Type": {"image/png"}},
		Body:    io.NopCloser(io.MultiReader(bytes.NewReader([]byte{0x89, 'P', 'N', 'G', 0xff}), errReader{})),
		Request: req,
	}, nil
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errCut }

func TestRecorderHandsBodiesBack(t *testing.T) {
	t.Parallel()
	rec, err := har.NewRecorder(har.RecorderConfig{Style: har.StyleChromium, Transport: truncated{}})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodGet, "http://127.0.0.1:1/x.png", nil)
	require.NoError(t, err)
	resp, err := rec.RoundTrip(req)
	require.NoError(t, err)
	require.Same(t, req, resp.Request)
	got, err := io.ReadAll(resp.Body)
	require.ErrorIs(t, err, errCut, "the read error reaches the caller")
	require.Equal(t, []byte{0x89, 'P', 'N', 'G', 0xff}, got)

	c := rec.HAR().Log.Entries[0].Response.Content
	require.Equal(t, "base64", c.Encoding)
	require.Equal(t, base64.StdEncoding.EncodeToString(got), c.Text)
	require.Equal(t, "image/png", c.MimeType)
}

func TestRecorderFailedExchange(t *testing.T) {
	t.Parallel()
	b := setup(t, har.StyleChromium, sitesim.Options{ResetRate: 1, ResetApplied: sitesim.ResetAppliedNever})
	b.send(t, http.MethodPost, sitesim.PathLoginProc, form, "userId=user001&userPw=pass1234")
	req, err := http.NewRequest(http.MethodPost, b.srv.URL()+sitesim.PathApply, strings.NewReader("facilityNo=1"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", form)
	_, err = b.client.Do(req)
	require.Error(t, err)

	e := entry(t, b.rec.HAR(), http.MethodPost, sitesim.PathApply)
	require.Equal(t, 0, e.Response.Status, "listed as a failed request")
	require.Equal(t, "facilityNo=1", e.Request.PostData.Text)
}

func TestRecorderConcurrent(t *testing.T) {
	t.Parallel()
	for _, style := range []har.Style{har.StyleChromium, har.StyleFirefox} {
		t.Run(string(style), func(t *testing.T) {
			t.Parallel()
			b := setup(t, style, sitesim.Options{})
			const n = 40
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					path := sitesim.PathLogin
					if i%2 == 1 {
						path = sitesim.PathMain + "?n=" + strconv.Itoa(i)
					}
					resp, err := b.client.Get(b.srv.URL() + path)
					if err != nil {
						errs[i] = err
						return
					}
					body, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err == nil && !bytes.Contains(body, []byte(`name="loginForm"`)) {
						err = errors.New("not the login page: " + string(body))
					}
					errs[i] = err
					_ = b.rec.HAR() // while others record
				}()
			}
			wg.Wait()
			require.NoError(t, errors.Join(errs...))
			h := b.rec.HAR()
			// The odd ones are redirected to the login page, which the
			// client follows: n/2 more exchanges.
			require.Len(t, h.Log.Entries, n+n/2)
			for i := 1; i < len(h.Log.Entries); i++ {
				require.LessOrEqual(t, h.Log.Entries[i-1].StartedDateTime, h.Log.Entries[i].StartedDateTime, "in the order they started")
			}
		})
	}
}

func TestRecorderResourceTypes(t *testing.T) {
	t.Parallel()
	b := setup(t, har.StyleChromium, sitesim.Options{})
	tests := []struct {
		name    string
		method  string
		header  http.Header
		label   string
		want    string
		wantPri string
	}{
		{"navigation", http.MethodGet, http.Header{"Sec-Fetch-Dest": {"document"}}, "", "document", "VeryHigh"},
		{"stylesheet", http.MethodGet, http.Header{"Sec-Fetch-Dest": {"style"}}, "", "stylesheet", "VeryHigh"},
		{"image", http.MethodGet, http.Header{"Sec-Fetch-Dest": {"image"}}, "", "image", "Low"},
		{"XMLHttpRequest", http.MethodGet, http.Header{"Sec-Fetch-Dest": {"empty"}, "X-Requested-With": {"XMLHttpRequest"}}, "", "xhr", "High"},
		{"fetch", http.MethodGet, http.Header{"Sec-Fetch-Dest": {"empty"}}, "", "fetch", "High"},
		{"preflight", http.MethodOptions, http.Header{"Access-Control-Request-Method": {"POST"}}, "", "preflight", "High"},
		{"plain http: Accept", http.MethodGet, http.Header{"Accept": {"text/html,*/*"}}, "", "document", "VeryHigh"},
		{"nothing to go by", http.MethodGet, http.Header{}, "", "other", "Low"},
		{"labelled by the caller", http.MethodPost, http.Header{"Sec-Fetch-Dest": {"empty"}}, "ping", "ping", "VeryLow"},
	}
	for i, tt := range tests {
		ctx := t.Context()
		if tt.label != "" {
			ctx = har.WithResourceType(ctx, tt.label)
		}
		req, err := http.NewRequestWithContext(ctx, tt.method, b.srv.URL()+"/types?i="+strconv.Itoa(i), nil)
		require.NoError(t, err)
		req.Header = tt.header
		resp, err := b.client.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
	}
	h := b.rec.HAR()
	require.Len(t, h.Log.Entries, len(tests))
	for i, tt := range tests {
		e := h.Log.Entries[i]
		require.Equal(t, tt.want, e.ResourceType, tt.name)
		require.Equal(t, tt.wantPri, e.Priority, tt.name)
	}
}

func TestNewRecorderRefusesAnUnknownStyle(t *testing.T) {
	t.Parallel()
	_, err := har.NewRecorder(har.RecorderConfig{Style: "safari"})
	require.ErrorIs(t, err, har.ErrUnknownStyle)
}

func TestDecodedReadsTheMetaCharset(t *testing.T) {
	t.Parallel()
	page := append([]byte(`<html><head><meta http-equiv="Content-Type" content="text/html; charset=EUC-KR"><title>`),
		euckr(t, "예약")...)
	enc := base64.StdEncoding.EncodeToString(page)
	tests := []struct {
		name string
		c    har.Content
		want string
	}{
		{"charset in the mimeType", har.Content{MimeType: "text/html; charset=euc-kr", Text: enc, Encoding: "base64"}, "예약"},
		{"Chromium's bare mimeType: the meta", har.Content{MimeType: "text/html", Text: enc, Encoding: "base64"}, "예약"},
		{"no mimeType: the meta", har.Content{MimeType: "x-unknown", Text: enc, Encoding: "base64"}, "예약"},
		{"not HTML: as bytes", har.Content{MimeType: "application/octet-stream", Text: enc, Encoding: "base64"}, string(page)},
		{"text the browser decoded", har.Content{MimeType: "text/html", Text: "예약"}, "예약"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.c.Decoded()
			require.NoError(t, err)
			require.Contains(t, got, tt.want)
		})
	}
	require.Equal(t, "euc-kr", har.MetaCharset(page))
	require.Equal(t, "utf-8", har.MetaCharset([]byte(`<meta charset="UTF-8">`)))
	require.Empty(t, har.MetaCharset([]byte(strings.Repeat(" ", 1024)+`<meta charset="euc-kr">`)), "only the first 1024 bytes")
}
