package session_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/profile"
	"reserver/internal/session"
	"reserver/internal/sitesim"
)

// newTransport returns a loopback-only transport whose idle connections are
// closed when the test ends (goleak checks for their goroutines).
func newTransport(t *testing.T) *http.Transport {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

type simBundle struct {
	srv  *sitesim.Server
	prof *profile.Profile
	tr   *http.Transport
}

func setupSim(t *testing.T, file string, opts sitesim.Options) simBundle {
	t.Helper()
	srv, err := sitesim.Start(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	p, err := profile.Load("../../configs/sites/" + file)
	require.NoError(t, err)
	p, err = p.WithBaseURL(srv.URL())
	require.NoError(t, err)
	return simBundle{srv: srv, prof: p, tr: newTransport(t)}
}

func (b simBundle) session(t *testing.T, user string) *session.Session {
	t.Helper()
	s, err := session.New(session.Config{
		Profile:   b.prof,
		Account:   profile.AccountData{Username: user, Password: "pass1234"},
		Transport: b.tr,
	})
	require.NoError(t, err)
	return s
}

func booking(p *profile.Profile, court, start, name string) *profile.Data {
	return &profile.Data{Booking: profile.BookingData{
		ID:     1,
		Court:  court,
		Date:   time.Date(2026, 12, 1, 0, 0, 0, 0, p.Location),
		Start:  start,
		End:    "",
		Phone:  "+821012345678",
		Name:   name,
		People: 2,
	}}
}

// attempt visits the trace page and submits, as the daemon does for a
// profile whose token is single-use.
func attempt(ctx context.Context, t *testing.T, s *session.Session, d *profile.Data) *session.Result {
	t.Helper()
	tr, err := s.Do(ctx, profile.StepTrace, d)
	require.NoError(t, err)
	if tr.Class != profile.ClassSuccess {
		return tr
	}
	res, err := s.Do(ctx, profile.StepSubmit, d)
	require.NoError(t, err)
	return res
}

func TestCourtsimReachesEveryClass(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file, charset, name string
	}{
		{"courtsim.yaml", sitesim.CharsetUTF8, "Kim Court"},
		{"courtsim-euckr.yaml", sitesim.CharsetEUCKR, "홍길동"},
		{"courtsim.yaml", sitesim.CharsetUTF8, "홍길동"},
	} {
		t.Run(tc.file+"/"+tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			b := setupSim(t, tc.file, sitesim.Options{
				Charset: tc.charset, Accounts: 10, OpenAt: time.Now().Add(time.Hour),
			})
			me := b.session(t, "user001")
			gen, login, err := me.Login(ctx, 0)
			require.NoError(t, err)
			require.Equal(t, uint64(1), gen)
			require.Equal(t, profile.ClassSuccess, login.Class)
			require.Equal(t, 302, login.Status)

			d := booking(b.prof, "3", "09:00", tc.name)

			// Before the opening instant.
			res := attempt(ctx, t, me, d)
			require.Equal(t, profile.ClassNotOpen, res.Class, res.Excerpt)
			require.Contains(t, res.Excerpt, "예약 신청 기간이 아닙니다")

			b.srv.SetOpenAt(time.Time{})
			res = attempt(ctx, t, me, d)
			require.Equal(t, profile.ClassSuccess, res.Class, res.Excerpt)
			require.NotEmpty(t, res.Reservation)
			require.False(t, res.Ambiguous)
			led := b.srv.Ledger()
			require.Len(t, led.Reservations, 1)
			got := led.Reservations[0]
			require.Equal(t, res.Reservation, got.Number)
			require.Equal(t, tc.name, got.UserName, "the name survives the site charset")
			require.Equal(t, "010-1234-5678", got.UserTel)
			require.Equal(t, 3, got.Facility)
			require.Equal(t, 4, got.Slot, "09:00 is timeNo 4")
			require.Equal(t, "2026-12-01", got.Date)

			// The booking is in the list.
			v, err := me.Do(ctx, profile.StepVerify, d)
			require.NoError(t, err)
			require.Equal(t, profile.ClassSuccess, v.Class)
			require.Equal(t, res.Reservation, v.Reservation)
			// Another slot is not.
			v, err = me.Do(ctx, profile.StepVerify, booking(b.prof, "3", "10:00", tc.name))
			require.NoError(t, err)
			require.Equal(t, profile.ClassRetry, v.Class)

			// Same slot again from the same account.
			res = attempt(ctx, t, me, d)
			require.Equal(t, profile.ClassAlreadyMine, res.Class, res.Excerpt)

			// Another account wants it too.
			other := b.session(t, "user002")
			_, _, err = other.Login(ctx, 0)
			require.NoError(t, err)
			res = attempt(ctx, t, other, d)
			require.Equal(t, profile.ClassSoldOut, res.Class, res.Excerpt)

			// A submit whose token was consumed by the previous submit.
			res, err = me.Do(ctx, profile.StepSubmit, booking(b.prof, "4", "09:00", tc.name))
			require.NoError(t, err)
			require.Equal(t, profile.ClassRetry, res.Class, res.Excerpt)

			// Logged in elsewhere: the session is gone.
			b.srv.KickSessions("user001")
			res, err = me.Do(ctx, profile.StepSubmit, d)
			require.NoError(t, err)
			require.Equal(t, profile.ClassSessionExpired, res.Class)
			tr, err := me.Do(ctx, profile.StepTrace, d)
			require.NoError(t, err)
			require.Equal(t, profile.ClassSessionExpired, tr.Class)
			gen2, _, err := me.Login(ctx, gen)
			require.NoError(t, err)
			require.Equal(t, gen+1, gen2)
			res = attempt(ctx, t, me, booking(b.prof, "5", "11:00", tc.name))
			require.Equal(t, profile.ClassSuccess, res.Class, res.Excerpt)

			// Wrong password.
			bad, err := session.New(session.Config{Profile: b.prof, Transport: b.tr,
				Account: profile.AccountData{Username: "user003", Password: "wrong-pw"}})
			require.NoError(t, err)
			_, lr, err := bad.Login(ctx, 0)
			require.ErrorIs(t, err, session.ErrLoginFailed)
			require.Equal(t, profile.ClassFatal, lr.Class)
			require.NotContains(t, lr.Excerpt, "wrong-pw")
			require.NotContains(t, err.Error(), "wrong-pw")
		})
	}
}

