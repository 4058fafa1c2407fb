package simbrowser

import (
	"context"
	"encoding/base64"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/korean"

	"reserver/internal/har"
)

// The made-up events below are shaped like the ones Chromium sent for the
// simulator's login (seen in TestBook's recordings).
const base = "http://127.0.0.1:8080"

// wall is 2026-12-24T01:00:00Z; mono the monotonic clock at that moment.
const (
	wall cdp.TimeSinceEpoch = 1798074000
	mono cdp.MonotonicTime  = 5000
)

func sent(id, loader, method, url string, at float64, typ network.ResourceType) *network.EventRequestWillBeSent {
	return &network.EventRequestWillBeSent{
		RequestID: network.RequestID(id), LoaderID: cdp.LoaderID(loader), FrameID: "F1", Type: typ,
		Timestamp: mono + cdp.MonotonicTime(at), WallTime: wall + cdp.TimeSinceEpoch(at),
		Request: &network.Request{URL: url, Method: method, Headers: network.Headers{"User-Agent": "test"}},
	}
}

func timing(at float64) *network.ResourceTiming {
	return &network.ResourceTiming{RequestTime: float64(mono) + at, ProxyStart: -1, ProxyEnd: -1,
		DNSStart: -1, DNSEnd: -1, ConnectStart: -1, ConnectEnd: -1, SslStart: -1, SslEnd: -1,
		SendStart: 1, SendEnd: 1.5, ReceiveHeadersEnd: 4}
}

// TestBuildRedirect: a login POST answered by a 302 and the GET it leads
// to are two entries of one request id; the extra-info events, which
// arrive out of order with the others, give each hop its headers as sent
// and received (Cookie, Set-Cookie); the form is in postData.
func TestBuildRedirect(t *testing.T) {
	t.Parallel()
	post := sent("L1", "L1", "POST", base+"/loginProc.do", 0, network.ResourceTypeDocument)
	post.Request.HasPostData = true
	post.Request.Headers["Content-Type"] = "application/x-www-form-urlencoded"
	post.Request.PostDataEntries = []*network.PostDataEntry{{Bytes: []byte("userId=user001&userPw=pass%2B1234")}}
	redirect := &network.Response{URL: base + "/loginProc.do", Status: 302, StatusText: "Found",
		Headers: network.Headers{"Location": "/main.do"}, Protocol: "http/1.1", Timing: timing(0),
		RemoteIPAddress: "127.0.0.1", ConnectionID: 42}
	get := sent("L1", "L1", "GET", base+"/main.do", 0.010, network.ResourceTypeDocument)
	get.RedirectResponse, get.RedirectHasExtraInfo = redirect, true
	final := &network.Response{URL: base + "/main.do", Status: 200, StatusText: "OK", MimeType: "text/html",
		Headers: network.Headers{"Content-Type": "text/html; charset=UTF-8"}, Protocol: "http/1.1", Timing: timing(0.010)}
	events := []any{
		&network.EventResponseReceivedExtraInfo{RequestID: "L1", StatusCode: 302,
			HeadersText: "HTTP/1.1 302 Found\r\nLocation: /main.do\r\nSet-Cookie: JSESSIONID=ABC; Path=/; HttpOnly\r\nContent-Length: 0\r\n\r\n"},
		post,
		&network.EventRequestWillBeSentExtraInfo{RequestID: "L1", Headers: network.Headers{"Content-Type": "application/x-www-form-urlencoded", "Origin": base}},
		get,
		&network.EventRequestWillBeSentExtraInfo{RequestID: "L1", Headers: network.Headers{"Cookie": "JSESSIONID=ABC", "Referer": base + "/login.do"},
			AssociatedCookies: []*network.AssociatedCookie{{Cookie: &network.Cookie{Name: "JSESSIONID", Value: "ABC", Path: "/", Domain: "127.0.0.1", HTTPOnly: true, Session: true}}}},
		&network.EventResponseReceived{RequestID: "L1", Type: network.ResourceTypeDocument, Response: final, HasExtraInfo: true, Timestamp: mono + 0.014},
		&network.EventResponseReceivedExtraInfo{RequestID: "L1", StatusCode: 200,
			HeadersText: "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Length: 9\r\n\r\n"},
		&network.EventLoadingFinished{RequestID: "L1", Timestamp: mono + 0.016, EncodedDataLength: 78 + 13},
		&page.EventDomContentEventFired{Timestamp: mono + 0.020},
		&page.EventLoadEventFired{Timestamp: mono + 0.030},
	}
	h := build(events, map[network.RequestID]body{"L1": {data: []byte("<p>메인</p>")}}, nil)

	require.Equal(t, "1.2", h.Log.Version)
	require.Equal(t, Creator, h.Log.Creator)
	require.Len(t, h.Log.Pages, 1)
	require.Equal(t, har.Page{StartedDateTime: "2026-12-24T01:00:00.000Z", ID: "page_1", Title: base + "/main.do",
		PageTimings: []byte(`{"onContentLoad":20,"onLoad":30}`)}, h.Log.Pages[0])
	require.Len(t, h.Log.Entries, 2, "the redirect is an entry of its own")

	login := h.Log.Entries[0]
	require.Equal(t, "page_1", login.Pageref)
	require.Equal(t, "document", login.ResourceType)
	require.Equal(t, "2026-12-24T01:00:00.000Z", login.StartedDateTime)
	require.Equal(t, []har.NameValue{{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}, {Name: "Origin", Value: base}},
		login.Request.Headers, "the headers as sent")
	require.Equal(t, &har.PostData{MimeType: "application/x-www-form-urlencoded", Text: "userId=user001&userPw=pass%2B1234",
		Params: []har.Param{{Name: "userId", Value: "user001"}, {Name: "userPw", Value: "pass%2B1234"}}}, login.Request.PostData)
	require.EqualValues(t, 33, login.Request.BodySize)
	require.Equal(t, 302, login.Response.Status)
	require.Equal(t, "HTTP/1.1", login.Response.HTTPVersion)
	require.Equal(t, "HTTP/1.1", login.Request.HTTPVersion)
	require.Equal(t, "/main.do", login.Response.RedirectURL)
	require.Equal(t, []har.Cookie{{Name: "JSESSIONID", Value: "ABC", Path: "/", HTTPOnly: true}}, login.Response.Cookies)
	require.Equal(t, "Set-Cookie", login.Response.Headers[1].Name, "in wire order")
	require.Equal(t, har.Content{MimeType: "x-unknown"}, login.Response.Content)
	require.Equal(t, "127.0.0.1", login.ServerIPAddress)
	require.Equal(t, "42", login.Connection)
	require.Equal(t, har.Timings{Blocked: 1, DNS: -1, Connect: -1, SSL: -1, Send: 0.5, Wait: 2.5, Receive: 6}, login.Timings)
	require.InDelta(t, 10, login.Time, 0.001)

	main := h.Log.Entries[1]
	require.Equal(t, "2026-12-24T01:00:00.010Z", main.StartedDateTime)
	require.Equal(t, "page_1", main.Pageref)
	require.Equal(t, []har.Cookie{{Name: "JSESSIONID", Value: "ABC", Path: "/", Domain: "127.0.0.1", HTTPOnly: true}}, main.Request.Cookies)
	require.Equal(t, "JSESSIONID=ABC", har.Header(main.Request.Headers, "cookie"))
	require.Nil(t, main.Request.PostData)
	require.Equal(t, har.Content{Size: 13, MimeType: "text/html; charset=UTF-8", Text: "<p>메인</p>"}, main.Response.Content)
	require.EqualValues(t, 78, main.Response.HeadersSize)
	require.EqualValues(t, 13, main.Response.BodySize, "received bytes less the headers")
	require.Equal(t, har.Timings{Blocked: 1, DNS: -1, Connect: -1, SSL: -1, Send: 0.5, Wait: 2.5, Receive: 2}, main.Timings)
}

