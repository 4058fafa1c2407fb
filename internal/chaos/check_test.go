package chaos

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/sitesim"
)

// auditSetup is two bookings, two daemons (d1 from 127.0.0.11, d2 from
// 127.0.0.12) and the instant t0 everything is measured from.
type auditSetup struct {
	refs []bookingRef
	runs []DaemonRun
	t0   time.Time
}

func setupAudit(t *testing.T) auditSetup {
	t.Helper()
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	return auditSetup{
		refs: []bookingRef{
			{ID: 1, Account: "user001", Facility: 1, Date: "2026-12-01", Slot: 1},
			{ID: 2, Account: "user002", Facility: 1, Date: "2026-12-01", Slot: 2},
		},
		runs: []DaemonRun{
			{Instance: "d1", IP: "127.0.0.11", Started: t0.Add(-time.Minute)},
			{Instance: "d2", IP: "127.0.0.12", Started: t0.Add(-time.Minute)},
		},
		t0: t0,
	}
}

func (s auditSetup) at(ms int) time.Time { return s.t0.Add(time.Duration(ms) * time.Millisecond) }

// submit is a ledger submit of acct from ip arriving at ms, with the
// attempt row its sender wrote 2 ms before.
func (s auditSetup) submit(acct, ip string, ms int) sitesim.Submit {
	sub := sitesim.Submit{Account: acct, IP: ip, At: s.at(ms), Result: sitesim.ResultNotOpen}
	for _, r := range s.refs {
		if r.Account == acct {
			sub.Facility, sub.Date, sub.Slot = r.Facility, r.Date, r.Slot
		}
	}
	return sub
}

func (s auditSetup) row(id int64, inst, step string, ms int) AttemptRow {
	return AttemptRow{BookingID: id, Instance: inst, Step: step, SentAt: s.at(ms)}
}

func res(no, acct string, slot int) sitesim.Reservation {
	return sitesim.Reservation{Number: no, Account: acct, Facility: 1, Date: "2026-12-01", Slot: slot}
}

// okState is booking 1 succeeded as R1 by d1 (one submit at t0) and
// booking 2 cancelled before anything was sent.
func (s auditSetup) okState() (*Ledger, *DBState) {
	l := &Ledger{
		Reservations: []sitesim.Reservation{res("R1", "user001", 1)},
		Submits:      []sitesim.Submit{s.submit("user001", "127.0.0.11", 0)},
	}
	db := &DBState{
		Bookings: map[int64]DBBooking{
			1: {ID: 1, State: "succeeded", ReservationNo: "R1"},
			2: {ID: 2, State: "cancelled"},
		},
		Attempts: []AttemptRow{s.row(1, "d1", "login", -5000), s.row(1, "d1", "submit", -2)},
		Outbox:   map[int64][]string{1: {"booked:sent"}},
	}
	return l, db
}

func TestAudit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(s auditSetup, l *Ledger, db *DBState)
		broken []string
	}{
		{name: "clean"},
		{name: "duplicate", change: func(s auditSetup, l *Ledger, db *DBState) {
			l.Reservations = append(l.Reservations, res("R9", "user001", 1))
		}, broken: []string{"duplicates=1", "number_mismatch=1", "lost_reservations=1"}},
		{name: "cancelled booked", change: func(s auditSetup, l *Ledger, db *DBState) {
			l.Reservations = append(l.Reservations, res("R2", "user002", 2))
		}, broken: []string{"cancelled_booked=1", "lost_reservations=1"}},
		{name: "cancelled booked but recorded for review", change: func(s auditSetup, l *Ledger, db *DBState) {
			l.Reservations = append(l.Reservations, res("R2", "user002", 2))
			db.Bookings[2] = DBBooking{ID: 2, State: "cancelled", ReservationNo: "R2"}
		}, broken: []string{"cancelled_booked=1"}},
		{name: "unknown slot", change: func(s auditSetup, l *Ledger, db *DBState) {
			l.Reservations = append(l.Reservations, res("R3", "user001", 5))
		}, broken: []string{"unknown=1"}},
		{name: "phantom and no outbox", change: func(s auditSetup, l *Ledger, db *DBState) {
			l.Reservations = nil
			db.Outbox = nil
		}, broken: []string{"phantom=1", "missing_outbox=1"}},
		{name: "still open", change: func(s auditSetup, l *Ledger, db *DBState) {
			db.Bookings[2] = DBBooking{ID: 2, State: "running"}
		}, broken: []string{"open=1"}},
		{name: "booked but failed in db", change: func(s auditSetup, l *Ledger, db *DBState) {
			db.Bookings[1] = DBBooking{ID: 1, State: "failed"}
		}, broken: []string{"unknown=1", "lost_reservations=1"}},
		{name: "repeat submit", change: func(s auditSetup, l *Ledger, db *DBState) {
			sub := s.submit("user001", "127.0.0.11", 600)
			sub.Repeat = true
			l.Submits = append(l.Submits, sub)
			l.RepeatSubmits = 1
			db.Attempts = append(db.Attempts, s.row(1, "d1", "submit", 598))
		}, broken: []string{"repeat_submits=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := setupAudit(t)
			l, db := s.okState()
			if tt.change != nil {
				tt.change(s, l, db)
			}
			a := audit(s.refs, l, db, s.runs)
			require.Equal(t, tt.broken, a.broken(), a.Problems)
			require.Equal(t, len(tt.broken) > 0, len(a.Problems) > 0, a.Problems)
		})
	}
}

