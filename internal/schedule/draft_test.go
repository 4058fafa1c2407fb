package schedule

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
	"reserver/internal/draft"
	"reserver/internal/har"
	"reserver/internal/profile"
	"reserver/internal/sitesim"
)

// A profile drafted from a real browser's recording of one booking made by hand, used
// unchanged, books another slot at its opening instant (fake time): the
// daemon logs in, visits the pages the draft found, submits at T on the
// site's clock and records the number verify's rules would find.
func TestDaemonBooksWithADraftedProfile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The recording: one booking made by hand in a real Chromium
		// (internal/draft/testdata/README.md says how it was made).
		h, err := har.ReadFile("../draft/testdata/chromium-egov.har")
		require.NoError(t, err)
		res, err := draft.Draft(h, draft.Options{Name: "drafted", Sample: draft.Sample{
			Court: "3", Date: "2026-12-03", Start: "10:00", End: "11:00", Name: "홍길동", Phone: "010-1234-5678",
			Username: "user001", Password: "pass1234", Fields: map[string]string{"people": "2"}}})
		require.NoError(t, err)
		prof, err := res.Profile.WithBaseURL("http://drafted.test")
		require.NoError(t, err)

		// Another site instance, closed until T; another court, day and time.
		site, err := sitesim.New(sitesim.Options{Skew: 900 * time.Millisecond, Accounts: 50, Strict: true})
		require.NoError(t, err)
		opensAt := site.Now().Add(90 * time.Second).Truncate(time.Second)
		site.SetOpenAt(opensAt)
		b := newBundle(t)
		b.site, b.prof = site, prof
		b.tr = &sitesim.InProcess{Handler: site.Handler(), RemoteAddr: "127.0.0.1:40000"}
		bk, _, err := b.store.Create(context.Background(), booking.NewBooking{
			TenantID: b.tenant, Site: "drafted", Username: "user009", Password: "pass1234", Court: "6",
			PlayDate: opensAt.In(prof.Location).AddDate(0, 0, 7).Format(time.DateOnly), StartTime: "13:00", EndTime: "14:00",
			OpensAt: opensAt, WindowSeconds: 60, RatePerSecond: 2, Phone: "+821012345678", BookerName: "이순신",
			Fields: map[string]string{"people": "2"},
		})
		require.NoError(t, err)

		d, _ := b.daemonDB(t, "i1", func(c *Config) { c.Profiles = map[string]*profile.Profile{"drafted": prof} })
		require.NoError(t, d.Start(t.Context()))
		got := b.waitTerminal(t, bk.ID, 3*time.Minute)
		d.Stop()

		require.Equal(t, booking.Succeeded, got.State, "reason %s: %v\n%s", got.Reason, stepClasses(b.attempts(t, bk.ID)), res.YAML)
		led := site.Ledger()
		require.Len(t, led.Reservations, 1)
		r := led.Reservations[0]
		require.Equal(t, got.ReservationNo, r.Number, "the number the draft's success rule extracts")
		require.Equal(t, 6, r.Facility)
		require.Equal(t, 8, r.Slot, "13:00 is slot 8: the draft picks the option by its label")
		require.Equal(t, "이순신", r.UserName)
		require.GreaterOrEqual(t, led.Submits[0].OffsetMS, 0.0, "never early on the site's clock")
		require.LessOrEqual(t, led.Submits[0].OffsetMS, 10.0)
		require.Zero(t, led.RepeatSubmits)
	})
}

// The same for the cart flavour: a real Chromium's recording of one hold,
// contact and confirmation drafts a profile (prelogin, CSRF cookie, JSON,
// checkout) that books another court at its opening.
func TestDaemonBooksACartWithADraftedProfile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, err := har.ReadFile("../draft/testdata/chromium-cart.har")
		require.NoError(t, err)
		res, err := draft.Draft(h, draft.Options{Name: "drafted", Sample: draft.Sample{
			Court: "3", Date: "2026-12-03", Start: "10:00", End: "11:00", Name: "홍길동", Phone: "010-1234-5678",
			Username: "user001", Password: "pass1234"}})
		require.NoError(t, err)
		prof, err := res.Profile.WithBaseURL("http://drafted.test")
		require.NoError(t, err)
		require.Len(t, prof.Checkout, 3, "contact, the confirm page and its form")

		b := setupCart(t, sitesim.Options{Skew: -600 * time.Millisecond})
		b.prof = prof
		bk, _, err := b.store.Create(context.Background(), booking.NewBooking{
			TenantID: b.tenant, Site: "drafted", Username: "user003", Password: "pass1234",
			Court: "6", PlayDate: b.play.Format(time.DateOnly), StartTime: "10:00", EndTime: "11:00",
			OpensAt: b.opensAt, WindowSeconds: 60, RatePerSecond: 2, Phone: "+821012345678", BookerName: "이순신",
		})
		require.NoError(t, err)
		d, _ := b.daemonDB(t, "i1", func(c *Config) { c.Profiles = map[string]*profile.Profile{"drafted": prof} })
		require.NoError(t, d.Start(t.Context()))
		got := b.waitTerminal(t, bk.ID, 3*time.Minute)
		d.Stop()

		require.Equal(t, booking.Succeeded, got.State, "reason %s: %v\n%s", got.Reason, stepClasses(b.attempts(t, bk.ID)), res.YAML)
		led := b.site.Ledger()
		require.Len(t, led.Reservations, 1)
		require.Equal(t, got.ReservationNo, led.Reservations[0].Number)
		require.Equal(t, 6, led.Reservations[0].Facility)
		require.GreaterOrEqual(t, led.Submits[0].OffsetMS, 0.0, "never early on the site's clock")
		require.LessOrEqual(t, led.Submits[0].OffsetMS, 10.0)
	})
}