func TestCourtsimBlocked(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ file, charset string }{
		{"courtsim.yaml", sitesim.CharsetUTF8},
		{"courtsim-euckr.yaml", sitesim.CharsetEUCKR},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			b := setupSim(t, tc.file, sitesim.Options{Charset: tc.charset, Accounts: 10, BlockRPS: 3, BlockFor: time.Minute})
			s := b.session(t, "user001")
			_, _, err := s.Login(ctx, 0)
			require.NoError(t, err)
			d := booking(b.prof, "1", "07:00", "홍길동")
			d.X = map[string]string{"rentToken": "stale"}
			var last *session.Result
			for range 6 {
				last, err = s.Do(ctx, profile.StepSubmit, d)
				require.NoError(t, err)
			}
			require.Equal(t, profile.ClassBlocked, last.Class, last.Excerpt)
			require.Equal(t, 403, last.Status)
			require.Contains(t, last.Excerpt, "차단")
			tr, err := s.Do(ctx, profile.StepTrace, d)
			require.NoError(t, err)
			require.Equal(t, profile.ClassBlocked, tr.Class)
		})
	}
}

func TestCourtsimPreWarmAndProbe(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := setupSim(t, "courtsim.yaml", sitesim.Options{Accounts: 10, Skew: 3 * time.Second})
	s := b.session(t, "user001")
	d := booking(b.prof, "2", "08:00", "홍길동")
	rs, err := s.PreWarm(ctx, d)
	require.NoError(t, err)
	require.Len(t, rs, 2)
	require.Equal(t, profile.StepLogin, rs[0].Step)
	require.Equal(t, profile.StepTrace, rs[1].Step)
	require.NotEmpty(t, s.Extracted()["rentToken"])

	pr, err := s.Probe(ctx)
	require.NoError(t, err)
	require.False(t, pr.Sent.After(pr.Received))
	off := pr.SiteDate.Sub(pr.Received)
	// One reading is good to the second: the skew is 3 s.
	require.InDelta(t, 3.0, off.Seconds(), 1.1)

	res, err := s.Do(ctx, profile.StepSubmit, d)
	require.NoError(t, err)
	require.Equal(t, profile.ClassSuccess, res.Class, res.Excerpt)
	require.NotContains(t, res.Excerpt, "pass1234")
	require.False(t, res.SiteDate.IsZero())
}
