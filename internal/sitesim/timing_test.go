package sitesim

import (
	"net/http"
	"net/url"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// The tests in this file wait on the simulator's clock. They run inside a
// synctest bubble, where time.Now is virtual and a sleep of minutes takes
// no real time, and drive Handler() in memory.

func TestBlockExpires(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Options{BlockRPS: 2, BlockFor: 10 * time.Second})
		require.NoError(t, err)
		c := &memClient{t: t, h: s.Handler(), ip: "127.0.0.9"}
		other := &memClient{t: t, h: s.Handler(), ip: "127.0.0.10"}

		require.Equal(t, http.StatusOK, c.do(http.MethodGet, PathLogin, nil).Code)
		require.Equal(t, http.StatusOK, c.do(http.MethodGet, PathLogin, nil).Code)
		rec := c.do(http.MethodGet, PathLogin, nil)
		require.Equal(t, http.StatusForbidden, rec.Code)
		require.Equal(t, "10", rec.Header().Get("Retry-After"))
		require.Contains(t, rec.Body.String(), "1분 후 다시 시도")
		require.Equal(t, http.StatusOK, other.do(http.MethodGet, PathLogin, nil).Code)

		// Requests while blocked do not extend the block.
		time.Sleep(6 * time.Second)
		rec = c.do(http.MethodGet, PathLogin, nil)
		require.Equal(t, http.StatusForbidden, rec.Code)
		require.Equal(t, "4", rec.Header().Get("Retry-After"))
		time.Sleep(4*time.Second - time.Millisecond)
		require.Equal(t, http.StatusForbidden, c.do(http.MethodGet, PathLogin, nil).Code)
		time.Sleep(time.Millisecond)
		require.Equal(t, http.StatusOK, c.do(http.MethodGet, PathLogin, nil).Code)
	})
}

func TestBlockWindowSlides(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Options{BlockRPS: 3, BlockFor: time.Minute})
		require.NoError(t, err)
		c := &memClient{t: t, h: s.Handler(), ip: "127.0.0.1"}
		get := func() int { return c.do(http.MethodGet, PathLogin, nil).Code }

		// Three requests a second, spread out, never trip the block.
		for range 12 {
			require.Equal(t, http.StatusOK, get())
			time.Sleep(334 * time.Millisecond)
		}
		// Four within one second do, even across a second boundary.
		time.Sleep(2 * time.Second)
		require.Equal(t, http.StatusOK, get())
		time.Sleep(600 * time.Millisecond)
		require.Equal(t, http.StatusOK, get())
		require.Equal(t, http.StatusOK, get())
		time.Sleep(399 * time.Millisecond)
		require.Equal(t, http.StatusForbidden, get())
	})
}

func TestSessionIdleExpiry(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Options{SessionIdle: 10 * time.Minute})
		require.NoError(t, err)
		c := &memClient{t: t, h: s.Handler(), ip: "127.0.0.1"}
		c.login("user001")

		// Each use restarts the idle timer.
		for range 3 {
			time.Sleep(9 * time.Minute)
			require.Equal(t, http.StatusOK, c.do(http.MethodGet, PathMain, nil).Code)
		}
		rec := c.do(http.MethodGet, formPath(1, testUseDate, 1), nil)
		require.Equal(t, http.StatusOK, rec.Code)
		tok := tokenRE.FindStringSubmatch(rec.Body.String())
		require.NotNil(t, tok)

		time.Sleep(10*time.Minute + time.Second)
		rec = c.do(http.MethodPost, PathApply, (&client{t: t}).applyForm(1, testUseDate, 1, tok[1], "홍길동"))
		require.Equal(t, http.StatusFound, rec.Code)
		require.Equal(t, PathLogin, rec.Header().Get("Location"))
		require.Equal(t, ResultNoSession, lastSubmit(t, s).Result)

		c.login("user001")
		require.Contains(t, c.book(1, testUseDate, 1).Body.String(), MsgSuccess)
	})
}