// TestBuildContent: UTF-8 text stays text; a page in a legacy charset is
// base64 of the server's bytes, whether Chromium gave them raw or as
// decoded text; anything not text is base64.
func TestBuildContent(t *testing.T) {
	t.Parallel()
	euckr, err := korean.EUCKR.NewEncoder().String("예약이 완료되었습니다")
	require.NoError(t, err)
	png := []byte("\x89PNG\r\n\x1a\n")
	tests := []struct {
		name, contentType string
		got               body
		want              har.Content
	}{
		{"utf-8 text", "text/html; charset=utf-8", body{data: []byte("완료")},
			har.Content{Size: 6, MimeType: "text/html; charset=utf-8", Text: "완료"}},
		{"json without charset", "application/json", body{data: []byte(`{"ok":true}`)},
			har.Content{Size: 11, MimeType: "application/json", Text: `{"ok":true}`}},
		{"euc-kr as raw bytes", "text/html; charset=EUC-KR", body{data: []byte(euckr), base64: true},
			har.Content{Size: int64(len(euckr)), MimeType: "text/html; charset=EUC-KR", Encoding: "base64", Text: base64.StdEncoding.EncodeToString([]byte(euckr))}},
		{"euc-kr as decoded text", "text/html; charset=EUC-KR", body{data: []byte("예약이 완료되었습니다")},
			har.Content{Size: int64(len(euckr)), MimeType: "text/html; charset=EUC-KR", Encoding: "base64", Text: base64.StdEncoding.EncodeToString([]byte(euckr))}},
		{"image", "image/png", body{data: png, base64: true},
			har.Content{Size: int64(len(png)), MimeType: "image/png", Encoding: "base64", Text: base64.StdEncoding.EncodeToString(png)}},
		{"not valid utf-8", "text/plain; charset=utf-8", body{data: []byte("\xff\xfe"), base64: true},
			har.Content{Size: 2, MimeType: "text/plain; charset=utf-8", Encoding: "base64", Text: "//4="}},
		{"body not kept", "text/html; charset=utf-8", body{err: context.Canceled},
			har.Content{MimeType: "text/html; charset=utf-8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			events := []any{
				sent("R1", "L1", "GET", base+"/page", 0, network.ResourceTypeDocument),
				&network.EventResponseReceived{RequestID: "R1", Type: network.ResourceTypeDocument, Timestamp: mono + 0.002,
					Response: &network.Response{Status: 200, Headers: network.Headers{"Content-Type": tt.contentType}}},
				&network.EventLoadingFinished{RequestID: "R1", Timestamp: mono + 0.003},
			}
			h := build(events, map[network.RequestID]body{"R1": tt.got}, nil)
			require.Len(t, h.Log.Entries, 1)
			c := h.Log.Entries[0].Response.Content
			require.Equal(t, tt.want, c)
			if tt.want.Encoding == "base64" && tt.contentType != "image/png" && tt.got.err == nil {
				text, err := c.Decoded()
				require.NoError(t, err)
				if tt.name != "not valid utf-8" {
					require.Contains(t, text, "예약이 완료되었습니다")
				}
			}
		})
	}
}

