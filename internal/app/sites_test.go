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

	"reserver/internal/api"
	"reserver/internal/profile"
	"reserver/internal/tenant"
)

// The API refuses, before storing anything, a booking the site cannot
// take by the courts and slots its profile declares (courtsim: courts
// 1-10, one-hour slots 06:00-17:00); a site that declares nothing is not
// checked.
func TestAPIRefusesWhatTheSiteLacks(t *testing.T) {
	b := setupDaemon(t, nil)
	profiles, err := LoadProfiles(b.env.Config.SitesDir, func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	// A site like courtsim that declares nothing.
	bare := *profiles["courtsim"]
	bare.Name, bare.Courts, bare.Slots = "bare", nil, nil
	profiles["bare"] = &bare
	srv, err := b.env.APIServer(Catalog(profiles))
	require.NoError(t, err)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	tok, err := b.env.Tenants.CreateToken(context.Background(), "t1", tenant.RoleUser)
	require.NoError(t, err)

	date := time.Now().In(profiles["courtsim"].Location).AddDate(0, 0, 30).Format("2006-01-02")
	post := func(site, court, start, end string) (int, map[string]any) {
		body := fmt.Sprintf(`{"site": %q, "account": {"username": "user001", "password": "pass1234"}, "court": %q,
			"date": %q, "start": %q, "end": %q, "phone": "010-1234-5678", "name": "홍길동"}`, site, court, date, start, end)
		req, err := http.NewRequest(http.MethodPost, hs.URL+"/v1/bookings", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := hs.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		var out map[string]any
		require.NoError(t, json.Unmarshal(raw, &out), string(raw))
		return resp.StatusCode, out
	}

	code, out := post("courtsim", "99", "10:00", "11:00")
	require.Equal(t, http.StatusUnprocessableEntity, code, "%v", out)
	require.Contains(t, out["detail"], `the site has no court "99" (its courts: 1-10)`)

	code, out = post("courtsim", "3", "18:00", "19:00")
	require.Equal(t, http.StatusUnprocessableEntity, code, "%v", out)
	require.Contains(t, out["detail"], "no slot of the site starts at 18:00 (slots start every 60m from 06:00 to 17:00)")

	code, out = post("courtsim", "3", "10:00", "12:00")
	require.Equal(t, http.StatusUnprocessableEntity, code, "%v", out)
	require.Contains(t, out["detail"], "ends at 11:00, not 12:00")

	code, out = post("courtsim", "3", "10:00", "11:00")
	require.Equal(t, http.StatusCreated, code, "%v", out)

	code, out = post("bare", "99", "10:00", "11:00")
	require.Equal(t, http.StatusCreated, code, "nothing declared, nothing checked: %v", out)
}

// A profile's courts expand a choice's shorthand ("any" is every court in
// the profile's order); a profile without courts cannot expand one and
// says so; its account_limits are the API's AccountLimits.
func TestProfileSiteChoicesAndLimits(t *testing.T) {
	t.Parallel()
	profiles, err := LoadProfiles("../../configs/sites", func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	capped := *profiles["courtsim"]
	capped.AccountLimits = profile.AccountLimits{PerDay: 1, PerWeek: 4}
	bare := *profiles["courtsim"]
	bare.Courts = nil
	cat := Catalog{"courtsim": profiles["courtsim"], "capped": &capped, "bare": &bare}

	site, ok := cat.Site("courtsim")
	require.True(t, ok)
	ex := site.(api.ChoiceExpander)
	got, err := ex.ExpandCourts("any")
	require.NoError(t, err)
	require.Equal(t, []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}, got)
	got, err = ex.ExpandCourts("3-5")
	require.NoError(t, err)
	require.Equal(t, []string{"3", "4", "5"}, got)
	_, err = ex.ExpandCourts("9-11")
	require.ErrorContains(t, err, `the site has no court "11" (its courts: 1-10)`)

	site, _ = cat.Site("bare")
	_, err = site.(api.ChoiceExpander).ExpandCourts("any")
	require.ErrorContains(t, err, "the site's profile declares no courts")
	require.ErrorContains(t, err, "name each court in its own choice")

	require.Equal(t, profile.AccountLimits{}, site.(api.AccountLimiter).AccountLimits())
	site, _ = cat.Site("capped")
	require.Equal(t, profile.AccountLimits{PerDay: 1, PerWeek: 4}, site.(api.AccountLimiter).AccountLimits())
}
