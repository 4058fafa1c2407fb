package session

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"
)

// ProbeResult is one clock measurement: the site's Date lies between Sent
// and Received on the local clock.
type ProbeResult struct {
	Sent     time.Time // the connection was in hand and the request about to be written
	Received time.Time // the first byte of the answer arrived
	SiteDate time.Time // the site's Date header (1 s resolution)
	Status   int
}

// Probe sends the profile's probe request (by default GET /) and times it
// for clock synchronisation. The answer body is read only up to 4 KiB.
func (s *Session) Probe(ctx context.Context) (ProbeResult, error) {
	var pr ProbeResult
	req, err := s.prof.Render(s.prof.Probe, s.renderData(nil))
	if err != nil {
		return pr, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.prof.Timeout)
	defer cancel()
	var mu sync.Mutex
	trace := &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) {
			now := s.clock.Now()
			mu.Lock()
			pr.Sent = now
			mu.Unlock()
		},
		GotFirstResponseByte: func() {
			now := s.clock.Now()
			mu.Lock()
			pr.Received = now
			mu.Unlock()
		},
	}
	ctx = httptrace.WithClientTrace(context.WithValue(ctx, followKey{}, false), trace)
	r := s.client.R().SetContext(ctx)
	for k, v := range req.Header {
		r.SetHeaderMultiValues(map[string][]string{k: v})
	}
	if req.Body != nil {
		r.SetHeader("Content-Type", req.ContentType).SetBody(req.Body)
	}
	start := s.clock.Now()
	resp, err := r.Execute(req.Method, req.URL)
	if err != nil {
		if resp != nil && resp.RawResponse != nil {
			resp.RawResponse.Body.Close()
		}
		return pr, fmt.Errorf("session: probe: %w", err)
	}
	raw := resp.RawResponse
	_, _ = io.Copy(io.Discard, io.LimitReader(raw.Body, 4<<10))
	raw.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	pr.Status = raw.StatusCode
	// A transport that is not net/http's (an in-process one) reports no
	// trace events: the request's own bounds are then the sound interval.
	if pr.Sent.IsZero() {
		pr.Sent = start
	}
	if pr.Received.IsZero() {
		pr.Received = s.clock.Now()
	}
	t, err := http.ParseTime(raw.Header.Get("Date"))
	if err != nil {
		return pr, ErrNoDate
	}
	pr.SiteDate = t.In(s.prof.Location)
	return pr, nil
}

// OffsetEstimate is the site clock minus the local clock.
type OffsetEstimate struct {
	Offset      time.Duration // best estimate: site = local + Offset
	Uncertainty time.Duration // half-width of the interval the offset lies in
	Probes      int
}

// EstimateOffset combines probes into an offset estimate. A Date header D
// says the site's clock read [D, D+1s) at some local instant in
// [Sent, Received], so each probe bounds the offset to
// [D−Received, D+1s−Sent]; the estimate is the middle of the intersection
// of those intervals. Probes whose send times fall at different phases of a
// second narrow the interval to a few milliseconds. If the intervals do not
// intersect (the site's clock stepped), the intervals' midpoints are
// averaged with ±500 ms.
func EstimateOffset(probes []ProbeResult) (OffsetEstimate, bool) {
	var lo, hi time.Duration
	n := 0
	var sumMid time.Duration
	consistent := true
	for _, p := range probes {
		if p.SiteDate.IsZero() || p.Sent.IsZero() || p.Received.IsZero() {
			continue
		}
		l := p.SiteDate.Sub(p.Received)
		h := p.SiteDate.Add(time.Second).Sub(p.Sent)
		if n == 0 {
			lo, hi = l, h
		} else {
			lo, hi = max(lo, l), min(hi, h)
		}
		sumMid += l + (h-l)/2
		n++
	}
	if n == 0 {
		return OffsetEstimate{}, false
	}
	if lo > hi {
		consistent = false
	}
	if !consistent {
		return OffsetEstimate{Offset: sumMid / time.Duration(n), Uncertainty: 500 * time.Millisecond, Probes: n}, true
	}
	return OffsetEstimate{Offset: lo + (hi-lo)/2, Uncertainty: (hi - lo) / 2, Probes: n}, true
}
