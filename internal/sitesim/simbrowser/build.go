package simbrowser

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"maps"
	"math"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"golang.org/x/text/encoding/htmlindex"

	"reserver/internal/har"
)

// hop is one exchange of a request: Chromium keeps one request id across
// a redirect chain, and the HAR has one entry per hop, as browsers export
// it.
type hop struct {
	sent      *network.EventRequestWillBeSent
	resp      *network.Response // the final or the redirect response; nil if none came
	respAt    cdp.MonotonicTime
	redirect  bool
	typ       network.ResourceType
	extra     bool // Chromium announced the extra-info events for this hop
	reqExtra  *network.EventRequestWillBeSentExtraInfo
	respExtra *network.EventResponseReceivedExtraInfo
	finished  *network.EventLoadingFinished
	failed    *network.EventLoadingFailed
	end       cdp.MonotonicTime
	page      int // index into the pages, -1 before the first
}

type pageRec struct {
	id           network.RequestID
	start        cdp.MonotonicTime
	wall         cdp.TimeSinceEpoch
	contentLoad  float64 // ms after start, -1 if not seen
	load         float64
	contentFired bool
	loadFired    bool
}

// build turns recorded events into a HAR. It is pure, so it is tested
// with made-up events.
func build(events []any, bodies map[network.RequestID]body, posts map[network.RequestID][]byte) *har.HAR {
	var (
		hops       []*hop
		last       = map[network.RequestID]*hop{}
		byID       = map[network.RequestID][]*hop{}
		reqExtras  = map[network.RequestID][]*network.EventRequestWillBeSentExtraInfo{}
		respExtras = map[network.RequestID][]*network.EventResponseReceivedExtraInfo{}
		pages      []*pageRec
		mainFrame  cdp.FrameID
	)
	for _, ev := range events {
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			if prev := last[e.RequestID]; prev != nil && e.RedirectResponse != nil {
				prev.resp, prev.respAt, prev.redirect = e.RedirectResponse, e.Timestamp, true
				prev.extra, prev.end = e.RedirectHasExtraInfo, e.Timestamp
			}
			if e.Type == network.ResourceTypeDocument && e.RedirectResponse == nil &&
				string(e.RequestID) == string(e.LoaderID) && (mainFrame == "" || e.FrameID == mainFrame) {
				mainFrame = e.FrameID
				pages = append(pages, &pageRec{id: e.RequestID, start: e.Timestamp, wall: e.WallTime, contentLoad: -1, load: -1})
			}
			h := &hop{sent: e, typ: e.Type, page: len(pages) - 1}
			hops = append(hops, h)
			last[e.RequestID] = h
			byID[e.RequestID] = append(byID[e.RequestID], h)
		case *network.EventResponseReceived:
			if h := last[e.RequestID]; h != nil {
				h.resp, h.respAt, h.typ, h.extra = e.Response, e.Timestamp, e.Type, e.HasExtraInfo
			}
		case *network.EventLoadingFinished:
			if h := last[e.RequestID]; h != nil {
				h.finished, h.end = e, e.Timestamp
			}
		case *network.EventLoadingFailed:
			if h := last[e.RequestID]; h != nil {
				h.failed, h.end = e, e.Timestamp
			}
		case *network.EventRequestWillBeSentExtraInfo:
			reqExtras[e.RequestID] = append(reqExtras[e.RequestID], e)
		case *network.EventResponseReceivedExtraInfo:
			respExtras[e.RequestID] = append(respExtras[e.RequestID], e)
		case *page.EventDomContentEventFired:
			if p := lastPage(pages); p != nil && !p.contentFired {
				p.contentLoad, p.contentFired = ms(float64(e.Timestamp-p.start)), true
			}
		case *page.EventLoadEventFired:
			if p := lastPage(pages); p != nil && !p.loadFired {
				p.load, p.loadFired = ms(float64(e.Timestamp-p.start)), true
			}
		}
	}
	// Chromium sends the extra-info events of a request id once per hop
	// that has them, in hop order, but not in order with the other events:
	// the nth belongs to the nth such hop.
	for id, hs := range byID {
		var with []*hop
		for _, h := range hs {
			if h.extra || h.resp == nil {
				with = append(with, h)
			}
		}
		for i, x := range reqExtras[id] {
			if i < len(with) {
				with[i].reqExtra = x
			}
		}
		for i, x := range respExtras[id] {
			if i < len(with) {
				with[i].respExtra = x
			}
		}
	}

	out := &har.HAR{Log: har.Log{Version: "1.2", Creator: Creator, Entries: []har.Entry{}}}
	for i, p := range pages {
		title := ""
		if hs := byID[p.id]; len(hs) > 0 {
			title = hs[len(hs)-1].sent.Request.URL
		}
		out.Log.Pages = append(out.Log.Pages, har.Page{
			StartedDateTime: wallTime(p.wall),
			ID:              pageID(i),
			Title:           title,
			PageTimings:     []byte(fmt.Sprintf(`{"onContentLoad":%s,"onLoad":%s}`, num(p.contentLoad), num(p.load))),
		})
	}
	for _, h := range hops {
		if h.resp == nil && h.failed == nil {
			continue // still under way
		}
		if u, err := url.Parse(h.sent.Request.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			continue // data: and blob: URLs (the date picker's icon) never went over the network
		}
		out.Log.Entries = append(out.Log.Entries, entry(h, bodies, posts))
	}
	return out
}

