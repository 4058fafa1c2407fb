package chaos

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/sitesim"
)

// auditSetup is two bookings of three choices each (booking 1: facilities
// 1-3 at slot 1, booking 2: facilities 1-3 at slot 2), two daemons (d1 from
// 127.0.0.11, d2 from 127.0.0.12) and the instant t0 everything is
// measured from.
type auditSetup struct {
	refs     []bookingRef
	pretakes []pretake
	runs     []DaemonRun
	t0       time.Time
}

func setupAudit(t *testing.T) auditSetup {
	t.Helper()
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	return auditSetup{
		refs: []bookingRef{
			{ID: 1, Account: "user001", Choices: bookingSlots(0, 3, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))},
			{ID: 2, Account: "user002", Choices: bookingSlots(1, 3, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))},
		},
		runs: []DaemonRun{
			{Instance: "d1", IP: "127.0.0.11", Started: t0.Add(-time.Minute)},
			{Instance: "d2", IP: "127.0.0.12", Started: t0.Add(-time.Minute)},
		},
		t0: t0,
	}
}

func (s auditSetup) at(ms int) time.Time { return s.t0.Add(time.Duration(ms) * time.Millisecond) }

// submit is a ledger submit of acct from ip arriving at ms for its
// booking's first choice.
func (s auditSetup) submit(acct, ip string, ms int) sitesim.Submit {
	return s.submitFor(acct, ip, ms, 1)
}

// submitFor is a ledger submit of acct from ip arriving at ms for choice
// (1-based) of its booking.
func (s auditSetup) submitFor(acct, ip string, ms, choice int) sitesim.Submit {
	sub := sitesim.Submit{Account: acct, IP: ip, At: s.at(ms), Result: sitesim.ResultNotOpen}
	for _, r := range s.refs {
		if r.Account == acct {
			ch := r.Choices[choice-1]
			sub.Facility, sub.Date, sub.Slot = ch.Facility, ch.Date, ch.Slot
		}
	}
	return sub
}

func (s auditSetup) row(id int64, inst, step string, ms int) AttemptRow {
	return AttemptRow{BookingID: id, Instance: inst, Step: step, SentAt: s.at(ms)}
}

func res(no, acct string, slot int) sitesim.Reservation {
	return resAt(no, acct, 1, slot)
}

func resAt(no, acct string, facility, slot int) sitesim.Reservation {
	return sitesim.Reservation{Number: no, Account: acct, Facility: facility, Date: "2026-12-01", Slot: slot}
}

// pretakeOf is competitor acct's reservation no of choice (1-based) of
// booking ref, made before the opening.
func pretakeOf(ref bookingRef, choice int, acct, no string) pretake {
	return pretake{Account: acct, Slot: ref.Choices[choice-1], Number: no, Booking: ref.ID, Choice: choice}
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
		change func(s *auditSetup, l *Ledger, db *DBState)
		broken []string
	}{
		{name: "clean"},
		{name: "duplicate", change: func(s *auditSetup, l *Ledger, db *DBState) {
			l.Reservations = append(l.Reservations, res("R9", "user001", 1))
		}, broken: []string{"duplicates=1", "number_mismatch=1", "lost_reservations=1"}},
		{name: "cancelled booked", change: func(s *auditSetup, l *Ledger, db *DBState) {
			l.Reservations = append(l.Reservations, res("R2", "user002", 2))
		}, broken: []string{"cancelled_booked=1", "lost_reservations=1"}},
		{name: "cancelled booked but recorded for review", change: func(s *auditSetup, l *Ledger, db *DBState) {
			l.Reservations = append(l.Reservations, res("R2", "user002", 2))
			db.Bookings[2] = DBBooking{ID: 2, State: "cancelled", ReservationNo: "R2"}
		}, broken: []string{"cancelled_booked=1"}},
		{name: "unknown slot", change: func(s *auditSetup, l *Ledger, db *DBState) {
			l.Reservations = append(l.Reservations, res("R3", "user001", 5))
		}, broken: []string{"unknown=1"}},
		{name: "phantom and no outbox", change: func(s *auditSetup, l *Ledger, db *DBState) {
			l.Reservations = nil
			db.Outbox = nil
		}, broken: []string{"phantom=1", "missing_outbox=1"}},
		{name: "still open", change: func(s *auditSetup, l *Ledger, db *DBState) {
			db.Bookings[2] = DBBooking{ID: 2, State: "running"}
		}, broken: []string{"open=1"}},
		{name: "booked but failed in db", change: func(s *auditSetup, l *Ledger, db *DBState) {
			db.Bookings[1] = DBBooking{ID: 1, State: "failed"}
		}, broken: []string{"unknown=1", "lost_reservations=1"}},
		{name: "repeat submit", change: func(s *auditSetup, l *Ledger, db *DBState) {
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
				tt.change(&s, l, db)
			}
			a := audit(s.refs, s.pretakes, l, db, s.runs)
			require.Equal(t, tt.broken, a.broken(), a.Problems)
			require.Equal(t, len(tt.broken) > 0, len(a.Problems) > 0, a.Problems)
		})
	}
}

