package sitesim

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
)

// InProcess is an http.RoundTripper that serves requests with a handler in
// the same process: a whole booking window against the simulator can then
// run inside a testing/synctest bubble, where a real socket would keep the
// bubble from ever idling. It reports the httptrace events net/http's
// transport would (so a session times and classifies exchanges as on a real
// connection), honours the request's context, and turns the handler's
// http.ErrAbortHandler (the simulator's connection reset) into a reset.
type InProcess struct {
	Handler http.Handler
	// RemoteAddr is the client address the handler sees; default
	// 127.0.0.1:40000.
	RemoteAddr string
	// Lose, when it returns true for a request, applies the request and
	// then loses the answer, as a connection reset after sending would.
	Lose func(*http.Request) bool
}

// errReset is what a lost answer looks like to the client.
var errReset = errors.New("read: connection reset by peer (in-process)")

// RoundTrip implements http.RoundTripper.
func (t *InProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	trace := httptrace.ContextClientTrace(req.Context())
	if trace != nil && trace.GotConn != nil {
		trace.GotConn(httptrace.GotConnInfo{Reused: true})
	}
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	in := httptest.NewRequestWithContext(req.Context(), req.Method, req.URL.String(), bytes.NewReader(body))
	in.Header = req.Header.Clone()
	in.RemoteAddr = t.RemoteAddr
	if in.RemoteAddr == "" {
		in.RemoteAddr = "127.0.0.1:40000"
	}
	if trace != nil && trace.WroteRequest != nil {
		trace.WroteRequest(httptrace.WroteRequestInfo{})
	}
	rec := httptest.NewRecorder()
	aborted := func() (aborted bool) {
		defer func() {
			if p := recover(); p != nil {
				if p != http.ErrAbortHandler {
					panic(p)
				}
				aborted = true
			}
		}()
		t.Handler.ServeHTTP(rec, in)
		return false
	}()
	if aborted || (t.Lose != nil && t.Lose(in)) {
		return nil, errReset
	}
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	if trace != nil && trace.GotFirstResponseByte != nil {
		trace.GotFirstResponseByte()
	}
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}
