package sitesim

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCartOptionsAreValidated(t *testing.T) {
	t.Parallel()
	cart := func(o Options) Options { o.Flavor = FlavorCart; return o }
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"cart", cart(Options{}), ""},
		{"flavor any case", Options{Flavor: " Cart "}, ""},
		{"egov explicit", Options{Flavor: "egov"}, ""},
		{"unknown flavor lists the valid ones", Options{Flavor: "shop"}, `flavor must be one of egov, cart, got "shop"`},
		{"open at with cart", cart(Options{OpenAt: time.Now()}), "open at does not apply to the cart flavor"},
		{"euc-kr with cart", cart(Options{Charset: CharsetEUCKR}), "charset must be"},
		{"too many slots for cart", cart(Options{Slots: 19}), "slots must be in 1..18"},
		{"eighteen slots", cart(Options{Slots: 18}), ""},
		{"negative notice", cart(Options{Notice: -time.Hour}), "notice must not be negative"},
		{"negative hold", cart(Options{HoldFor: -time.Minute}), "hold for must not be negative"},
		{"sub-second hold", cart(Options{HoldFor: 500 * time.Millisecond}), "at least 1s"},
		{"negative list days", cart(Options{ListDays: -1}), "list days"},
		{"too many list days", cart(Options{ListDays: 5000}), "list days"},
		{"negative notice with egov", Options{Notice: -time.Hour}, "notice must not be negative"},
		{"egov keeps its options", Options{OpenAt: time.Now(), Charset: CharsetEUCKR, Slots: 48}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := New(tt.opts)
			if tt.wantErr == "" {
				require.NoError(t, err)
				require.NotNil(t, s)
				return
			}
			require.ErrorIs(t, err, ErrInvalidOptions)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestCartOptionDefaults(t *testing.T) {
	t.Parallel()
	s, err := New(Options{})
	require.NoError(t, err)
	o := s.Options()
	require.Equal(t, FlavorEgov, o.Flavor)
	require.Equal(t, NoticeDefault, o.Notice)
	require.Equal(t, HoldForDefault, o.HoldFor)
	require.Equal(t, ListDaysDefault, o.ListDays)
	require.Equal(t, 72*time.Hour, NoticeDefault)
	require.Equal(t, 10*time.Minute, HoldForDefault)
	require.Equal(t, 14, ListDaysDefault)

	s, err = New(Options{Flavor: "CART"})
	require.NoError(t, err)
	require.Equal(t, FlavorCart, s.Options().Flavor)
}

// TestCartConcurrentHoldsOneWinner races many accounts, and one account
// against itself, for one slot: exactly one hold, everyone else the
// conflict, and the ledger's repeats are exactly the winner's own extra
// submits.
func TestCartConcurrentHoldsOneWinner(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := newCartSite(t, Options{})
		const accounts = 16
		clients := make([]*cartClient, accounts)
		for i := range clients {
			clients[i] = memCart(t, s, fmt.Sprintf("127.0.0.%d", i+1))
			clients[i].mustLogin(s.AccountName(i + 1))
		}
		start := cartSlotAt(22, 9)
		var wg sync.WaitGroup
		statuses := make([][]int, accounts)
		for i, c := range clients {
			wg.Go(func() {
				for range 3 {
					statuses[i] = append(statuses[i], c.add(5, start).status)
				}
			})
		}
		wg.Wait()

		held := 0
		for _, st := range statuses {
			for _, code := range st {
				switch code {
				case http.StatusCreated:
					held++
				case http.StatusConflict:
				default:
					t.Fatalf("status %d", code)
				}
			}
		}
		require.Equal(t, 1, held)
		l := s.Ledger()
		require.Len(t, l.Holds, 1)
		winner := l.Holds[0].Account
		repeats := 0
		for _, sub := range l.Submits {
			if sub.Repeat {
				require.Equal(t, winner, sub.Account)
				require.Equal(t, ResultAlreadyMine, sub.Result)
				repeats++
			}
		}
		require.Equal(t, l.RepeatSubmits, repeats)
		require.Equal(t, 2, repeats, "the winner's two later submits")
	})
}
