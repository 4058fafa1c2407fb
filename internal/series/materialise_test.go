package series

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
	"reserver/internal/database"
	"reserver/internal/database/dbtest"
	"reserver/internal/profile"
	"reserver/internal/secret"
	"reserver/internal/tenant"
)

// weekSite opens a slot seven days before its date at 09:00 in Seoul
// (atStart: at the slot's start time), and caps each account by limits.
type weekSite struct {
	noRule  bool
	atStart bool
	limits  profile.AccountLimits
}

func (weekSite) Location() *time.Location { return seoul }
func (s weekSite) OpensAt(d time.Time, start, _ string) (time.Time, bool) {
	if s.noRule {
		return time.Time{}, false
	}
	hour, minute := 9, 0
	if s.atStart {
		at, _ := time.Parse("15:04", start)
		hour, minute = at.Hour(), at.Minute()
	}
	return time.Date(d.Year(), d.Month(), d.Day()-7, hour, minute, 0, 0, seoul), true
}

func (s weekSite) AccountLimits() profile.AccountLimits { return s.limits }

type siteMap map[string]weekSite

func (m siteMap) Site(name string) (Site, bool) {
	s, ok := m[name]
	return s, ok
}

var testSites = siteMap{"courtsim": {}}

type bundle struct {
	db       *database.DB
	series   *Store
	bookings *booking.Store
	tenant   int64
}

var testKey = bytes.Repeat([]byte{7}, secret.KeySize)

func open(t *testing.T, db *database.DB) bundle {
	t.Helper()
	box, err := secret.NewBox(testKey)
	require.NoError(t, err)
	ts := tenant.NewStore(db)
	ctx := context.Background()
	tok, err := ts.CreateToken(ctx, "acme", tenant.RoleUser)
	require.NoError(t, err)
	p, err := ts.Authenticate(ctx, tok)
	require.NoError(t, err)
	return bundle{db: db, series: NewStore(db, box), bookings: booking.NewStore(db, box), tenant: p.TenantID}
}

func (b bundle) materialiser(t *testing.T) *Materialiser {
	t.Helper()
	return b.materialiserOf(t, testSites)
}

func (b bundle) materialiserOf(t *testing.T, sites Sites) *Materialiser {
	t.Helper()
	m, err := New(Config{Series: b.series, Bookings: b.bookings, Sites: sites, Horizon: 30 * 24 * time.Hour})
	require.NoError(t, err)
	return m
}

// saturdays is a season of Saturdays (2027-03-06 … 04-24) less 03-20.
func saturdays(tenantID int64) NewSeries {
	return NewSeries{
		TenantID: tenantID, Site: "courtsim", Username: "user001", Password: "S3cr3t!", Court: "3",
		Rule: Rule{Weekdays: []time.Weekday{time.Saturday}, Start: "10:00", End: "12:00"},
		From: "2027-03-01", Until: "2027-04-30", Skip: []string{"2027-03-20"},
		WindowSeconds: 300, RatePerSecond: 2, Phone: "+821012345678", BookerName: "Kim",
		Fields: map[string]string{"people": "4"},
	}
}

// kst is a site-local instant.
func kst(date string, hour int) time.Time {
	d := day(date)
	return time.Date(d.Year(), d.Month(), d.Day(), hour, 0, 0, 0, seoul)
}

func playDates(t *testing.T, db *database.DB) []string {
	t.Helper()
	var out []string
	require.NoError(t, db.Table("bookings").Order("play_date").Pluck("play_date", &out).Error)
	return out
}

// withChoices is s with three choices a Saturday (court 3 at the
// series' time, else court 4, else court 1 at noon) and notify settings.
func withChoices(s NewSeries) NewSeries {
	s.Court = ""
	s.Choices = []booking.Choice{{Court: "3", Start: "10:00", End: "12:00"}, {Court: "4", Start: "10:00", End: "12:00"}, {Court: "1", Start: "12:00", End: "13:00"}}
	s.NotifyOn, s.NotifyLanguage = booking.NotifyAlways, "en"
	return s
}

