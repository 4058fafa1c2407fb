package session_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/profile"
	"reserver/internal/session"
	"reserver/internal/sitesim"
)

// cartBooking is a booking of court 3 from 10:00 to 11:00, days from today
// in the site zone: within the 72 h notice for days ≤ 2, beyond it after.
func cartBooking(p *profile.Profile, days int) *profile.Data {
	now := time.Now().In(p.Location)
	return &profile.Data{Booking: profile.BookingData{
		ID: 1, Court: "3", Start: "10:00", End: "11:00",
		Date:  time.Date(now.Year(), now.Month(), now.Day()+days, 0, 0, 0, 0, p.Location),
		Phone: "+821012345678", Name: "홍길동", People: 1,
	}}
}

func cartSim(t *testing.T, opts sitesim.Options) simBundle {
	t.Helper()
	opts.Flavor = sitesim.FlavorCart
	return setupSim(t, "cartsim.yaml", opts)
}

func do(t *testing.T, s *session.Session, step string, d *profile.Data) *session.Result {
	t.Helper()
	res, err := s.Do(context.Background(), step, d)
	require.NoError(t, err)
	return res
}

func login(t *testing.T, s *session.Session) *session.Result {
	t.Helper()
	_, res, err := s.Login(context.Background(), 0)
	require.NoError(t, err)
	return res
}

// TestCartsimEveryClass drives the cart flavour through the cartsim
// profile and reaches every class its rules give, in both languages.
func TestCartsimEveryClass(t *testing.T) {
	t.Parallel()
	b := cartSim(t, sitesim.Options{})
	ctx := context.Background()
	for _, user := range []string{"user001", "user002"} { // ko, en
		t.Run(user, func(t *testing.T) {
			bad, err := session.New(session.Config{Profile: b.prof, Transport: b.tr,
				Account: profile.AccountData{Username: user, Password: "wrong"}})
			require.NoError(t, err)
			_, res, err := bad.Login(ctx, 0)
			var le *session.LoginError
			require.ErrorAs(t, err, &le)
			require.Equal(t, profile.ClassFatal, le.Class, "a wrong password in the account's language")
			require.Len(t, res.Before, 1, "the login form was visited first")
			require.Equal(t, profile.StepPrelogin, res.Before[0].Step)
		})
	}

	s := b.session(t, "user003")
	res := login(t, s)
	require.Equal(t, profile.ClassSuccess, res.Class)
	require.Equal(t, profile.ClassSuccess, do(t, s, "resources", nil).Class)

	far := cartBooking(b.prof, 10)
	require.Equal(t, profile.ClassNotOpen, do(t, s, profile.StepSubmit, far).Class, "beyond the maximum notice")

	d := cartBooking(b.prof, 2)
	require.Equal(t, profile.ClassRetry, do(t, s, profile.StepVerify, d).Class, "nothing booked yet")
	held := do(t, s, profile.StepSubmit, d)
	require.Equal(t, profile.ClassHeld, held.Class, held.Excerpt)
	require.NotEmpty(t, held.Extracted["hold_id"])
	v := do(t, s, profile.StepVerify, d)
	require.Equal(t, profile.ClassHeld, v.Class, "verify sees the hold")
	require.Equal(t, held.Extracted["hold_id"], v.Extracted["hold_id"])
	require.Equal(t, profile.ClassConflict, do(t, s, profile.StepSubmit, d).Class, "our own hold answers like anyone's")

	other := b.session(t, "user004")
	login(t, other)
	require.Equal(t, profile.ClassConflict, do(t, other, profile.StepSubmit, d).Class, "someone else's hold")
	require.Equal(t, profile.ClassRetry, do(t, other, profile.StepVerify, d).Class, "not this account's")

	c := do(t, s, "contact", d)
	require.Equal(t, profile.ClassSuccess, c.Class, c.Excerpt)
	done := do(t, s, "confirm", d)
	require.Equal(t, profile.ClassSuccess, done.Class, done.Excerpt)
	require.Regexp(t, `^RS-\d+$`, done.Reservation)
	v = do(t, s, profile.StepVerify, d)
	require.Equal(t, profile.ClassSuccess, v.Class)
	require.Equal(t, done.Reservation, v.Reservation, "verify finds the order code")
	led := b.srv.Ledger()
	require.Len(t, led.Reservations, 1)
	require.Equal(t, done.Reservation, led.Reservations[0].Number)

	// The generic 200 error page for a court the site lacks is unknown.
	bogus := cartBooking(b.prof, 2)
	bogus.Booking.Court = "99"
	require.Equal(t, profile.ClassUnknown, do(t, s, profile.StepSubmit, bogus).Class)

	// A login elsewhere ends this session: the API answers 401.
	login(t, b.session(t, "user003"))
	require.Equal(t, profile.ClassSessionExpired, do(t, s, profile.StepSubmit, cartBooking(b.prof, 1)).Class)
	require.Equal(t, profile.ClassSessionExpired, do(t, s, "resources", nil).Class)
}