func lastPage(pages []*pageRec) *pageRec {
	if len(pages) == 0 {
		return nil
	}
	return pages[len(pages)-1]
}

func pageID(i int) string { return "page_" + strconv.Itoa(i+1) }

func entry(h *hop, bodies map[network.RequestID]body, posts map[network.RequestID][]byte) har.Entry {
	e := har.Entry{
		StartedDateTime: wallTime(h.sent.WallTime),
		Cache:           []byte("{}"),
		ResourceType:    strings.ToLower(string(h.typ)),
	}
	if h.page >= 0 {
		e.Pageref = pageID(h.page)
	}
	e.Request = request(h, posts)
	if h.resp != nil {
		e.Response = response(h, bodies)
		e.Request.HTTPVersion = e.Response.HTTPVersion
		e.ServerIPAddress = strings.Trim(h.resp.RemoteIPAddress, "[]")
		if h.resp.ConnectionID > 0 {
			e.Connection = strconv.FormatFloat(h.resp.ConnectionID, 'f', -1, 64)
		}
	} else {
		// Failed before any answer: status 0, as browsers export it.
		e.Response = har.Response{Cookies: []har.Cookie{}, Headers: []har.NameValue{},
			Content: har.Content{MimeType: "x-unknown"}, HeadersSize: -1, BodySize: -1}
	}
	e.Timings, e.Time = timings(h)
	return e
}

func request(h *hop, posts map[network.RequestID][]byte) har.Request {
	r := h.sent.Request
	hdrs := r.Headers
	if h.reqExtra != nil {
		hdrs = h.reqExtra.Headers // as sent, with Cookie
	}
	out := har.Request{
		Method:      r.Method,
		URL:         r.URL + r.URLFragment,
		Headers:     headerList(hdrs),
		Cookies:     []har.Cookie{},
		QueryString: queryString(r.URL),
		HeadersSize: -1,
	}
	out.Cookies = requestCookies(har.Header(out.Headers, "Cookie"), h.reqExtra)
	var data []byte
	for _, pe := range r.PostDataEntries {
		data = append(data, pe.Bytes...)
	}
	if data == nil && r.HasPostData {
		data = posts[h.sent.RequestID]
	}
	if data != nil || r.HasPostData {
		pd := &har.PostData{MimeType: har.Header(out.Headers, "Content-Type"), Text: string(data)}
		if mt, _, _ := mime.ParseMediaType(pd.MimeType); mt == "application/x-www-form-urlencoded" {
			for _, kv := range splitQuery(string(data)) {
				pd.Params = append(pd.Params, har.Param{Name: kv.Name, Value: kv.Value})
			}
		}
		out.PostData = pd
		out.BodySize = int64(len(data))
	}
	return out
}