// Bookings with choices: a reservation belongs to the booking whose
// account made it in any of its choices, competitors' pre-taken slots are
// theirs, and won_choice must name the slot the site reserved.
func TestAuditChoices(t *testing.T) {
	t.Parallel()
	// fellTo makes booking 1 win choice k at the site and in the database.
	fellTo := func(l *Ledger, db *DBState, k int) {
		l.Reservations[0] = resAt("R1", "user001", k, 1)
		db.Bookings[1] = DBBooking{ID: 1, State: "succeeded", ReservationNo: "R1", WonChoice: k}
	}
	tests := []struct {
		name     string
		change   func(s *auditSetup, l *Ledger, db *DBState)
		broken   []string
		pretaken int
		won      map[int]int
	}{
		{name: "choice 1, nothing pre-taken", won: map[int]int{1: 1}},
		{name: "fell through to choice 2 past a pre-taken choice 1", change: func(s *auditSetup, l *Ledger, db *DBState) {
			s.pretakes = []pretake{pretakeOf(s.refs[0], 1, "user050", "P1")}
			l.Reservations = append(l.Reservations, resAt("P1", "user050", 1, 1))
			fellTo(l, db, 2)
		}, pretaken: 1, won: map[int]int{2: 1}},
		{name: "fell through to choice 3 past pre-taken choices 1 and 2", change: func(s *auditSetup, l *Ledger, db *DBState) {
			s.pretakes = []pretake{pretakeOf(s.refs[0], 1, "user050", "P1"), pretakeOf(s.refs[0], 2, "user051", "P2")}
			l.Reservations = append(l.Reservations, resAt("P1", "user050", 1, 1), resAt("P2", "user051", 2, 1))
			fellTo(l, db, 3)
		}, pretaken: 2, won: map[int]int{3: 1}},
		{name: "two reservations of one booking in different choices", change: func(s *auditSetup, l *Ledger, db *DBState) {
			l.Reservations = append(l.Reservations, resAt("R9", "user001", 2, 1))
		}, broken: []string{"duplicates=1", "number_mismatch=1", "lost_reservations=1"}, won: map[int]int{1: 1}},
		{name: "the site counts a double booking", change: func(s *auditSetup, l *Ledger, db *DBState) {
			l.Reservations[0].Double = true
			l.DoubleBookings = 1
		}, broken: []string{"double_bookings=1"}, won: map[int]int{1: 1}},
		{name: "a competitor's reservation the harness did not make", change: func(s *auditSetup, l *Ledger, db *DBState) {
			s.pretakes = []pretake{pretakeOf(s.refs[0], 1, "user050", "P1")}
			l.Reservations = append(l.Reservations, resAt("P1", "user050", 1, 1), resAt("P7", "user050", 1, 2))
			fellTo(l, db, 2)
		}, broken: []string{"unknown=1"}, pretaken: 1, won: map[int]int{2: 1}},
		{name: "an account of no booking and no competitor", change: func(s *auditSetup, l *Ledger, db *DBState) {
			l.Reservations = append(l.Reservations, resAt("X1", "user099", 1, 1))
		}, broken: []string{"unknown=1"}, won: map[int]int{1: 1}},
		{name: "won_choice 2 recorded, the site reserved choice 1", change: func(s *auditSetup, l *Ledger, db *DBState) {
			db.Bookings[1] = DBBooking{ID: 1, State: "succeeded", ReservationNo: "R1", WonChoice: 2}
		}, broken: []string{"wrong_choice=1"}, won: map[int]int{2: 1}},
		{name: "no won_choice recorded, the site reserved choice 3 past pre-taken choices", change: func(s *auditSetup, l *Ledger, db *DBState) {
			s.pretakes = []pretake{pretakeOf(s.refs[0], 1, "user050", "P1"), pretakeOf(s.refs[0], 2, "user051", "P2")}
			l.Reservations = append(l.Reservations, resAt("P1", "user050", 1, 1), resAt("P2", "user051", 2, 1))
			fellTo(l, db, 3)
			db.Bookings[1] = DBBooking{ID: 1, State: "succeeded", ReservationNo: "R1"}
		}, broken: []string{"wrong_choice=1"}, pretaken: 2, won: map[int]int{1: 1}},
		{name: "won the choice a competitor had taken", change: func(s *auditSetup, l *Ledger, db *DBState) {
			s.pretakes = []pretake{pretakeOf(s.refs[0], 1, "user050", "P1"), pretakeOf(s.refs[0], 2, "user051", "P2")}
			l.Reservations = append(l.Reservations, resAt("P1", "user050", 1, 1), resAt("P2", "user051", 2, 1))
			fellTo(l, db, 3)
			db.Bookings[1] = DBBooking{ID: 1, State: "succeeded", ReservationNo: "R1", WonChoice: 2}
		}, broken: []string{"wrong_choice=1"}, pretaken: 2, won: map[int]int{2: 1}},
		{name: "booked in choice 2 with choice 1 free", change: func(s *auditSetup, l *Ledger, db *DBState) {
			fellTo(l, db, 2)
		}, broken: []string{"skipped_choice=1"}, won: map[int]int{2: 1}},
		{name: "booked in choice 3 with choice 2 free", change: func(s *auditSetup, l *Ledger, db *DBState) {
			s.pretakes = []pretake{pretakeOf(s.refs[0], 1, "user050", "P1")}
			l.Reservations = append(l.Reservations, resAt("P1", "user050", 1, 1))
			fellTo(l, db, 3)
		}, broken: []string{"skipped_choice=1"}, pretaken: 1, won: map[int]int{3: 1}},
		{name: "won a choice the booking does not have", change: func(s *auditSetup, l *Ledger, db *DBState) {
			db.Bookings[1] = DBBooking{ID: 1, State: "succeeded", ReservationNo: "R1", WonChoice: 4}
		}, broken: []string{"wrong_choice=1"}, won: map[int]int{4: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := setupAudit(t)
			l, db := s.okState()
			if tt.change != nil {
				tt.change(&s, l, db)
			}
			a := audit(s.refs, s.pretakes, l, db, s.runs)
			require.Equal(t, tt.broken, a.broken(), a.Problems)
			require.Equal(t, len(tt.broken) > 0, len(a.Problems) > 0, a.Problems)
			require.Equal(t, tt.pretaken, a.Pretaken)
			require.Equal(t, tt.won, a.Won)
			require.Equal(t, 1, a.Reservations-a.Duplicates-a.Unknown, "the bookings' reservations leave the pre-taken ones out")
		})
	}
}

