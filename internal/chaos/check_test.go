package chaos

import (
	"testing"

	"github.com/stretchr/testify/require"

	"reserver/internal/sitesim"
)

func TestAudit(t *testing.T) {
	t.Parallel()
	refs := []bookingRef{
		{ID: 1, Account: "user001", Facility: 1, Date: "2026-12-01", Slot: 1},
		{ID: 2, Account: "user002", Facility: 1, Date: "2026-12-01", Slot: 2},
	}
	res := func(no, acct string, slot int) sitesim.Reservation {
		return sitesim.Reservation{Number: no, Account: acct, Facility: 1, Date: "2026-12-01", Slot: slot}
	}
	sub := func(acct string) sitesim.Submit { return sitesim.Submit{Account: acct} }
	ok := func() *DBState {
		return &DBState{
			Bookings: map[int64]DBBooking{
				1: {ID: 1, State: "succeeded", ReservationNo: "R1"},
				2: {ID: 2, State: "cancelled"},
			},
			SubmitRows: map[int64]int{1: 1},
			Outbox:     map[int64][]string{1: {"booked:sent"}},
		}
	}
	tests := []struct {
		name   string
		ledger Ledger
		db     func(*DBState)
		broken []string
	}{
		{name: "clean", ledger: Ledger{Reservations: []sitesim.Reservation{res("R1", "user001", 1)}, Submits: []sitesim.Submit{sub("user001")}}},
		{name: "duplicate", ledger: Ledger{Reservations: []sitesim.Reservation{res("R1", "user001", 1), res("R9", "user001", 1)}},
			broken: []string{"duplicates=1", "number_mismatch=1"}},
		{name: "cancelled booked", ledger: Ledger{Reservations: []sitesim.Reservation{res("R1", "user001", 1), res("R2", "user002", 2)}},
			broken: []string{"cancelled_booked=1"}},
		{name: "unknown slot", ledger: Ledger{Reservations: []sitesim.Reservation{res("R1", "user001", 1), res("R3", "user001", 5)}},
			broken: []string{"unknown=1"}},
		{name: "phantom and no outbox", db: func(s *DBState) { s.Outbox = nil },
			broken: []string{"phantom=1", "missing_outbox=1"}},
		{name: "lost submit", ledger: Ledger{Reservations: []sitesim.Reservation{res("R1", "user001", 1)}, Submits: []sitesim.Submit{sub("user001"), sub("user001")}},
			broken: []string{"lost_submits=1"}},
		{name: "still open", ledger: Ledger{Reservations: []sitesim.Reservation{res("R1", "user001", 1)}},
			db: func(s *DBState) { s.Bookings[2] = DBBooking{ID: 2, State: "running"} }, broken: []string{"open=1"}},
		{name: "booked but failed in db", ledger: Ledger{Reservations: []sitesim.Reservation{res("R1", "user001", 1)}},
			db: func(s *DBState) { s.Bookings[1] = DBBooking{ID: 1, State: "failed"} }, broken: []string{"unknown=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := ok()
			if tt.db != nil {
				tt.db(s)
			}
			a := audit(refs, &tt.ledger, s)
			require.Equal(t, tt.broken, a.broken(true))
			require.Len(t, a.Problems, func() int {
				n := a.Duplicates + a.Unknown + a.CancelledBooked + a.NumberMismatch + a.Phantom + a.MissingOutbox + a.Open
				if a.LostSubmits > 0 {
					n++
				}
				return n
			}())
		})
	}
}

func TestAuditIgnoresLostSubmitsAfterKills(t *testing.T) {
	t.Parallel()
	a := Audit{LostSubmits: 3}
	require.Empty(t, a.broken(false))
	require.Equal(t, []string{"lost_submits=3"}, a.broken(true))
}

func TestValidSignature(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":1}`)
	// The header format of notify.signWebhook: t=<unix>,v1=<hex HMAC of "t.body">.
	good := "t=1700000000,v1=" + hmacHex(t, "k", `1700000000.{"id":1}`)
	require.True(t, validSignature([]byte("k"), good, body))
	require.False(t, validSignature([]byte("other"), good, body))
	require.False(t, validSignature([]byte("k"), good, []byte(`{"id":2}`)))
	require.False(t, validSignature([]byte("k"), "", body))
}
