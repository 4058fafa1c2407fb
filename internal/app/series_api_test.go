package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
	"reserver/internal/series"
	"reserver/internal/tenant"
)

// The API the binary serves has the recurring bookings (a server built
// without its series store answered every /v1/series route 503).
func TestAPIServerServesSeries(t *testing.T) {
	b := setupDaemon(t, nil)
	profiles, err := LoadProfiles(b.env.Config.SitesDir, func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	srv, err := b.env.APIServer(Catalog(profiles))
	require.NoError(t, err)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	tok, err := b.env.Tenants.CreateToken(context.Background(), "t1", tenant.RoleUser)
	require.NoError(t, err)

	req, err := http.NewRequest(http.MethodGet, hs.URL+"/v1/series", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := hs.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(raw))
	require.JSONEq(t, `{"items": []}`, string(raw))
}

// Through the binary's API, on the real courtsim profile: a series'
// choices are expanded by the profile's courts, its notify settings
// kept, and the materialiser gives both to the occurrence's booking.
func TestAPISeriesWithChoicesAndNotify(t *testing.T) {
	b := setupDaemon(t, nil)
	profiles, err := LoadProfiles(b.env.Config.SitesDir, func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	srv, err := b.env.APIServer(Catalog(profiles))
	require.NoError(t, err)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	ctx := context.Background()
	tok, err := b.env.Tenants.CreateToken(ctx, "t1", tenant.RoleUser)
	require.NoError(t, err)

	loc := profiles["courtsim"].Location
	now := time.Now().In(loc)
	play := time.Date(now.Year(), now.Month(), now.Day()+8, 0, 0, 0, 0, loc)
	date := play.Format("2006-01-02")
	body := fmt.Sprintf(`{"site": "courtsim", "account": {"username": "user001", "password": "pw"},
  "rule": {"weekdays": [%q]}, "start": "10:00", "end": "11:00", "from": %q, "until": %q,
  "choices": [{"court": 3}, {"courts": "1-2", "start": "12:00", "end": "13:00"}],
  "notify": {"on": "never", "language": "ko"}}`, strings.ToLower(play.Weekday().String()[:3]), date, date)
	req, err := http.NewRequest(http.MethodPost, hs.URL+"/v1/series", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hs.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(raw))
	var got struct {
		ID      int64               `json:"id"`
		Choices []map[string]string `json:"choices"`
		Notify  map[string]string   `json:"notify"`
	}
	require.NoError(t, json.Unmarshal(raw, &got))
	require.Equal(t, []map[string]string{{"court": "3", "start": "10:00", "end": "11:00"},
		{"court": "1", "start": "12:00", "end": "13:00"}, {"court": "2", "start": "12:00", "end": "13:00"}}, got.Choices)
	require.Equal(t, map[string]string{"on": "never", "language": "ko"}, got.Notify)

	m, err := series.New(b.env.seriesConfig(profiles))
	require.NoError(t, err)
	res, err := m.RunOnce(ctx, time.Now())
	require.NoError(t, err)
	require.Equal(t, 1, res.Created)
	occ, err := b.env.Series().Occurrences(ctx, got.ID)
	require.NoError(t, err)
	bk, err := b.env.Bookings.Get(ctx, booking.Scope{All: true}, *occ[got.ID][0].BookingID)
	require.NoError(t, err)
	require.Equal(t, []booking.Choice{{Court: "3", Date: date, Start: "10:00", End: "11:00"},
		{Court: "1", Date: date, Start: "12:00", End: "13:00"}, {Court: "2", Date: date, Start: "12:00", End: "13:00"}}, bk.Choices())
	require.Equal(t, "never", bk.NotifyOn)
	require.Equal(t, "ko", bk.NotifyLanguage)
}
