package schedule

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"reserver/internal/booking"
	"reserver/internal/database/dbtest"
	"reserver/internal/ippool"
	"reserver/internal/profile"
	"reserver/internal/secret"
	"reserver/internal/sitesim"
	"reserver/internal/stats"
	"reserver/internal/tenant"
)

var egressBenchOnce sync.Once

// BenchmarkEgress: 300 bookings opening at one instant against a site that
// blocks an address sending more than 20 requests a second, through one
// egress and then through four (source addresses 127.0.0.2-5), with a
// per-egress ceiling under the site's threshold; and once through one
// egress whose ceiling is above it, to show what blocks cost.
func BenchmarkEgress(b *testing.B) {
	egressBenchOnce.Do(func() {
		for _, c := range []struct {
			name     string
			egresses int
			ceiling  float64
		}{
			{"one", 1, 15},
			{"four", 4, 15},
			{"one-over-ceiling", 1, 40},
		} {
			benchEgress(b, c.name, c.egresses, c.ceiling)
		}
	})
}

func benchEgress(b *testing.B, name string, egresses int, ceiling float64) {
	const (
		bookings = 300
		blockRPS = 20
		lead     = 45 * time.Second
		window   = 40
	)
	srv, err := sitesim.Start(sitesim.Options{Accounts: bookings, Facilities: 30, BlockRPS: blockRPS, BlockFor: 10 * time.Second})
	require.NoError(b, err)
	defer srv.Close()
	prof := loadProfile(b, "courtsim.yaml", srv.URL())
	db := dbtest.SQLite(b)
	box, err := secret.NewBox(bytes.Repeat([]byte{6}, secret.KeySize))
	require.NoError(b, err)
	store := booking.NewStore(db, box)
	ts := tenant.NewStore(db)
	tok, err := ts.CreateToken(context.Background(), "bench", tenant.RoleUser)
	require.NoError(b, err)
	p, err := ts.Authenticate(context.Background(), tok)
	require.NoError(b, err)

	opensAt := srv.Now().Add(lead + 3*time.Second).Truncate(time.Second)
	srv.SetOpenAt(opensAt)
	for i := range bookings {
		_, _, err := store.Create(context.Background(), booking.NewBooking{
			TenantID: p.TenantID, Site: "courtsim", Username: srv.AccountName(i + 1), Password: "pass1234",
			Court: fmt.Sprint(i%30 + 1), PlayDate: opensAt.AddDate(0, 0, 7).Format("2006-01-02"),
			StartTime: fmt.Sprintf("%02d:00", 6+i/30), EndTime: fmt.Sprintf("%02d:59", 6+i/30),
			OpensAt: opensAt, WindowSeconds: window, RatePerSecond: 2, Phone: "+821012345678", BookerName: "벤치",
			Fields: map[string]string{"people": "2"},
		})
		require.NoError(b, err)
	}
	var pc ippool.Config
	for i := range egresses {
		pc.Egresses = append(pc.Egresses, ippool.EgressConfig{Name: fmt.Sprintf("lo%d", i+2), Kind: ippool.KindSource, Source: fmt.Sprintf("127.0.0.%d", i+2)})
	}
	pc.HostCeilingPerEgress = ceiling
	pool, err := ippool.New(pc)
	require.NoError(b, err)
	defer pool.Close()

	d, err := New(Config{
		Store: store, Profiles: map[string]*profile.Profile{"courtsim": prof}, Egress: pool,
		Lead: lead, HostCeiling: 1e6, Grace: time.Second, Logger: zap.NewNop(),
	})
	require.NoError(b, err)
	require.NoError(b, d.Start(context.Background()))
	deadline := time.Now().Add(lead + time.Duration(window+15)*time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(time.Second)
		var open int64
		require.NoError(b, db.Model(&booking.Booking{}).Where("state NOT IN ?", []booking.State{booking.Succeeded, booking.Failed, booking.Cancelled}).Count(&open).Error)
		if open == 0 {
			break
		}
	}
	d.Stop()

	led := srv.Ledger()
	var toSuccess []float64
	for _, r := range led.Reservations {
		toSuccess = append(toSuccess, r.At.Sub(opensAt).Seconds())
	}
	slices.Sort(toSuccess)
	var blockedAttempts int64
	require.NoError(b, db.Model(&booking.Attempt{}).Where("class = ? AND step <> ?", "blocked", "egress").Count(&blockedAttempts).Error)
	median := -1.0
	if len(toSuccess) > 0 {
		median = stats.Percentile(toSuccess, 50)
	}
	fmt.Printf("BENCH egress mode=%s egresses=%d ceiling_per_egress=%g site_block_rps=%d sim=inprocess latency_ms=0 jitter_ms=0 bookings=%d won=%d blocks=%d median_to_success_s=%.2f\n",
		name, egresses, ceiling, blockRPS, bookings, len(led.Reservations), blockedAttempts, median)
}
