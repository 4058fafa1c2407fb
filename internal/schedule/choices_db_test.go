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
// loopback: a sold-out first two choices fall through to the third, and a
// lost answer for choice 1 that had booked is found by verify with no
// submit for choice 2. One reservation for each booking, its winner
// recorded in the database.
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
			}{
				{name: "sold_out_falls_through", taken: []int{3, 4}, courts: []string{"3", "4", "5"}, won: 3, submits: []int{3, 4, 5}},
				{name: "lost_answer_verified", faults: sitesim.Faults{ResetRate: 1, ResetApplied: 1}, courts: []string{"3", "4"}, won: 1, submits: []int{3}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					dsn := dbtest.DSN(t, dialect)
					srv, err := sitesim.Start(sitesim.Options{Accounts: 10, Strict: true})
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
					bk, _, err := store.Create(context.Background(), booking.NewBooking{
						TenantID: p.TenantID, Site: "courtsim", Username: "user001", Password: "pass1234",
						Choices: courtChoices(date, "10:00", "11:00", tc.courts...),
						OpensAt: opensAt, WindowSeconds: 30, RatePerSecond: 2, Fields: map[string]string{"people": "2"},
						BookerName: "김철수", Phone: "+821099998888",
					})
					require.NoError(t, err)
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
					require.Equal(t, booking.Succeeded, got.State, "reason %s", got.Reason)
					require.NotNil(t, got.WonChoice)
					require.Equal(t, tc.won, *got.WonChoice)
					led := srv.Ledger()
					mine := reservationsOf(led, "user001")
					require.Len(t, mine, 1, "one reservation for the booking")
					require.Equal(t, got.ReservationNo, mine[0].Number)
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
