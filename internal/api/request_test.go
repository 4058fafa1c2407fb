package api

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"reserver/internal/booking"
	"reserver/internal/database/dbtest"
	"reserver/internal/secret"
	"reserver/internal/tenant"
)

// ratedSite is a site whose profile sets rate_per_second.
type ratedSite struct {
	testSite
	rate float64
}

func (s ratedSite) RatePerSecond() float64 { return s.rate }

type siteMap map[string]Site

func (m siteMap) Site(name string) (Site, bool) {
	s, ok := m[name]
	return s, ok
}

// rateSites: "slow" allows 1 request per second, "fast" 5, "plain" says
// nothing (no ceiling of its own).
var rateSites = siteMap{"slow": ratedSite{rate: 1}, "fast": ratedSite{rate: 5}, "plain": testSite{}}

var rateLimits = Limits{DefaultRate: 2, MaxRate: 3, DefaultWindow: 300, MinWindow: 10, MaxWindow: 3600}

func bodyFor(site, rate string) []byte {
	b := strings.Replace(validBody, `"site": "courtsim",`, `"site": "`+site+`",`, 1)
	if rate != "" {
		b = strings.Replace(b, `"court": 3,`, `"court": 3, "rate_per_second": `+rate+`,`, 1)
	}
	return []byte(b)
}

func TestBookingRateIsBoundByTheSiteProfile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, site, rate string
		want             float64
		problem          string // "" for none
	}{
		{"no rate: the default", "fast", "", 2, ""},
		{"no rate: the site's lower ceiling", "slow", "", 1, ""},
		{"no rate, no site ceiling: the default", "plain", "", 2, ""},
		{"at the site's ceiling", "slow", "1", 1, ""},
		{"below the site's ceiling", "slow", "0.5", 0.5, ""},
		{"above the site's ceiling", "slow", "1.5", 0, `at most 1 (the rate_per_second of site "slow")`},
		{"above the configured ceiling, below the site's", "fast", "4", 0, "at most 3 (the configured ceiling)"},
		{"above the configured ceiling, no site ceiling", "plain", "4", 0, "at most 3 (the configured ceiling)"},
		{"zero", "slow", "0", 0, "above 0 and at most 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, probs := decodeBooking(bodyFor(tt.site, tt.rate), rateSites, rateLimits, fixedNow)
			if tt.problem == "" {
				require.Empty(t, probs)
				require.Equal(t, tt.want, v.Rate)
				return
			}
			require.Len(t, probs, 1, "%v", probs)
			require.Equal(t, "rate_per_second", probs[0].Field)
			require.Contains(t, probs[0].Detail, tt.problem)
		})
	}
}

func TestCreateBookingAboveTheSiteRateIs400(t *testing.T) {
	t.Parallel()
	db := dbtest.SQLite(t)
	box, err := secret.NewBox(bytes.Repeat([]byte{9}, secret.KeySize))
	require.NoError(t, err)
	ts := tenant.NewStore(db)
	tok, err := ts.CreateToken(t.Context(), "alice", tenant.RoleUser)
	require.NoError(t, err)
	srv, err := New(Options{
		DB: db, Bookings: booking.NewStore(db, box), Tenants: ts, Sites: rateSites, Limits: rateLimits,
		MaxBodyBytes: 4096, Logger: zap.NewNop(), Now: func() time.Time { return fixedNow },
	})
	require.NoError(t, err)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	b := &bundle{url: hs.URL}

	r := b.do(t, "POST", "/v1/bookings", tok, string(bodyFor("slow", "2")))
	require.Equal(t, 400, r.status, r.raw)
	require.Equal(t, "application/problem+json", r.header.Get("Content-Type"))
	errs, _ := r.body["errors"].([]any)
	require.Len(t, errs, 1, r.raw)
	e := errs[0].(map[string]any)
	require.Equal(t, "rate_per_second", e["field"])
	require.Contains(t, e["detail"], `at most 1 (the rate_per_second of site "slow")`)

	r = b.do(t, "POST", "/v1/bookings", tok, string(bodyFor("slow", "")))
	require.Equal(t, 201, r.status, r.raw)
	require.Equal(t, 1.0, r.body["rate_per_second"], "a booking without a rate gets the site's lower ceiling")
}