func TestOpeningGateWaits(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Options{Skew: 3 * time.Second})
		require.NoError(t, err)
		open := s.Now().Add(5 * time.Second)
		s.SetOpenAt(open)
		c := &memClient{t: t, h: s.Handler(), ip: "127.0.0.1"}
		c.login("user001")

		rec := c.book(1, testUseDate, 1)
		require.Contains(t, rec.Body.String(), MsgNotOpen)
		require.Equal(t, -5000.0, lastSubmit(t, s).OffsetMS)

		time.Sleep(5*time.Second - time.Millisecond)
		require.Contains(t, c.book(1, testUseDate, 1).Body.String(), MsgNotOpen)
		require.Equal(t, -1.0, lastSubmit(t, s).OffsetMS)

		time.Sleep(time.Millisecond) // exactly the opening instant
		rec = c.book(1, testUseDate, 1)
		require.Contains(t, rec.Body.String(), MsgSuccess)
		sub := lastSubmit(t, s)
		require.Equal(t, ResultSuccess, sub.Result)
		require.Equal(t, 0.0, sub.OffsetMS)
		require.True(t, sub.At.Equal(open))

		date, err := http.ParseTime(rec.Header().Get("Date"))
		require.NoError(t, err)
		require.True(t, date.Equal(open.Truncate(time.Second)), "Date %v, open %v", date, open)
	})
}

func TestLatencyIsSplitAroundHandling(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Options{Latency: 200 * time.Millisecond, Seed: 7})
		require.NoError(t, err)
		c := &memClient{t: t, h: s.Handler(), ip: "127.0.0.1"}
		c.login("user001")

		start := time.Now()
		rec := c.book(1, testUseDate, 1)
		require.Equal(t, 400*time.Millisecond, time.Since(start), "two requests, 200ms each")
		require.Contains(t, rec.Body.String(), MsgSuccess)
		// The submit arrived half a latency after it was sent.
		require.True(t, start.Add(300*time.Millisecond).Equal(lastSubmit(t, s).At))

		s.SetFaults(Faults{Latency: 100 * time.Millisecond, Jitter: 50 * time.Millisecond})
		for range 20 {
			start := time.Now()
			c.do(http.MethodGet, PathMain, nil)
			took := time.Since(start)
			require.GreaterOrEqual(t, took, 100*time.Millisecond)
			require.Less(t, took, 150*time.Millisecond)
		}

		// Ground truth is never delayed.
		start = time.Now()
		c.do(http.MethodGet, PathLedger, nil)
		require.Zero(t, time.Since(start))
	})
}

// With OpenLag the booking check runs behind (or ahead of) the Date
// clock: submits are answered not_open until OpenAt + OpenLag, and the
// ledger's offsets stay relative to OpenAt. The opening can be moved by
// POST /_sim/open-at.
func TestOpenLagMovesTheEdge(t *testing.T) {
	t.Parallel()
	for _, lag := range []time.Duration{20 * time.Millisecond, -5 * time.Millisecond} {
		synctest.Test(t, func(t *testing.T) {
			s, err := New(Options{OpenLag: lag})
			require.NoError(t, err)
			c := &memClient{t: t, h: s.Handler(), ip: "127.0.0.1"}
			c.login("user001")
			open := s.Now().Add(time.Second)
			rec := c.do(http.MethodPost, PathOpenAt, url.Values{"at": {open.Format(time.RFC3339Nano)}})
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			require.True(t, s.OpenAt().Equal(open))

			time.Sleep(time.Until(open.Add(lag - time.Millisecond)))
			require.Contains(t, c.book(1, testUseDate, 1).Body.String(), MsgNotOpen)
			require.InDelta(t, float64((lag-time.Millisecond)/time.Millisecond), lastSubmit(t, s).OffsetMS, 0.001)
			time.Sleep(time.Millisecond)
			require.Contains(t, c.book(1, testUseDate, 1).Body.String(), MsgSuccess)
		})
	}
	s, err := New(Options{})
	require.NoError(t, err)
	c := &memClient{t: t, h: s.Handler(), ip: "127.0.0.1"}
	rec := c.do(http.MethodPost, PathOpenAt, url.Values{"at": {"tomorrow"}})
	require.Equal(t, http.StatusBadRequest, rec.Code)
	require.Contains(t, rec.Body.String(), "RFC 3339")
	_, err = New(Options{OpenLag: 2 * time.Minute})
	require.ErrorContains(t, err, "open lag")
}
