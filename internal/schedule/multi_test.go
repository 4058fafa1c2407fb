package schedule

import (
	"bytes"
	"context"
	"fmt"
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

// Two daemons on one database over real sockets and in real time, on
// SQLite and on MySQL/MariaDB: the instance holding the booking is killed
// mid-window; the other takes over within the lease TTL and books; the
// site holds exactly one reservation.
func TestMultiInstanceTakeover(t *testing.T) {
	t.Parallel()
	for _, dialect := range []database.Dialect{database.SQLite, database.MySQL} {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			dsn := dbtest.DSN(t, dialect)
			srv, err := sitesim.Start(sitesim.Options{Accounts: 10, Skew: 1300 * time.Millisecond})
			require.NoError(t, err)
			t.Cleanup(func() { srv.Close() })
			prof := loadProfile(t, "courtsim.yaml", srv.URL())
			box, err := secret.NewBox(bytes.Repeat([]byte{5}, secret.KeySize))
			require.NoError(t, err)

			open := func() *booking.Store {
				db, err := database.Open(dsn)
				require.NoError(t, err)
				t.Cleanup(func() { db.Close() })
				return booking.NewStore(db, box)
			}
			store := open()
			ts := tenant.NewStore(store.DB())
			tok, err := ts.CreateToken(context.Background(), "multi", tenant.RoleUser)
			require.NoError(t, err)
			p, err := ts.Authenticate(context.Background(), tok)
			require.NoError(t, err)

			opensAt := srv.Now().Add(4 * time.Second).Truncate(time.Second)
			srv.SetOpenAt(opensAt.Add(6 * time.Second))
			bk, _, err := store.Create(context.Background(), booking.NewBooking{
				TenantID: p.TenantID, Site: "courtsim", Username: "user001", Password: "pass1234",
				Court: "2", PlayDate: opensAt.AddDate(0, 0, 7).Format("2006-01-02"), StartTime: "09:00", EndTime: "10:00",
				OpensAt: opensAt, WindowSeconds: 30, RatePerSecond: 2, Fields: map[string]string{"people": "2"},
				BookerName: "김철수", Phone: "+821099998888",
			})
			require.NoError(t, err)

			const ttl = 3 * time.Second
			newDaemon := func(name string) *Daemon {
				d, err := New(Config{
					Store: open(), Profiles: map[string]*profile.Profile{"courtsim": prof},
					Instance: name, Lead: 2 * time.Second, LeaseTTL: ttl, Heartbeat: time.Second, ScanEvery: time.Second,
					Grace: time.Second, HostCeiling: 100, Logger: zapWarn(t),
				})
				require.NoError(t, err)
				return d
			}
			d1 := newDaemon(fmt.Sprintf("%s-1", dialect))
			require.NoError(t, d1.Start(context.Background()))
			for d1.Running() == 0 {
				time.Sleep(50 * time.Millisecond)
			}
			d2 := newDaemon(fmt.Sprintf("%s-2", dialect))
			require.NoError(t, d2.Start(context.Background()))
			defer d2.Stop()

			// Kill the holder one second after the opening, while the site
			// still answers "not open".
			time.Sleep(time.Until(opensAt.Add(-1300*time.Millisecond + time.Second)))
			require.Equal(t, 0, d2.Running(), "a live lease is not taken")
			killed := time.Now()
			d1.Kill()
			for d2.Running() == 0 {
				require.Less(t, time.Since(killed), 3*ttl, "no takeover")
				time.Sleep(20 * time.Millisecond)
			}
			gap := time.Since(killed)
			t.Logf("takeover %v after the kill (lease TTL %v)", gap.Round(time.Millisecond), ttl)
			require.LessOrEqual(t, gap, ttl+time.Second+200*time.Millisecond)

			deadline := time.Now().Add(30 * time.Second)
			var got *booking.Booking
			for time.Now().Before(deadline) {
				got, err = store.Get(context.Background(), booking.Scope{All: true}, bk.ID)
				require.NoError(t, err)
				if got.State.Terminal() {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			require.Equal(t, booking.Succeeded, got.State, "reason %s", got.Reason)
			led := srv.Ledger()
			require.Len(t, led.Reservations, 1)
			require.Equal(t, led.Reservations[0].Number, got.ReservationNo)
		})
	}
}
