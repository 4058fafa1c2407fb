package schedule

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
	"reserver/internal/database"
	"reserver/internal/database/dbtest"
	"reserver/internal/profile"
	"reserver/internal/secret"
	"reserver/internal/sitesim"
	"reserver/internal/tenant"
)

// Choices on each database (SQLite and MySQL/MariaDB), in real time over
// loopback: a sold-out first two choices fall through to the third; a
// lost answer for choice 1 that had booked is found by verify with no
// submit for choice 2; the site's "limit reached" fails the booking and
// cancels the account's other booking of the day. One reservation for
// each booking, its winner recorded in the database.
func TestChoicesOnEachDatabase(t *testing.T) {
	t.Parallel()
	for _, dialect := range []database.Dialect{database.SQLite, database.MySQL} {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			for _, tc := range []struct {
				name   string
				faults sitesim.Faults
				taken  []int // courts other accounts hold already
				courts []string
				won    int
				// submits the site saw for the booking, in choice order
				submits []int
				// limit: the site allows the account one reservation a
				// day and it holds one already (court 2): the booking
				// fails account_limit, and the account's later booking
				// of that day is cancelled with it.
				limit bool
			}{
				{name: "sold_out_falls_through", taken: []int{3, 4}, courts: []string{"3", "4", "5"}, won: 3, submits: []int{3, 4, 5}},
				{name: "lost_answer_verified", faults: sitesim.Faults{ResetRate: 1, ResetApplied: 1}, courts: []string{"3", "4"}, won: 1, submits: []int{3}},
				{name: "limit_reached_at_the_site", courts: []string{"3", "4"}, submits: []int{3}, limit: true},
			} {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					dsn := dbtest.DSN(t, dialect)
					o := sitesim.Options{Accounts: 10, Strict: true}
					if tc.limit {
						o.AccountLimitPerDay = 1
					}
					srv, err := sitesim.Start(o)
					require.NoError(t, err)
					t.Cleanup(func() { srv.Close() })
					prof := loadProfile(t, "courtsim.yaml", srv.URL())
					db, err := database.Open(dsn)
					require.NoError(t, err)
					t.Cleanup(func() { db.Close() })
					box, err := secret.NewBox(bytes.Repeat([]byte{6}, secret.KeySize))
					require.NoError(t, err)
					store := booking.NewStore(db, box)
					ts := tenant.NewStore(db)
					tok, err := ts.CreateToken(context.Background(), "choices", tenant.RoleUser)
					require.NoError(t, err)
					p, err := ts.Authenticate(context.Background(), tok)
					require.NoError(t, err)

					opensAt := srv.Now().Add(4 * time.Second).Truncate(time.Second)
					srv.SetOpenAt(opensAt)
					date := opensAt.In(prof.Location).AddDate(0, 0, 7).Format(time.DateOnly)
					for i, court := range tc.taken {
						_, err := srv.Reserve(srv.AccountName(5+i), court, date, 5)
						require.NoError(t, err)
					}
					srv.SetFaults(tc.faults)
					mk := func(opens time.Time, cs []booking.Choice) *booking.Booking {
						bk, _, err := store.Create(context.Background(), booking.NewBooking{
							TenantID: p.TenantID, Site: "courtsim", Username: "user001", Password: "pass1234",
							Choices: cs, OpensAt: opens, WindowSeconds: 30, RatePerSecond: 2, Fields: map[string]string{"people": "2"},
							BookerName: "김철수", Phone: "+821099998888",
						})
						require.NoError(t, err)
						return bk
					}
					bk := mk(opensAt, courtChoices(date, "10:00", "11:00", tc.courts...))
					var later *booking.Booking
					if tc.limit {
						_, err := srv.Reserve("user001", 2, date, 3)
						require.NoError(t, err)
						later = mk(opensAt.Add(time.Hour), courtChoices(date, "14:00", "15:00", "6"))
					}
					d, err := New(Config{
						Store: store, Profiles: map[string]*profile.Profile{"courtsim": prof},
						Instance: "c-" + string(dialect), Lead: 2 * time.Second, ScanEvery: time.Second,
						Grace: time.Second, HostCeiling: 100, Logger: zapWarn(t),
					})
					require.NoError(t, err)
					require.NoError(t, d.Start(context.Background()))
					defer d.Stop()

					var got *booking.Booking
					for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
						got, err = store.Get(context.Background(), booking.Scope{All: true}, bk.ID)
						require.NoError(t, err)
						if got.State.Terminal() {
							break
						}
					}
					led := srv.Ledger()
					mine := reservationsOf(led, "user001")
					require.Len(t, mine, 1, "one reservation for the account")
					if tc.limit {
						require.Equal(t, booking.Failed, got.State)
						require.Equal(t, booking.ReasonAccountLimit, got.Reason)
						l, err := store.Get(context.Background(), booking.Scope{All: true}, later.ID)
						require.NoError(t, err)
						require.Equal(t, booking.Cancelled, l.State, "the account's later booking of that day")
						require.Equal(t, booking.ReasonAccountLimit, l.Reason)
					} else {
						require.Equal(t, booking.Succeeded, got.State, "reason %s", got.Reason)
						require.NotNil(t, got.WonChoice)
						require.Equal(t, tc.won, *got.WonChoice)
						require.Equal(t, got.ReservationNo, mine[0].Number)
					}
					require.Zero(t, led.DoubleBookings)
					require.Zero(t, led.RepeatSubmits)
					var seen []int
					for _, s := range led.Submits {
						if s.Account == "user001" {
							seen = append(seen, s.Facility)
						}
					}
					require.Equal(t, tc.submits, seen)
				})
			}
		})
	}
}
