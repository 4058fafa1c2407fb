package ippool

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
	"go.uber.org/zap"
)

// Breaker states as reported by States and OnStateChange.
const (
	StateClosed   = "closed"
	StateOpen     = "open"
	StateHalfOpen = "half-open"
)

// ErrEgressOpen is matched (errors.Is) by every *EgressOpenError.
var ErrEgressOpen = errors.New("ippool: egress is cooling down")

// EgressOpenError is returned by an egress's RoundTripper, without sending
// anything, while the breaker of (Egress, Host) is open, or half-open with
// its single probe already in flight.
type EgressOpenError struct {
	Egress string
	Host   string
	// Until is when the egress may be tried again; Wait is Until minus the
	// moment of the refusal (zero while a probe is in flight).
	Until time.Time
	Wait  time.Duration
}

func (e *EgressOpenError) Error() string {
	if e.Wait <= 0 {
		return fmt.Sprintf("ippool: egress %q to %s is being probed; retry shortly", e.Egress, e.Host)
	}
	return fmt.Sprintf("ippool: egress %q to %s is cooling down for %v more", e.Egress, e.Host, e.Wait.Round(time.Millisecond))
}

// Is makes errors.Is(err, ErrEgressOpen) true.
func (e *EgressOpenError) Is(target error) bool { return target == ErrEgressOpen }

// errBlocked is the failure a Report of a block page feeds the breaker.
var errBlocked = errors.New("ippool: blocked by the site")

// breaker guards one (egress, host). gobreaker keeps the closed / open /
// half-open machine and its single half-open probe; the length of an open
// period is ours (coolUntil), because a block page names its own wait and
// gobreaker's timeout is fixed. gobreaker's timeout is therefore set to the
// shortest possible, and nothing consults gobreaker while coolUntil is
// ahead, so it turns half-open exactly when the cool-down ends.
//
// Fields read in gobreaker's callbacks are atomics: the callbacks run under
// gobreaker's lock and must not take any other.
type breaker struct {
	egress string
	host   string
	cb     *gobreaker.TwoStepCircuitBreaker[struct{}]

	coolUntil   atomic.Int64 // unix ns; open until then
	pendingCool atomic.Int64 // ns; cool-down of the trip a Report is causing
	forceTrip   atomic.Bool  // a Report is feeding a block: trip on it
	hintUntil   atomic.Int64 // unix ns; last Retry-After seen, as an instant
	hintSeen    atomic.Int64 // unix ns; when it was seen
}

func (p *Pool) newBreaker(egress, host string) *breaker {
	b := &breaker{egress: egress, host: host}
	threshold := p.cfg.FailureThreshold
	b.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        egress + " " + host,
		MaxRequests: 1,
		Timeout:     time.Nanosecond,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.ConsecutiveFailures >= threshold || b.forceTrip.Load()
		},
		IsExcluded:   isCallerGaveUp,
		IsSuccessful: func(err error) bool { return !isEgressFailure(err) },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			p.stateChanged(b, from, to)
		},
	})
	return b
}

// stateChanged runs under gobreaker's lock.
func (p *Pool) stateChanged(b *breaker, from, to gobreaker.State) {
	fields := []zap.Field{zap.String("egress", b.egress), zap.String("host", b.host),
		zap.String("from", from.String()), zap.String("to", to.String())}
	if to == gobreaker.StateOpen {
		now := time.Now()
		d := time.Duration(b.pendingCool.Swap(0))
		if d <= 0 {
			d = p.cfg.OpenTimeout
		}
		b.forceTrip.Store(false)
		b.extendCool(now.Add(d))
		fields = append(fields, zap.Duration("cool_down", d))
	}
	p.log.Info("egress breaker state changed", fields...)
	if p.cfg.OnStateChange != nil {
		p.cfg.OnStateChange(b.egress, b.host, from.String(), to.String())
	}
}

// extendCool moves coolUntil to until if that is later.
func (b *breaker) extendCool(until time.Time) {
	n := until.UnixNano()
	for {
		cur := b.coolUntil.Load()
		if cur >= n || b.coolUntil.CompareAndSwap(cur, n) {
			return
		}
	}
}

// state is the breaker's effective state at now, and until when it stays
// open. It may move gobreaker from open to half-open (and so call back).
func (b *breaker) state(now time.Time) (string, time.Time) {
	if cu := b.coolUntil.Load(); now.UnixNano() < cu {
		return StateOpen, time.Unix(0, cu)
	}
	switch b.cb.State() {
	case gobreaker.StateOpen:
		// Only between a trip and its callback's cool-down; a moment.
		return StateOpen, now
	case gobreaker.StateHalfOpen:
		return StateHalfOpen, time.Time{}
	default:
		return StateClosed, time.Time{}
	}
}

