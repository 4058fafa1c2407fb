// Package metrics owns reserver's Prometheus instruments and their
// exposition: counters and histograms the daemon updates as it works
// (attempts, fire lateness, clock offsets, submit latency, breaker states,
// lease takeovers, late reservations, where a site's openings were seen to
// open), collectors that count bookings and the outbox in the
// database at scrape time, and the Go and process collectors. It does not
// decide what to measure where: the daemon, the egress pool and the API call
// the functions below.
//
// The instruments are process-wide, like a logger: any package may call
// metrics.Attempt without wiring, and every registry built by Registry
// exposes the same values.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"reserver/internal/booking"
)

// AddrDefault is where the daemon serves /metrics unless configured
// otherwise (daemon.metrics_addr): loopback, the port Prometheus' exporter
// list reserves for nothing else we run.
const AddrDefault = "127.0.0.1:9464"

// namespace prefixes every metric name.
const namespace = "reserver"

// Breaker states as gobreaker names them; BreakerState exposes one series
// per state, 1 for the current one.
var breakerStates = []string{"closed", "half-open", "open"}

var (
	attempts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "attempts_total",
		Help: "HTTP requests the daemon made for bookings, by response class and step.",
	}, []string{"class", "step"})

	fireLateness = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: namespace, Name: "fire_lateness_seconds",
		Help: "How late the first submit of a window left compared with the planned instant (negative: early).",
		// Sub-millisecond to a second: the fire is planned to the
		// millisecond, and a second late is losing.
		Buckets: []float64{-0.01, -0.001, 0, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1},
	})

	clockOffset = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "clock_offset_seconds",
		Help: "The latest measured offset of a site's clock from ours (positive: the site is ahead).",
	}, []string{"site"})

	submitLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: namespace, Name: "submit_latency_seconds",
		Help:    "Round-trip time of submit requests to booking sites.",
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
	})

	breakerState = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "egress_breaker_state",
		Help: "Circuit breaker state of an egress towards a host: 1 for the current state (closed, half-open, open), 0 for the others.",
	}, []string{"egress", "host", "state"})

	leaseTakeovers = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Name: "lease_takeovers_total",
		Help: "Bookings this instance took over from an instance whose lease expired.",
	})

	lateReservations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "late_reservations_total",
		Help: "Reservations the site confirmed that could not be recorded as the booking's success in the normal way (the booking changed elsewhere or the lease was lost), by the review they were flagged with: late_success, second_reservation, reservation_after_failed, reservation_after_cancelled. Each needs an operator's look.",
	}, []string{"review"})

	// The site's edge at its last opening: between the latest submit
	// arrival it answered not_open and the earliest it answered open.
	siteEdgeClosed = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "site_edge_closed_seconds",
		Help: "The latest estimated arrival of a submit, on the site's clock in seconds from the opening instant, that the site answered not_open at its last opening with such an answer.",
	}, []string{"site"})
	siteEdgeOpen = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "site_edge_open_seconds",
		Help: "The earliest estimated arrival of a submit, on the site's clock in seconds from the opening instant, that the site answered open (success, sold_out, already_mine, ...) at its last opening with such an answer.",
	}, []string{"site"})

	notifySendsNothing = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "notify_provider_sends_nothing",
		Help: "1 when the daemon's SMS provider sends nothing (the log provider: messages are logged and marked sent), 0 for a provider that sends; by provider. Absent until the outbox relay starts.",
	}, []string{"provider"})

	// instruments are registered in every registry Registry builds.
	instruments = []prometheus.Collector{attempts, fireLateness, clockOffset, submitLatency, breakerState, leaseTakeovers, lateReservations, siteEdgeClosed, siteEdgeOpen, notifySendsNothing}
)

// Attempt counts one HTTP request made for a booking, by its response class
// (success, not_open, sold_out, ...) and its step (login, trace, submit,
// verify, probe).
func Attempt(class, step string) { attempts.WithLabelValues(class, step).Inc() }