// choicesOn are withChoices' choices on date.
func choicesOn(date string) []booking.Choice {
	return []booking.Choice{{Court: "3", Date: date, Start: "10:00", End: "12:00"}, {Court: "4", Date: date, Start: "10:00", End: "12:00"},
		{Court: "1", Date: date, Start: "12:00", End: "13:00"}}
}

// Two materialisers on one database race through the same passes: every
// occurrence is booked once, the skipped date never, and each pass
// creates only what its horizon reaches. The series has choices and
// notify settings, which every booking carries with its date, and the
// site allows one reservation a day: a racing materialiser's booking of
// the same occurrence is that occurrence's, not a reason to refuse it.
func TestTwoMaterialisersCreateOnce(t *testing.T) {
	t.Parallel()
	for _, dialect := range []database.Dialect{database.SQLite, database.MySQL} {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			dsn := dbtest.DSN(t, dialect)
			var bs [2]bundle
			for i := range bs {
				db, err := database.Open(dsn)
				require.NoError(t, err)
				t.Cleanup(func() { db.Close() })
				if i == 0 {
					bs[i] = open(t, db)
					continue
				}
				box, err := secret.NewBox(testKey)
				require.NoError(t, err)
				bs[i] = bundle{db: db, series: NewStore(db, box), bookings: booking.NewStore(db, box), tenant: bs[0].tenant}
			}
			ctx := context.Background()
			sr, created, err := bs[0].series.Create(ctx, withChoices(saturdays(bs[0].tenant)))
			require.NoError(t, err)
			require.True(t, created)
			sites := siteMap{"courtsim": {limits: profile.AccountLimits{PerDay: 1}}}
			ms := [2]*Materialiser{bs[0].materialiserOf(t, sites), bs[1].materialiserOf(t, sites)}

			race := func(now time.Time) int {
				var wg sync.WaitGroup
				var mu sync.Mutex
				total := 0
				for _, m := range ms {
					for range 3 {
						wg.Go(func() {
							res, err := m.RunOnce(ctx, now)
							require.NoError(t, err)
							require.Zero(t, res.Refused, "no occurrence is refused")
							mu.Lock()
							total += res.Created
							mu.Unlock()
						})
					}
				}
				wg.Wait()
				return total
			}
			// On 02-25 a 30-day horizon reaches the openings up to 03-27
			// 09:00, i.e. the play dates up to 04-03.
			require.Equal(t, 4, race(kst("2027-02-25", 12)))
			require.Equal(t, []string{"2027-03-06", "2027-03-13", "2027-03-27", "2027-04-03"}, playDates(t, bs[0].db))
			require.Equal(t, 0, race(kst("2027-02-25", 12)), "a second pass creates nothing")
			require.Equal(t, 3, race(kst("2027-03-28", 12)))
			require.Equal(t, []string{"2027-03-06", "2027-03-13", "2027-03-27", "2027-04-03", "2027-04-10", "2027-04-17", "2027-04-24"},
				playDates(t, bs[0].db))

			occ, err := bs[1].series.Occurrences(ctx, sr.ID)
			require.NoError(t, err)
			require.Len(t, occ[sr.ID], 7)
			for _, o := range occ[sr.ID] {
				require.NotNil(t, o.BookingID, o.PlayDate+": "+o.Note)
				b, err := bs[0].bookings.Get(ctx, booking.Scope{TenantID: bs[0].tenant}, *o.BookingID)
				require.NoError(t, err)
				require.Equal(t, o.PlayDate, b.PlayDate)
				require.Equal(t, booking.Queued, b.State)
				require.Equal(t, "3", b.Court)
				require.Equal(t, "10:00", b.StartTime)
				require.Equal(t, "12:00", b.EndTime)
				require.Equal(t, "+821012345678", b.Phone)
				require.Equal(t, map[string]string{"people": "4"}, b.FieldMap())
				require.Equal(t, choicesOn(o.PlayDate), b.Choices())
				require.Equal(t, booking.NotifyAlways, b.NotifyOn)
				require.Equal(t, "en", b.NotifyLanguage)
				require.True(t, kst(o.PlayDate, 9).AddDate(0, 0, -7).Equal(b.OpensAt), o.PlayDate)
				pw, err := bs[0].bookings.LoginPassword(b)
				require.NoError(t, err)
				require.Equal(t, "S3cr3t!", pw)
			}
		})
	}
}

