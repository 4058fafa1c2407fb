package sitesim

import (
	"net/http"
	"net/url"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCartServerErrorsOnTheWriteRoutes(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := newCartSite(t, Options{})
		c := memCart(t, s, "127.0.0.1")
		c.mustLogin("user002")
		confirmURL := c.mustCheckout(c.mustHold(1, cartSlotAt(22, 1)))

		s.SetFaults(Faults{FailRate: 1})
		statuses := map[int]bool{}
		for range 12 {
			r := c.add(1, cartSlotAt(22, 2))
			switch r.status {
			case http.StatusInternalServerError:
				requireAPIError(t, r, r.status, codeServerError, "Server Error")
			case http.StatusServiceUnavailable:
				requireAPIError(t, r, r.status, codeUnavailable, "Service Unavailable")
			default:
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			statuses[r.status] = true
			sub := lastSubmit(t, s)
			require.Equal(t, ResultError5xx, sub.Result)
			require.Equal(t, "user002", sub.Account)
			require.Empty(t, sub.Hold)

			r = c.confirm(confirmURL)
			require.GreaterOrEqual(t, r.status, 500)
			require.Equal(t, "text/html; charset=utf-8", r.header.Get("Content-Type"))
			require.Equal(t, ResultError5xx, s.Ledger().Confirms[len(s.Ledger().Confirms)-1].Result)
		}
		require.Len(t, statuses, 2, "both 500 and 503 occur")
		l := s.Ledger()
		require.Len(t, l.Holds, 1, "no hold made")
		require.Empty(t, l.Reservations, "no reservation made")

		// The other routes are only faulted with FailPages.
		require.Equal(t, http.StatusOK, c.get(CartPathResources).status)
		require.Equal(t, http.StatusOK, c.checkout(l.Holds[0].ID).status)
		s.SetFaults(Faults{FailRate: 1, FailPages: true})
		require.GreaterOrEqual(t, c.get(CartPathResources).status, 500)
		r := c.get(CartPathLogin)
		require.GreaterOrEqual(t, r.status, 500)
		require.Equal(t, "text/html; charset=utf-8", r.header.Get("Content-Type"))

		s.SetFaults(Faults{})
		require.Regexp(t, orderCodeRE, c.confirm(confirmURL).body)
	})
}

// TestCartResetFaults resets the connection after reading the request, on
// both write routes, over real loopback connections: an applied reset
// changed the state first, an unapplied one did not.
func TestCartResetFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		applied float64
		want    Result
	}{
		{"applied first", 1, ResultResetApplied},
		{"not applied", ResetAppliedNever, ResultResetNotApplied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startCartSite(t, Options{})
			c := netCart(t, srv)
			c.mustLogin("user002")
			applied := tt.want == ResultResetApplied

			srv.SetFaults(Faults{ResetRate: 1, ResetApplied: tt.applied})
			_, err := c.try(http.MethodPost, CartPathItems, jsonBody(t, itemBody(1, cartSlotAt(22, 1))), c.jsonHeader(""))
			require.ErrorIs(t, err, syscall.ECONNRESET, "an RST, not a clean close")
			sub := lastSubmit(t, srv.Site)
			require.Equal(t, tt.want, sub.Result)
			srv.SetFaults(Faults{})
			list := decodeJSON[listReply](t, c.get(CartPathReservations)).Reservations
			if applied {
				require.Equal(t, ResultHeld, sub.Outcome)
				require.Len(t, list, 1, "the client finds its hold by listing")
				require.Equal(t, sub.Hold, list[0].HoldID)
			} else {
				require.Empty(t, sub.Outcome)
				require.Empty(t, sub.Hold)
				require.Empty(t, list)
				sub.Hold = c.mustHold(1, cartSlotAt(22, 1))
			}

			confirmURL := c.mustCheckout(sub.Hold)
			srv.SetFaults(Faults{ResetRate: 1, ResetApplied: tt.applied})
			_, err = c.try(http.MethodPost, confirmURL, formBody(url.Values{"_csrf": {c.cookie(CartXSRFCookie)}, "accept_terms": {"1"}}),
				http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
			require.ErrorIs(t, err, syscall.ECONNRESET)
			srv.SetFaults(Faults{})
			l := srv.Ledger()
			cf := l.Confirms[len(l.Confirms)-1]
			require.Equal(t, tt.want, cf.Result)
			list = decodeJSON[listReply](t, c.get(CartPathReservations)).Reservations
			require.Len(t, list, 1)
			if applied {
				require.Equal(t, ResultSuccess, cf.Outcome)
				require.Len(t, l.Reservations, 1)
				require.Equal(t, l.Reservations[0].Number, cf.Reservation)
				require.Equal(t, cf.Reservation, list[0].Code, "the client finds its order by listing")
				// Confirming blindly again is a repeat.
				requireOops(t, c.confirm(confirmURL))
				require.Equal(t, 1, srv.Ledger().RepeatSubmits)
			} else {
				require.Empty(t, cf.Outcome)
				require.Empty(t, l.Reservations)
				require.Equal(t, "held", list[0].Status)
				require.Regexp(t, orderCodeRE, c.confirm(confirmURL).body)
				require.Zero(t, srv.Ledger().RepeatSubmits)
			}
		})
	}
}

func TestCartLatencyIsSplitAroundTheDecision(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := newCartSite(t, Options{Latency: 200 * time.Millisecond})
		c := memCart(t, s, "127.0.0.1")
		c.mustLogin("user002")
		before := s.Now()
		r := c.add(1, cartSlotAt(22, 1))
		require.Equal(t, http.StatusCreated, r.status)
		require.Equal(t, 200*time.Millisecond, s.Now().Sub(before))
		require.Equal(t, 100*time.Millisecond, lastSubmit(t, s).At.Sub(before), "decided halfway")
	})
}

func TestCartBlockedIP(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := newCartSite(t, Options{BlockRPS: 4, BlockFor: 30 * time.Second})
		c := memCart(t, s, "127.0.0.9")
		c.mustLogin("user002") // GET + POST /login
		require.Equal(t, http.StatusOK, c.get(CartPathResources).status)
		require.Equal(t, http.StatusCreated, c.add(1, cartSlotAt(22, 1)).status)

		r := c.add(1, cartSlotAt(22, 2))
		requireAPIError(t, r, http.StatusTooManyRequests, codeRateLimited, "Too many requests")
		require.Equal(t, "30", r.header.Get("Retry-After"))
		sub := lastSubmit(t, s)
		require.Equal(t, ResultBlocked, sub.Result)
		require.Equal(t, 2, sub.Slot)

		r = c.get(CartPathLogin)
		require.Equal(t, http.StatusTooManyRequests, r.status)
		require.Equal(t, "text/html; charset=utf-8", r.header.Get("Content-Type"))
		require.Contains(t, r.body, "<h1>Too many requests</h1>")
		require.NotEmpty(t, r.header.Get("Retry-After"))
		r = c.confirm("/checkout/C000001/confirm")
		require.Equal(t, http.StatusTooManyRequests, r.status)
		require.Equal(t, ResultBlocked, s.Ledger().Confirms[0].Result)

		other := memCart(t, s, "127.0.0.10")
		require.Equal(t, http.StatusOK, other.get(CartPathLogin).status, "only that IP is blocked")
		time.Sleep(30 * time.Second)
		require.Equal(t, http.StatusOK, c.get(CartPathResources).status)
	})
}