// TestBuildSkips: what never went over the network (a data: URL) and what
// has not finished are left out; a request that failed before an answer is
// an entry with status 0; a posted body Chromium left out of the event
// comes from Network.getRequestPostData; the query string stays raw.
func TestBuildSkips(t *testing.T) {
	t.Parallel()
	fetch := sent("F1", "L1", "POST", base+"/api/cart/items?x=%C8%AB&y=1", 0, network.ResourceTypeFetch)
	fetch.Request.HasPostData = true
	fetch.Request.Headers["Content-Type"] = "application/json"
	events := []any{
		sent("D1", "L1", "GET", "data:image/svg+xml;base64,PHN2Zy8+", 0, network.ResourceTypeImage),
		&network.EventResponseReceived{RequestID: "D1", Response: &network.Response{Status: 200}},
		&network.EventLoadingFinished{RequestID: "D1"},
		sent("P1", "L1", "GET", base+"/pending", 0, network.ResourceTypeXHR),
		sent("X1", "L1", "GET", base+"/gone", 0, network.ResourceTypeXHR),
		&network.EventLoadingFailed{RequestID: "X1", Timestamp: mono + 0.005, ErrorText: "net::ERR_ABORTED", Canceled: true},
		fetch,
		&network.EventResponseReceived{RequestID: "F1", Type: network.ResourceTypeFetch,
			Response: &network.Response{Status: 201, Headers: network.Headers{"Content-Type": "application/json"}}},
		&network.EventLoadingFinished{RequestID: "F1"},
	}
	h := build(events, map[network.RequestID]body{"F1": {data: []byte(`{"ok":true}`)}},
		map[network.RequestID][]byte{"F1": []byte(`{"resource_id":3}`)})
	require.Len(t, h.Log.Entries, 2)
	gone := h.Log.Entries[0]
	require.Equal(t, base+"/gone", gone.Request.URL)
	require.Equal(t, 0, gone.Response.Status)
	require.Equal(t, "xhr", gone.ResourceType)
	require.Empty(t, gone.Pageref, "no page was loaded")
	require.InDelta(t, 5, gone.Time, 0.001)
	add := h.Log.Entries[1]
	require.Equal(t, "fetch", add.ResourceType)
	require.Equal(t, []har.NameValue{{Name: "x", Value: "%C8%AB"}, {Name: "y", Value: "1"}}, add.Request.QueryString)
	require.Equal(t, &har.PostData{MimeType: "application/json", Text: `{"resource_id":3}`}, add.Request.PostData)
	require.Equal(t, `{"ok":true}`, add.Response.Content.Text)
	require.Equal(t, "Created", add.Response.StatusText)
}

// TestRecorderWait: Wait returns once every request seen has finished or
// failed and its body job is done, and not before.
func TestRecorderWait(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	r := &Recorder{ctx: ctx, cancel: cancel, done: make(chan struct{}), open: map[network.RequestID]bool{},
		bodies: map[network.RequestID]body{}, posts: map[network.RequestID][]byte{},
		wake: make(chan struct{}, 1), changed: make(chan struct{})}
	go r.work() // not a chromedp context: every fetch fails at once
	defer r.Stop()

	require.NoError(t, r.Wait(ctx), "nothing seen: quiet")
	r.on(sent("R1", "L1", "GET", base+"/a", 0, network.ResourceTypeDocument))
	r.on(sent("R2", "L1", "GET", base+"/b", 0, network.ResourceTypeFetch))
	r.on(&network.EventLoadingFinished{RequestID: "R1"})
	short, cancelShort := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancelShort()
	require.ErrorIs(t, r.Wait(short), context.DeadlineExceeded, "R2 is still open")

	waited := make(chan error, 1)
	go func() { waited <- r.Wait(ctx) }()
	r.on(&network.EventLoadingFailed{RequestID: "R2"})
	require.NoError(t, <-waited)
	h := r.Build()
	require.Len(t, h.Log.Entries, 1, "R1 has no response: only the failed R2 is an entry")
	r.mu.Lock()
	require.Contains(t, r.bodies, network.RequestID("R1"), "the body job ran")
	r.mu.Unlock()

	r.on(&network.EventDataReceived{RequestID: "R3"}) // not recorded
	require.Len(t, r.Build().Log.Entries, 1)
	r.Stop()
	r.Stop() // twice is fine
}