func TestPauseResumeEnd(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := open(t, db)
		ctx := context.Background()
		m := b.materialiser(t)
		sr, _, err := b.series.Create(ctx, saturdays(b.tenant))
		require.NoError(t, err)
		sc := booking.Scope{TenantID: b.tenant}

		got, err := b.series.SetState(ctx, sc, sr.ID, Paused)
		require.NoError(t, err)
		require.Equal(t, Paused, got.State)
		res, err := m.RunOnce(ctx, kst("2027-02-25", 12))
		require.NoError(t, err)
		require.Zero(t, res.Created, "a paused series creates nothing")
		require.Empty(t, playDates(t, db))

		// Resumed on 03-08: the openings of 03-06 and 03-13 have passed
		// (missed while paused), the next four are within the horizon.
		_, err = b.series.SetState(ctx, sc, sr.ID, Active)
		require.NoError(t, err)
		res, err = m.RunOnce(ctx, kst("2027-03-08", 12))
		require.NoError(t, err)
		require.Equal(t, 3, res.Created)
		require.Equal(t, []string{"2027-03-27", "2027-04-03", "2027-04-10"}, playDates(t, db))

		ended, err := b.series.SetState(ctx, sc, sr.ID, Ended)
		require.NoError(t, err)
		require.Equal(t, Ended, ended.State)
		require.NotNil(t, ended.EndedAt)
		res, err = m.RunOnce(ctx, kst("2027-04-01", 12))
		require.NoError(t, err)
		require.Zero(t, res.Created, "an ended series creates nothing more")
		_, err = b.series.SetState(ctx, sc, sr.ID, Active)
		require.ErrorIs(t, err, ErrEnded)

		_, err = b.series.SetState(ctx, booking.Scope{TenantID: b.tenant + 1000}, sr.ID, Paused)
		require.ErrorIs(t, err, ErrNotFound, "another tenant's series is not found")
	})
}

// A cancelled or refused occurrence does not stop the series, and a
// cancelled one is not booked again.
func TestFailedOccurrenceDoesNotStopSeries(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := open(t, db)
		ctx := context.Background()
		m := b.materialiser(t)
		// The tenant booked 03-13 by hand already.
		own := booking.NewBooking{TenantID: b.tenant, Site: "courtsim", Username: "user001", Password: "S3cr3t!", Court: "3",
			PlayDate: "2027-03-13", StartTime: "10:00", EndTime: "12:00", OpensAt: kst("2027-03-06", 9), WindowSeconds: 300, RatePerSecond: 2}
		_, _, err := b.bookings.Create(ctx, own)
		require.NoError(t, err)
		sr, _, err := b.series.Create(ctx, saturdays(b.tenant))
		require.NoError(t, err)

		res, err := m.RunOnce(ctx, kst("2027-02-25", 12))
		require.NoError(t, err)
		require.Equal(t, Result{Created: 3, Recorded: 4, Refused: 1}, res)
		occ, err := b.series.Occurrences(ctx, sr.ID)
		require.NoError(t, err)
		require.Nil(t, occ[sr.ID][1].BookingID)
		require.Contains(t, occ[sr.ID][1].Note, "already has an active booking of this court and slot")

		first := *occ[sr.ID][0].BookingID
		_, err = b.bookings.Cancel(ctx, booking.Scope{TenantID: b.tenant}, first, booking.ReasonUser)
		require.NoError(t, err)
		res, err = m.RunOnce(ctx, kst("2027-03-28", 12))
		require.NoError(t, err)
		require.Equal(t, 3, res.Created, "the series goes on")
		var n int64
		require.NoError(t, db.Table("bookings").Where("play_date = ?", "2027-03-06").Count(&n).Error)
		require.Equal(t, int64(1), n, "a cancelled occurrence is not booked again")
	})
}

