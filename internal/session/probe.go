package session

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"

	"reserver/internal/clocksync"
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

// Prober returns the session's probe request (see Probe) as the prober
// clocksync.Measure times, so that probes travel the session's connections,
// proxy and egress like the requests they time. This is how both the daemon
// and `reserver check` measure a site's clock. wait, when not nil, runs
// before each probe (e.g. a rate limiter's Wait); its error ends the probe.
func (s *Session) Prober(wait func(context.Context) error) clocksync.Prober {
	return prober{s: s, wait: wait}
}

type prober struct {
	s    *Session
	wait func(context.Context) error
}

func (p prober) Probe(ctx context.Context) (clocksync.Sample, error) {
	if p.wait != nil {
		if err := p.wait(ctx); err != nil {
			return clocksync.Sample{}, err
		}
	}
	r, err := p.s.Probe(ctx)
	if err != nil {
		return clocksync.Sample{}, err
	}
	return clocksync.Sample{Sent: r.Sent, Received: r.Received, SiteDate: r.SiteDate}, nil
}
