package sitesim

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// With RecordRequests the ledger lists every public request (pages, the
// login, the submit) with its source address, in arrival order, and not
// the ground-truth routes; Reset empties it. Without it the list stays
// empty.
func TestLedgerRecordsEveryRequestWhenAsked(t *testing.T) {
	for _, on := range []bool{true, false} {
		srv := startSite(t, Options{RecordRequests: on})
		c := newClient(t, srv)
		c.mustLogin("user001")
		c.book(1, testUseDate, 3)
		resp, err := http.Get(srv.URL() + PathLedger)
		require.NoError(t, err)
		var led Ledger
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&led))
		resp.Body.Close()
		if !on {
			require.Empty(t, led.Requests)
			continue
		}
		var paths []string
		for i, a := range led.Requests {
			require.Equal(t, "127.0.0.1", a.IP)
			if i > 0 {
				require.False(t, a.At.Before(led.Requests[i-1].At), "arrival order")
			}
			paths = append(paths, a.Method+" "+a.Path)
		}
		require.Contains(t, paths, "POST "+PathLoginProc)
		require.Contains(t, paths, "POST "+PathApply)
		require.NotContains(t, paths, "GET "+PathLedger)
		require.Len(t, led.Submits, 1)
		srv.Reset()
		require.Empty(t, srv.Ledger().Requests)
	}
}