// A pass that stopped between an occurrence's booking and its record
// finds the booking again (its Idempotency-Key) and records it.
func TestLostRecordIsFoundAgain(t *testing.T) {
	t.Parallel()
	b := open(t, dbtest.SQLite(t))
	ctx := context.Background()
	sr, _, err := b.series.Create(ctx, saturdays(b.tenant))
	require.NoError(t, err)
	m := b.materialiser(t)
	res, err := m.RunOnce(ctx, kst("2027-02-25", 12))
	require.NoError(t, err)
	require.Equal(t, 4, res.Created)
	require.NoError(t, b.db.Exec("DELETE FROM series_occurrences WHERE play_date = ?", "2027-03-13").Error)
	res, err = m.RunOnce(ctx, kst("2027-02-25", 12))
	require.NoError(t, err)
	require.Equal(t, Result{Recorded: 1}, res)
	require.Len(t, playDates(t, b.db), 4)
	occ, err := b.series.Occurrences(ctx, sr.ID)
	require.NoError(t, err)
	require.Len(t, occ[sr.ID], 4)
}

// The daemon's materialiser passes once at start and then at every tick
// of its cron spec, until Stop: in a bubble where each minute of the
// fake clock is a day of the site's calendar, the season's occurrences
// appear as their openings come within the horizon, and none after Stop.
func TestStartStop(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := open(t, dbtest.SQLite(t))
		ctx := context.Background()
		_, _, err := b.series.Create(ctx, saturdays(b.tenant))
		require.NoError(t, err)
		start := time.Now()
		var mu sync.Mutex
		passes := 0
		siteNow := func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			passes++
			return kst("2027-02-25", 12).Add(time.Since(start) * 24 * 60) // a minute is a day
		}
		m, err := New(Config{Series: b.series, Bookings: b.bookings, Sites: testSites, Horizon: 7 * 24 * time.Hour,
			Every: "@every 1m", Now: siteNow})
		require.NoError(t, err)
		m.Stop() // before Start: nothing to stop
		require.NoError(t, m.Start(ctx))
		require.Error(t, m.Start(ctx), "starting twice")
		synctest.Wait()
		// 02-25 12:00 + 7 days reaches the opening of 03-06 (02-27 09:00)
		// only.
		require.Equal(t, []string{"2027-03-06"}, playDates(t, b.db), "the pass at start")

		time.Sleep(7*time.Minute + time.Second) // to 03-04 12:00: openings up to 03-11
		synctest.Wait()
		require.Equal(t, []string{"2027-03-06", "2027-03-13"}, playDates(t, b.db))
		time.Sleep(30 * time.Minute) // to 04-03: every opening up to 04-10
		synctest.Wait()
		require.Equal(t, []string{"2027-03-06", "2027-03-13", "2027-03-27", "2027-04-03", "2027-04-10", "2027-04-17"}, playDates(t, b.db))
		m.Stop()
		m.Stop()
		mu.Lock()
		before := passes
		mu.Unlock()
		time.Sleep(time.Hour)
		synctest.Wait()
		mu.Lock()
		require.Equal(t, before, passes, "no pass after Stop")
		mu.Unlock()
		require.Len(t, playDates(t, b.db), 6)
	})

	b := open(t, dbtest.SQLite(t))
	_, err := New(Config{Series: b.series, Bookings: b.bookings, Sites: testSites, Every: "every minute"})
	require.ErrorContains(t, err, `every "every minute"`)
}