// block trips the breaker for a block page, with cool-down d (0: the open
// timeout).
func (b *breaker) block(now time.Time, d time.Duration) {
	if cu := b.coolUntil.Load(); now.UnixNano() < cu {
		// Already cooling (several accounts met the same block): only
		// lengthen it if this page asks for longer.
		if d > 0 {
			b.extendCool(now.Add(d))
		}
		return
	}
	b.pendingCool.Store(int64(d))
	b.forceTrip.Store(true)
	done, err := b.cb.Allow()
	if err != nil {
		// Half-open with its probe in flight: hold the egress back anyway.
		b.forceTrip.Store(false)
		b.pendingCool.Store(0)
		b.extendCool(now.Add(d))
		return
	}
	done(errBlocked) // trips: the callback sets coolUntil
	if d > 0 {
		// A concurrent trip may have taken the pending wait; the longest
		// asked wait still wins.
		b.extendCool(now.Add(d))
	}
}

// rememberRetryAfter keeps the wait a response asked for, for a Report
// that names none.
func (b *breaker) rememberRetryAfter(resp *http.Response, now time.Time) {
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return
	}
	if d, ok := ParseRetryAfter(v, now); ok {
		b.hintUntil.Store(now.Add(d).UnixNano())
		b.hintSeen.Store(now.UnixNano())
	}
}

// retryAfterHint is the remaining wait of a Retry-After seen within mem.
func (b *breaker) retryAfterHint(now time.Time, mem time.Duration) time.Duration {
	seen := b.hintSeen.Load()
	if seen == 0 || now.Sub(time.Unix(0, seen)) > mem {
		return 0
	}
	return max(time.Unix(0, b.hintUntil.Load()).Sub(now), 0)
}

// isCallerGaveUp: a request whose context ended says nothing about the
// egress.
func isCallerGaveUp(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// isEgressFailure tells failures of the route (dial refused or timed out,
// proxy down or refusing, no answer in time) from answers of the site. A
// reset after the request was sent is the site's doing and does not count.
func isEgressFailure(err error) bool {
	if err == nil || isCallerGaveUp(err) {
		return false
	}
	if errors.Is(err, errBlocked) {
		return true
	}
	var de *dialError
	var pe *proxyError
	if errors.As(err, &de) || errors.As(err, &pe) {
		return true
	}
	var oe *net.OpError
	if errors.As(err, &oe) && (oe.Op == "dial" || oe.Op == "proxyconnect") {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// transport is an egress's RoundTripper: every request goes through the
// breaker of (egress, request host).
type transport struct {
	p *Pool
	e *egress
	// own, when set, replaces the egress's shared transport: a session's
	// own connection pool on the same route (see Egress.SessionTransport).
	own http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	host := canonicalHost(req.URL.Host)
	b := t.p.breaker(t.e, host)
	now := time.Now()
	if cu := b.coolUntil.Load(); now.UnixNano() < cu {
		closeBody(req)
		until := time.Unix(0, cu)
		return nil, &EgressOpenError{Egress: t.e.name, Host: host, Until: until, Wait: until.Sub(now)}
	}
	done, err := b.cb.Allow()
	if err != nil {
		closeBody(req)
		oe := &EgressOpenError{Egress: t.e.name, Host: host, Until: now}
		if cu := b.coolUntil.Load(); now.UnixNano() < cu {
			oe.Until = time.Unix(0, cu)
			oe.Wait = oe.Until.Sub(now)
		}
		return nil, oe
	}
	base := t.e.base
	if t.own != nil {
		base = t.own
	}
	resp, err := base.RoundTrip(req)
	if err == nil && t.e.kind == KindHTTP && resp.StatusCode == http.StatusProxyAuthRequired {
		// A plain-http request answered by the proxy itself.
		_ = resp.Body.Close()
		resp, err = nil, &proxyError{status: resp.Status}
	}
	done(err)
	if err != nil {
		return nil, &egressError{egress: t.e.name, msg: scrub(err.Error(), t.e.secrets), err: err}
	}
	b.rememberRetryAfter(resp, time.Now())
	return resp, nil
}

// CloseIdleConnections reaches the egress's own transport.
func (t *transport) CloseIdleConnections() {
	if c, ok := t.e.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// egressError names the egress and carries a message with the proxy
// credentials scrubbed; Unwrap keeps errors.Is/As working.
type egressError struct {
	egress string
	msg    string
	err    error
}

func (e *egressError) Error() string { return "egress " + e.egress + ": " + e.msg }
func (e *egressError) Unwrap() error { return e.err }