// The lost-submit check pairs every site-seen submit with the attempt row
// its sender wrote; a SIGKILL may lose rows only within KillLossBound.
func TestAuditLostSubmits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		end           string
		killAfterMS   int // the sender's end, after the unmatched submit
		lost, atKill  int
		afterSIGTERM  int
		sentByAnother bool // the row exists, but from the other daemon
	}{
		{name: "row lost 200 ms before a SIGKILL", end: endSIGKILL, killAfterMS: 200, atKill: 1},
		{name: "request read just after the SIGKILL", end: endSIGKILL, killAfterMS: -30, atKill: 1},
		{name: "row lost 400 ms before a SIGKILL", end: endSIGKILL, killAfterMS: 400, lost: 1},
		{name: "row lost before a SIGTERM", end: endSIGTERM, killAfterMS: 100, lost: 1, afterSIGTERM: 1},
		{name: "row lost without any end", lost: 1},
		{name: "a row of another daemon is not this submit's", sentByAnother: true, lost: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := setupAudit(t)
			l, db := s.okState()
			l.Submits = append(l.Submits, s.submit("user001", "127.0.0.11", -1000))
			if tt.sentByAnother {
				db.Attempts = append(db.Attempts, s.row(1, "d2", "submit", -1002))
			}
			if tt.end != "" {
				s.runs[0].End, s.runs[0].Ended = tt.end, s.at(-1000+tt.killAfterMS)
			}
			a := audit(s.refs, l, db, s.runs)
			require.Equal(t, tt.lost, a.LostSubmits, a.Problems)
			require.Equal(t, tt.atKill, a.LostAtKill)
			require.Equal(t, tt.afterSIGTERM, a.LostAfterSIGTERM)
			if tt.lost > 0 {
				require.Contains(t, a.broken(), "lost_submits=1")
			} else {
				require.Empty(t, a.broken())
			}

			// With its row, nothing is lost.
			db.Attempts = append(db.Attempts, s.row(1, "d1", "submit", -1003))
			a = audit(s.refs, l, db, s.runs)
			require.Zero(t, a.LostSubmits+a.LostAtKill, a.Problems)
		})
	}
}

func TestAuditOverlappingSubmits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// d2 takes booking 1 over with a login at 10 s; d1 sends one more
		// submit at lateMS.
		lateMS  int
		restart bool // d1 restarted under its name before the late submit and took the booking back
		kicked  bool // d2's login kicked d1's session: the late submit reaches the ledger without an account
		want    int
	}{
		{name: "old owner submits after the takeover", lateMS: 10_500, want: 1},
		{name: "old owner submits after the takeover with a kicked session", lateMS: 10_500, kicked: true, want: 1},
		{name: "old owner's last submit before the takeover", lateMS: 9_500},
		{name: "a new run under the same name takes it back", lateMS: 30_500, restart: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := setupAudit(t)
			l, db := s.okState()
			// The booking succeeded at the very end, by whoever sent last.
			late := s.submit("user001", "127.0.0.11", tt.lateMS)
			if tt.kicked {
				late.Account, late.Result = "", sitesim.ResultNoSession
			}
			l.Submits = append(l.Submits, late)
			db.Attempts = append(db.Attempts,
				s.row(1, "d2", "login", 10_000), s.row(1, "d2", "submit", 10_200),
				s.row(1, "d1", "submit", tt.lateMS-2))
			l.Submits = append(l.Submits, s.submit("user001", "127.0.0.12", 10_202))
			if tt.restart {
				s.runs[0].End, s.runs[0].Ended = endSIGKILL, s.at(5_000)
				s.runs = append(s.runs, DaemonRun{Instance: "d1", IP: "127.0.0.11", Started: s.at(20_000)})
				db.Attempts = append(db.Attempts, s.row(1, "d1", "login", 30_000))
				s.runs[1].End, s.runs[1].Ended = endSIGKILL, s.at(25_000)
			}
			a := audit(s.refs, l, db, s.runs)
			require.Equal(t, tt.want, a.OverlappingSubmits, a.Problems)
			require.Zero(t, a.LostSubmits, a.Problems)
			if tt.want > 0 {
				require.Contains(t, a.broken(), "overlapping_submits=1")
			} else {
				require.Empty(t, a.broken())
			}
		})
	}
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
