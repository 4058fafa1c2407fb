package sitesim

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// Listen serves the same site on another loopback address: a login
// through one address is a session on the other; a public address is
// refused; Close stops both.
func TestListenServesTheSameSite(t *testing.T) {
	srv, err := Start(Options{RecordRequests: true})
	require.NoError(t, err)
	second, err := srv.Listen("127.0.0.2:0")
	if err != nil {
		srv.Close()
		t.Skipf("127.0.0.2 cannot be bound here: %v", err)
	}
	_, err = srv.Listen("10.0.0.7:0")
	require.Error(t, err)
	resp, err := http.Get(second + PathLogin)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, srv.Ledger().Requests, 1, "the request through the second address is in the one ledger")
	require.NoError(t, srv.Close())
	_, err = http.Get(second + PathLogin)
	require.Error(t, err, "closed on every address")
	_, err = srv.Listen("127.0.0.2:0")
	require.Error(t, err)
}