// FireLateness records how many seconds after the planned instant the first
// submit of a window left (negative when early).
func FireLateness(seconds float64) { fireLateness.Observe(seconds) }

// ClockOffset records the latest measured offset of site's clock from ours
// in seconds (positive: the site is ahead).
func ClockOffset(site string, seconds float64) { clockOffset.WithLabelValues(site).Set(seconds) }

// SubmitLatency records the round-trip time of one submit in seconds.
func SubmitLatency(seconds float64) { submitLatency.Observe(seconds) }

// BreakerState records the circuit breaker state of egress towards host:
// "closed", "half-open" or "open" (gobreaker's State.String()). The series
// of the current state is 1 and those of the other states 0, so that
// `reserver_egress_breaker_state{state="open"} == 1` finds open breakers.
func BreakerState(egress, host, state string) {
	known := false
	for _, s := range breakerStates {
		v := 0.0
		if s == state {
			v, known = 1, true
		}
		breakerState.WithLabelValues(egress, host, s).Set(v)
	}
	if !known {
		breakerState.WithLabelValues(egress, host, state).Set(1)
	}
}

// LeaseTakeover counts one booking taken over from a dead instance.
func LeaseTakeover() { leaseTakeovers.Inc() }

// LateReservation counts one reservation recorded late, by the review the
// booking was flagged with (booking.RecordLateReservation's result); an
// empty review (nothing new was recorded) is not counted.
func LateReservation(review string) {
	if review != "" {
		lateReservations.WithLabelValues(review).Inc()
	}
}

// SiteEdge records where site was seen to open at its last opening, in
// seconds from the opening instant on the site's clock: closed is the
// latest submit arrival answered not_open, open the earliest answered open.
// A nil one leaves its gauge as it was (the last opening that had such an
// answer).
func SiteEdge(site string, closed, open *time.Duration) {
	if closed != nil {
		siteEdgeClosed.WithLabelValues(site).Set(closed.Seconds())
	}
	if open != nil {
		siteEdgeOpen.WithLabelValues(site).Set(open.Seconds())
	}
}

// NotifyProvider records the SMS provider of the outbox relay and whether
// it sends nothing (the log provider), so that an alert can find a daemon
// whose users are never told: reserver_notify_provider_sends_nothing == 1.
func NotifyProvider(provider string, sendsNothing bool) {
	notifySendsNothing.Reset()
	v := 0.0
	if sendsNothing {
		v = 1
	}
	notifySendsNothing.WithLabelValues(provider).Set(v)
}

// Counter is the source of the database collectors: the booking store
// satisfies it.
type Counter interface {
	CountByState(ctx context.Context) (map[booking.State]int64, error)
	CountOutbox(ctx context.Context) (map[string]int64, error)
}

// Registry returns a new registry with the process-wide instruments, the Go
// and process collectors and, when db is not nil, the collectors that count
// bookings by state and the outbox by state at scrape time.
func Registry(db Counter) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(instruments...)
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if db != nil {
		reg.MustRegister(&dbCollector{db: db, timeout: 5 * time.Second})
	}
	return reg
}

// Handler serves a registry in the Prometheus exposition formats. A
// collector that fails is reported in the scrape as an error, not a panic.
func Handler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Serve serves /metrics of Registry(nil) on addr until ctx ends; the
// daemon uses it (daemon.metrics_addr, default AddrDefault). It returns nil
// after a clean shutdown and the listen error otherwise.
func Serve(ctx context.Context, addr string) error {
	return ServeRegistry(ctx, addr, Registry(nil), nil)
}

// ServeRegistry serves /metrics of g on addr until ctx ends. ready, if not
// nil, is called with the bound address once listening (":0" in tests).
func ServeRegistry(ctx context.Context, addr string, g prometheus.Gatherer, ready func(net.Addr)) error {
	if addr == "" {
		addr = AddrDefault
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", Handler(g))
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	if ready != nil {
		ready(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = hs.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}
