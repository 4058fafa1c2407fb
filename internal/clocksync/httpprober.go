package clocksync

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
)

// drainLimit bounds how much of a probe's response body is read so that the
// connection can be reused for the next probe.
const drainLimit = 64 << 10

// HTTPProber probes a site with one small HTTP request and reads its Date
// header. Use the booking session's client so that probes travel the same
// connection pool, proxy and egress as the requests they time.
type HTTPProber struct {
	Client *http.Client // nil means http.DefaultClient
	URL    string       // any cheap page of the site
	Method string       // default HEAD; use GET for sites that reject HEAD
	Clock  Clock        // nil means the real clock
}

// Probe implements Prober. Sent is taken when the connection is handed to
// the request (before any byte of it is written) and Received when the
// first response byte arrives, so the site's clock reading lies between
// them. The status code is not checked: error pages carry a Date too.
func (p *HTTPProber) Probe(ctx context.Context) (Sample, error) {
	clock := clockOrReal(p.Clock)
	client := p.Client
	if client == nil {
		client = http.DefaultClient
	}
	var s Sample
	trace := &httptrace.ClientTrace{
		GotConn:              func(httptrace.GotConnInfo) { s.Sent = clock.Now() },
		GotFirstResponseByte: func() { s.Received = clock.Now() },
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), cmp.Or(p.Method, http.MethodHead), p.URL, nil)
	if err != nil {
		return Sample{}, fmt.Errorf("clocksync: probe request: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		// client.Do already strips passwords from the URL in its error.
		return Sample{}, fmt.Errorf("clocksync: probe: %w", err)
	}
	_, _ = io.CopyN(io.Discard, resp.Body, drainLimit)
	_ = resp.Body.Close()
	if s.Sent.IsZero() || s.Received.IsZero() {
		return Sample{}, fmt.Errorf("%w: request was not traced", ErrBadSample)
	}
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return Sample{}, fmt.Errorf("%w (status %d)", ErrNoDate, resp.StatusCode)
	}
	s.SiteDate = date
	return s, nil
}
