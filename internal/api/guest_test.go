package api

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

type guestSite struct{ testSite }

func (guestSite) Guest() bool { return true }

// A site without a login (a guest checkout) takes bookings without a site
// password; every other site still requires one, and a username always.
func TestGuestSiteNeedsNoPassword(t *testing.T) {
	t.Parallel()
	sites := siteMap{"shop": guestSite{}, "courtsim": testSite{}}
	noPassword := func(site string) []byte {
		b := strings.Replace(validBody, `"site": "courtsim",`, `"site": "`+site+`",`, 1)
		require.Contains(t, b, `, "password": "S3cr3t-Pa55!"}`)
		return []byte(strings.Replace(b, `, "password": "S3cr3t-Pa55!"}`, "}", 1))
	}
	v, probs := decodeBooking(noPassword("shop"), sites, rateLimits, fixedNow)
	require.Empty(t, probs)
	require.Empty(t, v.Password)
	require.NotEmpty(t, v.Username)

	_, probs = decodeBooking(noPassword("courtsim"), sites, rateLimits, fixedNow)
	require.Len(t, probs, 1, "%v", probs)
	require.Equal(t, "account.password", probs[0].Field)
}