// TestCartsimCSRFCookieIsEchoed shows that the site really checks the
// header the profile fills from the jar's cookie: the same profile reading
// another cookie sends an empty header, and the site refuses the submit.
func TestCartsimCSRFCookieIsEchoed(t *testing.T) {
	t.Parallel()
	b := cartSim(t, sitesim.Options{})
	src, err := os.ReadFile("../../configs/sites/cartsim.yaml")
	require.NoError(t, err)
	wrong := strings.ReplaceAll(string(src), `index .Cookies "XSRF-TOKEN"`, `index .Cookies "NO-SUCH-COOKIE"`)
	p, err := profile.Parse("cartsim-wrong.yaml", []byte(wrong))
	require.NoError(t, err)
	p, err = p.WithBaseURL(b.srv.URL())
	require.NoError(t, err)
	for _, c := range []struct {
		prof *profile.Profile
		want profile.Class
	}{{b.prof, profile.ClassHeld}, {p, profile.ClassSessionExpired}} {
		s, err := session.New(session.Config{Profile: c.prof, Transport: b.tr,
			Account: profile.AccountData{Username: "user001", Password: "pass1234"}})
		require.NoError(t, err)
		login(t, s)
		res := do(t, s, profile.StepSubmit, cartBooking(b.prof, 1))
		require.Equal(t, c.want, res.Class, res.Excerpt)
		if c.want == profile.ClassSessionExpired {
			require.Equal(t, 403, res.Status)
		}
	}
}

func TestCartsimBlockedAndRetry(t *testing.T) {
	t.Parallel()
	b := cartSim(t, sitesim.Options{FailRate: 1})
	s := b.session(t, "user001")
	login(t, s)
	res := do(t, s, profile.StepSubmit, cartBooking(b.prof, 1))
	require.Equal(t, profile.ClassRetry, res.Class)
	require.True(t, res.Ambiguous, "a 5xx may have been applied")

	blk := cartSim(t, sitesim.Options{BlockRPS: 1, BlockFor: time.Minute})
	s = blk.session(t, "user001")
	_, res, _ = s.Login(context.Background(), 0)
	for res.Class != profile.ClassBlocked {
		res = do(t, s, "resources", nil)
	}
	require.Equal(t, profile.ClassBlocked, res.Class)
}

// TestCartsimCheckSubmitBooks is `reserver check --submit` against the cart
// flavour: the hold, both checkout steps, and verify finding the order.
func TestCartsimCheckSubmitBooks(t *testing.T) {
	t.Parallel()
	b := cartSim(t, sitesim.Options{})
	var out strings.Builder
	ok, err := session.Rehearse(context.Background(), b.prof, profile.AccountData{Username: "user002", Password: "pass1234"},
		cartBooking(b.prof, 2), session.RehearseOptions{Transport: b.tr, Submit: true, Probes: 2, ProbeSpacing: time.Millisecond}, &out)
	require.NoError(t, err)
	require.True(t, ok, out.String())
	for _, want := range []string{"prelogin GET  /login", "login   POST /login", "resources GET  /api/resources",
		"submit  POST /api/cart/items  201", "held", "contact POST /api/checkout  200", "confirm POST /checkout/",
		"reservation=RS-", "verify  GET  /api/reservations  200", "(this slot is booked by this account)", "healthy"} {
		require.Contains(t, out.String(), want)
	}
	require.Len(t, b.srv.Ledger().Reservations, 1)
}

// TestCartsimSubmitRenders checks what the submit sends: the CSRF header
// from .Cookies, a JSON body with a number and ISO times with the offset.
func TestCartsimSubmitRenders(t *testing.T) {
	t.Parallel()
	b := cartSim(t, sitesim.Options{})
	req, err := b.prof.Render(b.prof.Submit, &profile.Data{Booking: cartBooking(b.prof, 1).Booking,
		Cookies: map[string]string{"XSRF-TOKEN": "abc"}})
	require.NoError(t, err)
	require.Equal(t, "abc", req.Header.Get("X-Xsrf-Token"))
	require.JSONEq(t, `{"resource_id":3,"start":"`+cartBooking(b.prof, 1).Booking.StartAt().Format(time.RFC3339)+
		`","end":"`+cartBooking(b.prof, 1).Booking.EndAt().Format(time.RFC3339)+`"}`, string(req.Body))
}