// A series stores its choices without dates and its notify settings;
// each occurrence's booking gets the choices on its date, and a cron
// rule's choice without times takes the occurrence's slot.
func TestChoicesAndNotifyReachTheBookings(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := open(t, db)
		ctx := context.Background()
		sr, _, err := b.series.Create(ctx, withChoices(saturdays(b.tenant)))
		require.NoError(t, err)
		require.Equal(t, "3", sr.Court, "the first choice's court")
		got, err := b.series.Get(ctx, booking.Scope{TenantID: b.tenant}, sr.ID)
		require.NoError(t, err)
		require.Equal(t, withChoices(NewSeries{}).Choices, got.Choices())
		require.Equal(t, booking.NotifyAlways, got.NotifyOn)
		require.Equal(t, "en", got.NotifyLanguage)

		cron := saturdays(b.tenant)
		cron.Rule = Rule{Cron: "30 7 * * sun", SlotMinutes: 90}
		cron.Username = "user002"
		cron.Choices = []booking.Choice{{Court: "5"}, {Court: "6"}, {Court: "2", Start: "12:00", End: "13:00"}}
		crs, _, err := b.series.Create(ctx, cron)
		require.NoError(t, err)

		res, err := b.materialiser(t).RunOnce(ctx, kst("2027-02-25", 12))
		require.NoError(t, err)
		require.Equal(t, Result{Created: 8, Recorded: 8}, res)
		occ, err := b.series.Occurrences(ctx, sr.ID, crs.ID)
		require.NoError(t, err)
		require.Len(t, occ[sr.ID], 4)
		for _, o := range occ[sr.ID] {
			bk, err := b.bookings.Get(ctx, booking.Scope{TenantID: b.tenant}, *o.BookingID)
			require.NoError(t, err)
			require.Equal(t, choicesOn(o.PlayDate), bk.Choices())
			require.Equal(t, [3]string{"3", "10:00", "12:00"}, [3]string{bk.Court, bk.StartTime, bk.EndTime})
			require.Equal(t, booking.NotifyAlways, bk.NotifyOn)
			require.Equal(t, "en", bk.NotifyLanguage)
		}
		require.Len(t, occ[crs.ID], 4)
		for _, o := range occ[crs.ID] {
			require.Equal(t, [2]string{"07:30", "09:00"}, [2]string{o.StartTime, o.EndTime})
			bk, err := b.bookings.Get(ctx, booking.Scope{TenantID: b.tenant}, *o.BookingID)
			require.NoError(t, err)
			require.Equal(t, []booking.Choice{{Court: "5", Date: o.PlayDate, Start: "07:30", End: "09:00"},
				{Court: "6", Date: o.PlayDate, Start: "07:30", End: "09:00"}, {Court: "2", Date: o.PlayDate, Start: "12:00", End: "13:00"}},
				bk.Choices())
			require.Empty(t, bk.NotifyOn, "a series without notify keeps the defaults")
		}
	})
}

// The store keeps no choice a materialiser could not book: one with a
// date, one without a court, more than booking.MaxChoices.
func TestStoreRefusesBadChoices(t *testing.T) {
	t.Parallel()
	b := open(t, dbtest.SQLite(t))
	ctx := context.Background()
	for _, tt := range []struct {
		choices []booking.Choice
		want    string
	}{
		{[]booking.Choice{{Court: "3"}, {Court: "4", Date: "2027-03-06"}}, "series choice 2 has a date (2027-03-06): each occurrence's date is used"},
		{[]booking.Choice{{Court: ""}}, "series choice 1 has no court"},
		{make([]booking.Choice, booking.MaxChoices+1), "series choices: 17, at most 16"},
	} {
		ns := saturdays(b.tenant)
		ns.Choices = tt.choices
		_, _, err := b.series.Create(ctx, ns)
		require.ErrorContains(t, err, tt.want)
	}
	var n int64
	require.NoError(t, b.db.Table("series").Count(&n).Error)
	require.Zero(t, n)
}

