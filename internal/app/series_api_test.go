package app

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

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
