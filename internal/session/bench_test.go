package session_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"slices"
	"sync"
	"testing"
	"time"

	"reserver/internal/profile"
	"reserver/internal/session"
	"reserver/internal/stats"
)

var printPrepareOnce sync.Once

// BenchmarkFirstSubmitToWire: what rendering the first submit before the
// opening buys. From the call to the moment the request is written on an
// open keep-alive connection, the courtsim submit sent by Do (rendered at
// the call: templates, form encoding, charset) against Send of the same
// step prepared earlier (what the daemon does at the fire). The site is
// an httptest server on 127.0.0.1 in this process answering 200 at once;
// one goroutine, so the figures are the client's own path, not contention.
func BenchmarkFirstSubmitToWire(b *testing.B) {
	const samples = 2000
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	p, err := profile.Load("../../configs/sites/courtsim.yaml")
	if err != nil {
		b.Fatal(err)
	}
	if p, err = p.WithBaseURL(srv.URL); err != nil {
		b.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	defer tr.CloseIdleConnections()
	s, err := session.New(session.Config{Profile: p, Transport: tr,
		Account: profile.AccountData{Username: "user001", Password: "pass1234"}})
	if err != nil {
		b.Fatal(err)
	}
	d := booking(p, "3", "10:00", "홍길동")
	d.X = map[string]string{"rentToken": "0123456789abcdef0123456789abcdef"}
	ctx := context.Background()
	// toWire returns how long after start the request was written.
	toWire := func(start time.Time, send func(ctx context.Context) error) float64 {
		var wrote time.Time
		tctx := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			WroteRequest: func(httptrace.WroteRequestInfo) { wrote = time.Now() },
		})
		if err := send(tctx); err != nil {
			b.Fatal(err)
		}
		return float64(wrote.Sub(start)) / float64(time.Microsecond)
	}
	for range b.N {
		var doUS, sendUS, renderUS []float64
		for i := range 2 * samples {
			if i%2 == 0 {
				start := time.Now()
				doUS = append(doUS, toWire(start, func(ctx context.Context) error {
					_, err := s.Do(ctx, profile.StepSubmit, d)
					return err
				}))
				continue
			}
			t0 := time.Now()
			prep, err := s.Prepare(profile.StepSubmit, d)
			if err != nil {
				b.Fatal(err)
			}
			renderUS = append(renderUS, float64(time.Since(t0))/float64(time.Microsecond))
			start := time.Now()
			sendUS = append(sendUS, toWire(start, func(ctx context.Context) error {
				_, err := s.Send(ctx, prep)
				return err
			}))
		}
		for _, xs := range [][]float64{doUS, sendUS, renderUS} {
			slices.Sort(xs)
		}
		doP50, sendP50 := stats.Percentile(doUS, 50), stats.Percentile(sendUS, 50)
		b.ReportMetric(doP50, "do_p50_us")
		b.ReportMetric(sendP50, "prepared_p50_us")
		printPrepareOnce.Do(func() {
			fmt.Printf("BENCH prepare site=httptest-loopback-inprocess latency_ms=0 conn=keepalive samples=%d "+
				"render_p50_us=%.1f do_to_wire_p50_us=%.1f do_to_wire_p99_us=%.1f prepared_to_wire_p50_us=%.1f prepared_to_wire_p99_us=%.1f saved_p50_us=%.1f\n",
				samples, stats.Percentile(renderUS, 50), doP50, stats.Percentile(doUS, 99), sendP50, stats.Percentile(sendUS, 99), doP50-sendP50)
		})
	}
}