// A submit belongs to its booking by slot in every choice, and pairs only
// with an attempt row for the same choice (or one that names none).
func TestAuditSubmitChoices(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		rowChoice int  // the choice of the row before the choice-2 submit; -1: no row
		kicked    bool // the submit's session was kicked out: no account in the ledger
		lost      int
	}{
		{name: "row for the same choice", rowChoice: 2},
		{name: "row naming no choice", rowChoice: 0},
		{name: "row for another choice", rowChoice: 1, lost: 1},
		{name: "no row", rowChoice: -1, lost: 1},
		{name: "kicked session, row for the same choice", rowChoice: 2, kicked: true},
		{name: "kicked session, no row", rowChoice: -1, kicked: true, lost: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := setupAudit(t)
			l, db := s.okState()
			sub := s.submitFor("user001", "127.0.0.11", 1_000, 2)
			if tt.kicked {
				sub.Account, sub.Result = "", sitesim.ResultNoSession
			}
			l.Submits = append(l.Submits, sub)
			if tt.rowChoice >= 0 {
				row := s.row(1, "d1", "submit", 998)
				row.Choice = tt.rowChoice
				db.Attempts = append(db.Attempts, row)
			}
			a := audit(s.refs, s.pretakes, l, db, s.runs)
			require.Equal(t, tt.lost, a.LostSubmits, a.Problems)
			if tt.lost > 0 {
				require.Equal(t, []string{"lost_submits=1"}, a.broken())
				require.Contains(t, a.Problems[0], "booking 1: the submit for choice 2")
			} else {
				require.Empty(t, a.broken(), a.Problems)
			}
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
			a := audit(s.refs, s.pretakes, l, db, s.runs)
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
			a = audit(s.refs, s.pretakes, l, db, s.runs)
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
			a := audit(s.refs, s.pretakes, l, db, s.runs)
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

// The scenarios' bookings: no slot shared, every court within the
// courtsim profile's, each booking's choices at one date and time; what
// does not fit one date goes to the next.
func TestBookingSlots(t *testing.T) {
	t.Parallel()
	first := time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		choices, bookings, facilities int
		lastDate                      string
	}{
		{choices: 3, bookings: 40, facilities: 9, lastDate: "2026-12-16"},
		{choices: 3, bookings: 36, facilities: 9, lastDate: "2026-12-15"},
		{choices: 3, bookings: 20, facilities: 6, lastDate: "2026-12-15"},
		{choices: 0, bookings: 150, facilities: 10, lastDate: "2026-12-16"},
		{choices: 1, bookings: 40, facilities: 4, lastDate: "2026-12-15"},
	} {
		seen := map[slotRef]int{}
		var last slotRef
		for i := range tt.bookings {
			chs := bookingSlots(i, tt.choices, first)
			require.Len(t, chs, max(tt.choices, 1))
			for _, ch := range chs {
				require.Equal(t, chs[0].Slot, ch.Slot, "booking %d: every choice at the same time", i)
				require.Equal(t, chs[0].Date, ch.Date, "booking %d: every choice on the same date", i)
				require.LessOrEqual(t, ch.Facility, siteCourts)
				prev, dup := seen[ch]
				require.False(t, dup, "booking %d and %d share %s", prev, i, ch)
				seen[ch] = i
				last = ch
			}
		}
		require.Equal(t, tt.lastDate, last.Date, "%d bookings of %d choices", tt.bookings, tt.choices)
		require.Equal(t, tt.facilities, facilitiesFor(tt.bookings, tt.choices), "%d bookings of %d choices", tt.bookings, tt.choices)
	}
	// One slot each: court i/12+1, slot i%12+1, as before choices.
	require.Equal(t, []slotRef{{Facility: 4, Date: "2026-12-15", Slot: 4}}, bookingSlots(39, 1, first))
}