func response(h *hop, bodies map[network.RequestID]body) har.Response {
	rs := h.resp
	out := har.Response{
		Status:      int(rs.Status),
		StatusText:  rs.StatusText,
		HTTPVersion: httpVersion(rs.Protocol),
		HeadersSize: -1,
		BodySize:    -1,
	}
	switch {
	case h.respExtra != nil && h.respExtra.HeadersText != "":
		// The headers as they came over the wire, in their order.
		var status string
		status, out.Headers = parseHeadersText(h.respExtra.HeadersText)
		if v, _, ok := strings.Cut(status, " "); ok && strings.HasPrefix(v, "HTTP/") {
			out.HTTPVersion = v
		}
		out.HeadersSize = int64(len(h.respExtra.HeadersText))
	case h.respExtra != nil:
		out.Headers = headerList(h.respExtra.Headers)
	default:
		out.Headers = headerList(rs.Headers)
	}
	if out.StatusText == "" {
		out.StatusText = http.StatusText(out.Status)
	}
	out.Cookies = responseCookies(out.Headers)
	out.RedirectURL = har.Header(out.Headers, "Location")
	out.Content = content(h, out.Headers, bodies)
	switch f := h.finished; {
	case f == nil:
	case f.EncodedBodyLength > 0:
		out.BodySize = int64(f.EncodedBodyLength)
	case out.HeadersSize >= 0:
		out.BodySize = max(0, int64(f.EncodedDataLength)-out.HeadersSize)
	}
	return out
}

// content is the response body: text when it is UTF-8 text, else the bytes
// as they came in base64, so a page in a legacy charset keeps its bytes.
// Its mimeType is the Content-Type as received, charset included (Chromium
// writes the bare media type and loses it).
func content(h *hop, hdrs []har.NameValue, bodies map[network.RequestID]body) har.Content {
	mt := har.Header(hdrs, "Content-Type")
	if mt == "" {
		mt = h.resp.MimeType
		if mt != "" && h.resp.Charset != "" {
			mt += "; charset=" + h.resp.Charset
		}
	}
	c := har.Content{MimeType: cmp.Or(mt, "x-unknown")}
	if h.redirect || h.finished == nil {
		return c
	}
	b, ok := bodies[h.sent.RequestID]
	if !ok || b.err != nil {
		return c // the size of what was not kept is not known either
	}
	raw := b.data
	charset := har.Charset(mt)
	utf8Charset := charset == "" || charset == "utf-8" || charset == "utf8"
	if !b.base64 && !utf8Charset {
		// Chromium hands a text body over decoded from its charset:
		// encode it back to get the bytes the server sent.
		if enc, err := htmlindex.Get(charset); err == nil {
			if back, err := enc.NewEncoder().Bytes(raw); err == nil {
				raw = back
			}
		}
	}
	c.Size = int64(len(raw))
	if textual(mt) && utf8Charset && utf8.Valid(raw) {
		c.Text = string(raw)
		return c
	}
	c.Text, c.Encoding = base64.StdEncoding.EncodeToString(raw), "base64"
	return c
}

// textual reports whether a media type is text a HAR may carry as is.
func textual(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"), strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return true
	}
	switch mt {
	case "application/json", "application/javascript", "application/xml", "application/x-www-form-urlencoded":
		return true
	}
	return false
}

// timings splits the exchange as Chromium's HAR export does, from the
// resource timing of the response (ms; -1 for a phase that did not
// happen). time is their sum.
func timings(h *hop) (har.Timings, float64) {
	issue := float64(h.sent.Timestamp)
	end := float64(h.end)
	var t *network.ResourceTiming
	if h.resp != nil {
		t = h.resp.Timing
	}
	if t == nil {
		wait := 0.0
		if h.respAt > 0 {
			wait = ms(math.Max(0, float64(h.respAt)-issue))
		}
		receive := 0.0
		if end > 0 && h.respAt > 0 {
			receive = ms(math.Max(0, end-float64(h.respAt)))
		}
		if h.resp == nil && end > 0 {
			wait = ms(math.Max(0, end-issue))
		}
		tm := har.Timings{Blocked: -1, DNS: -1, Connect: -1, SSL: -1, Wait: wait, Receive: receive}
		return tm, round3(wait + receive)
	}
	phase := func(start, end float64) float64 {
		if start < 0 || end < 0 {
			return -1
		}
		return round3(end - start)
	}
	first := t.SendStart
	for _, v := range []float64{t.ConnectStart, t.DNSStart} {
		if v >= 0 {
			first = v
		}
	}
	tm := har.Timings{
		Blocked: round3(math.Max(0, ms(t.RequestTime-issue)) + math.Max(0, first)),
		DNS:     phase(t.DNSStart, t.DNSEnd),
		Connect: phase(t.ConnectStart, t.ConnectEnd),
		SSL:     phase(t.SslStart, t.SslEnd),
		Send:    round3(math.Max(0, t.SendEnd-t.SendStart)),
		Wait:    round3(math.Max(0, t.ReceiveHeadersEnd-t.SendEnd)),
	}
	if end > 0 {
		tm.Receive = round3(math.Max(0, ms(end-t.RequestTime)-t.ReceiveHeadersEnd))
	}
	total := tm.Blocked + math.Max(0, tm.DNS) + math.Max(0, tm.Connect) + tm.Send + tm.Wait + tm.Receive
	return tm, round3(total)
}