// An occurrence the site's per-account limit refuses is recorded with a
// note that says so, and the series goes on with the next one.
func TestLimitRefusesOneOccurrence(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := open(t, db)
		ctx := context.Background()
		// The account holds court 5 on 03-13 already; the site allows one
		// reservation a day.
		own := booking.NewBooking{TenantID: b.tenant, Site: "courtsim", Username: "user001", Password: "S3cr3t!", Court: "5",
			PlayDate: "2027-03-13", StartTime: "18:00", EndTime: "19:00", OpensAt: kst("2027-03-06", 9), WindowSeconds: 300, RatePerSecond: 2}
		held, _, err := b.bookings.Create(ctx, own)
		require.NoError(t, err)
		sr, _, err := b.series.Create(ctx, withChoices(saturdays(b.tenant)))
		require.NoError(t, err)
		m := b.materialiserOf(t, siteMap{"courtsim": {limits: profile.AccountLimits{PerDay: 1}}})

		res, err := m.RunOnce(ctx, kst("2027-02-25", 12))
		require.NoError(t, err)
		require.Equal(t, Result{Created: 3, Recorded: 4, Refused: 1}, res)
		occ, err := b.series.Occurrences(ctx, sr.ID)
		require.NoError(t, err)
		require.Equal(t, "2027-03-13", occ[sr.ID][1].PlayDate)
		require.Nil(t, occ[sr.ID][1].BookingID)
		require.Equal(t, fmt.Sprintf(`not booked: the site lets account "user001" hold at most 1 reservation(s) a day, `+
			`and 1 booking(s) on 2027-03-13 may already take them (%d): cancel one, or book another day`, held.ID), occ[sr.ID][1].Note)
		require.NotContains(t, occ[sr.ID][1].Note, "S3cr3t!")
		for _, i := range []int{0, 2, 3} {
			require.NotNil(t, occ[sr.ID][i].BookingID, "the series goes on: %s", occ[sr.ID][i].PlayDate)
		}
		require.Equal(t, []string{"2027-03-06", "2027-03-13", "2027-03-27", "2027-04-03"}, playDates(t, db))

		res, err = m.RunOnce(ctx, kst("2027-03-28", 12))
		require.NoError(t, err)
		require.Equal(t, Result{Created: 3, Recorded: 3}, res, "the next pass books the next ones and does not retry the refused one")
	})
}

// Each choice of an occurrence must open when the occurrence opens (its
// first choice), as a booking's must: one that opens at another instant
// is recorded with a note naming both instants, and nothing is booked.
func TestChoiceOpeningElsewhereIsRecorded(t *testing.T) {
	t.Parallel()
	b := open(t, dbtest.SQLite(t))
	ctx := context.Background()
	ns := saturdays(b.tenant)
	ns.Choices = []booking.Choice{{Court: "3", Start: "10:00", End: "12:00"}, {Court: "4", Start: "14:00", End: "15:00"}}
	sr, _, err := b.series.Create(ctx, ns)
	require.NoError(t, err)
	sites := siteMap{"courtsim": {atStart: true}}
	due, err := Due(sr, sites["courtsim"], nil, kst("2027-02-25", 12), 5*24*time.Hour)
	require.NoError(t, err)
	require.Len(t, due, 1)
	require.Equal(t, "not booked: choice 2 (court 4, 2027-03-06 14:00-15:00) opens at 2027-02-27 14:00:00 +09:00 KST, not at the occurrence's opening "+
		"2027-02-27 10:00:00 +09:00 KST (choice 1): a booking's choices open at one instant; make it a separate series", due[0].Note)

	next, err := b.series.Upcoming(ctx, sites, kst("2027-02-25", 12), 1)
	require.NoError(t, err)
	require.Len(t, next, 1)
	require.Equal(t, due[0].Note, next[0].Note, "upcoming says it beforehand")

	res, err := b.materialiserOf(t, sites).RunOnce(ctx, kst("2027-02-25", 12))
	require.NoError(t, err)
	require.Equal(t, Result{Recorded: 4, Refused: 4}, res)
	require.Empty(t, playDates(t, b.db))
	occ, err := b.series.Occurrences(ctx, sr.ID)
	require.NoError(t, err)
	require.Equal(t, due[0].Note, occ[sr.ID][0].Note)
}
