package sitesim

import (
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestServerErrorsAreNotApplied(t *testing.T) {
	t.Parallel()
	srv := startSite(t, Options{FailRate: 1, Seed: 1})
	c := newClient(t, srv)
	c.mustLogin("user001") // pages other than the submit are not faulted by default
	statuses := map[int]bool{}
	for range 12 {
		r := c.book(1, testUseDate, 1)
		require.Contains(t, []int{http.StatusInternalServerError, http.StatusServiceUnavailable}, r.status)
		require.True(t, strings.Contains(r.body, MsgServerError) || strings.Contains(r.body, MsgUnavailable), r.body)
		require.NotEmpty(t, r.header.Get("Date"))
		statuses[r.status] = true
		sub := lastSubmit(t, srv.Site)
		require.Equal(t, ResultError5xx, sub.Result)
		require.Equal(t, "user001", sub.Account)
		require.Empty(t, sub.Reservation)
	}
	require.Len(t, statuses, 2, "both 500 and 503 occur")
	require.Empty(t, srv.Ledger().Reservations)

	srv.SetFaults(Faults{FailRate: 1, FailPages: true})
	require.Equal(t, http.StatusOK, c.get(PathLedger).status)
	r := c.get(PathMain)
	require.GreaterOrEqual(t, r.status, 500)

	srv.SetFaults(Faults{})
	require.Contains(t, c.book(1, testUseDate, 1).body, MsgSuccess)
}

func TestResetFaults(t *testing.T) {
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
			srv := startSite(t, Options{ResetRate: 1, ResetApplied: tt.applied})
			c := newClient(t, srv)
			c.mustLogin("user001")
			tok := c.visit(1, testUseDate, 1)

			_, err := c.try(http.MethodPost, PathApply, c.applyForm(1, testUseDate, 1, tok, "홍길동"))
			require.Error(t, err)
			require.ErrorIs(t, err, syscall.ECONNRESET, "an RST, not a clean close")

			sub := lastSubmit(t, srv.Site)
			require.Equal(t, tt.want, sub.Result)
			l := srv.Ledger()
			if tt.want == ResultResetApplied {
				require.Equal(t, ResultSuccess, sub.Outcome)
				require.Len(t, l.Reservations, 1)
				require.Equal(t, l.Reservations[0].Number, sub.Reservation)
			} else {
				require.Empty(t, sub.Outcome)
				require.Empty(t, l.Reservations)
				require.Empty(t, sub.Reservation)
			}

			// The client verifies before retrying, as it must.
			srv.SetFaults(Faults{})
			list := c.get(PathRentList)
			if tt.want == ResultResetApplied {
				require.Contains(t, list.body, sub.Reservation)
				require.Contains(t, c.book(1, testUseDate, 1).body, MsgAlreadyMine)
			} else {
				require.Contains(t, list.body, "예약 내역이 없습니다")
				require.Contains(t, c.book(1, testUseDate, 1).body, MsgSuccess)
			}
		})
	}
}

func TestResetFractionFollowsSeed(t *testing.T) {
	t.Parallel()
	count := func(seed int64) map[fault]int {
		fi := newFaultInjector(seed, Faults{FailRate: 0.2, ResetRate: 0.3})
		got := map[fault]int{}
		for range 10000 {
			got[fi.decide(true)]++
		}
		return got
	}
	a, b := count(42), count(42)
	require.Equal(t, a, b, "same seed, same sequence")
	require.InDelta(t, 1000, a[fault500], 150)
	require.InDelta(t, 1000, a[fault503], 150)
	require.InDelta(t, 1500, a[faultResetApplied], 200, "default: half of resets applied")
	require.InDelta(t, 1500, a[faultResetNotApplied], 200)
	require.InDelta(t, 5000, a[faultNone], 300)

	fi := newFaultInjector(1, Faults{FailRate: 0.5, ResetRate: 0.5})
	for range 100 {
		f := fi.decide(false)
		require.Equal(t, faultNone, f, "pages are not faulted without FailPages")
	}
}

func TestCloseAbortsPendingLatency(t *testing.T) {
	t.Parallel()
	srv, err := Start(Options{Latency: time.Hour})
	require.NoError(t, err)
	c := newClient(t, srv)

	errc := make(chan error, 1)
	go func() {
		_, err := c.try(http.MethodGet, PathLogin, nil)
		errc <- err
	}()
	require.Eventually(t, func() bool { return srv.active.Load() > 0 }, 5*time.Second, time.Millisecond,
		"the request never reached the handler")
	start := time.Now()
	require.NoError(t, srv.Close())
	require.Less(t, time.Since(start), 2*time.Second)
	require.Error(t, <-errc)
	require.NoError(t, srv.Close(), "closing twice is safe")
}