func ms(seconds float64) float64 { return round3(seconds * 1000) }

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func wallTime(t cdp.TimeSinceEpoch) string {
	// Rounded to the microsecond: the float's last bits are noise.
	return time.UnixMicro(int64(math.Round(float64(t) * 1e6))).UTC().Format("2006-01-02T15:04:05.000Z")
}

func httpVersion(protocol string) string {
	if strings.HasPrefix(protocol, "http/") {
		return strings.ToUpper(protocol)
	}
	return protocol
}

// headerList flattens a CDP header map, sorted by name since the map lost
// the wire order; a value holding several lines (repeated headers, such as
// Set-Cookie) becomes one header per line.
func headerList(h network.Headers) []har.NameValue {
	out := []har.NameValue{}
	for _, name := range slices.Sorted(maps.Keys(h)) {
		v, ok := h[name].(string)
		if !ok {
			v = fmt.Sprint(h[name])
		}
		for line := range strings.SplitSeq(v, "\n") {
			out = append(out, har.NameValue{Name: name, Value: line})
		}
	}
	return out
}

// parseHeadersText reads a raw HTTP/1.x header block: the status line and
// the headers in their order.
func parseHeadersText(text string) (status string, hdrs []har.NameValue) {
	hdrs = []har.NameValue{}
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	status = lines[0]
	for _, l := range lines[1:] {
		if l == "" {
			break
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		hdrs = append(hdrs, har.NameValue{Name: name, Value: strings.TrimSpace(value)})
	}
	return status, hdrs
}

// queryString lists a URL's query parameters in order, raw (still
// percent-encoded) as Chromium's export lists them: a legacy charset's
// bytes stay what they were.
func queryString(raw string) []har.NameValue {
	u, err := url.Parse(raw)
	if err != nil || u.RawQuery == "" {
		return []har.NameValue{}
	}
	return splitQuery(u.RawQuery)
}

func splitQuery(q string) []har.NameValue {
	out := []har.NameValue{}
	for kv := range strings.SplitSeq(q, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		out = append(out, har.NameValue{Name: k, Value: v})
	}
	return out
}

// requestCookies reads the Cookie header and adds what the browser knew
// of each cookie it sent (path, domain, flags).
func requestCookies(header string, extra *network.EventRequestWillBeSentExtraInfo) []har.Cookie {
	out := []har.Cookie{}
	if header == "" {
		return out
	}
	cs, err := http.ParseCookie(header)
	if err != nil {
		return out
	}
	for _, c := range cs {
		hc := har.Cookie{Name: c.Name, Value: c.Value}
		if extra != nil {
			for _, ac := range extra.AssociatedCookies {
				if ac.Cookie == nil || len(ac.BlockedReasons) > 0 || ac.Cookie.Name != c.Name || ac.Cookie.Value != c.Value {
					continue
				}
				hc.Path, hc.Domain, hc.HTTPOnly, hc.Secure = ac.Cookie.Path, ac.Cookie.Domain, ac.Cookie.HTTPOnly, ac.Cookie.Secure
				if !ac.Cookie.Session && ac.Cookie.Expires > 0 {
					hc.Expires = wallTime(cdp.TimeSinceEpoch(ac.Cookie.Expires))
				}
				break
			}
		}
		out = append(out, hc)
	}
	return out
}

// responseCookies reads every Set-Cookie header.
func responseCookies(hdrs []har.NameValue) []har.Cookie {
	out := []har.Cookie{}
	for _, h := range hdrs {
		if !strings.EqualFold(h.Name, "Set-Cookie") {
			continue
		}
		c, err := http.ParseSetCookie(h.Value)
		if err != nil {
			continue
		}
		hc := har.Cookie{Name: c.Name, Value: c.Value, Path: c.Path, Domain: c.Domain, HTTPOnly: c.HttpOnly, Secure: c.Secure}
		if !c.Expires.IsZero() {
			hc.Expires = c.Expires.UTC().Format("2006-01-02T15:04:05.000Z")
		}
		out = append(out, hc)
	}
	return out
}
