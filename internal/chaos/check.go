package chaos

import (
	"fmt"
	"strings"

	"reserver/internal/sitesim"
)

// Ledger is the simulator's ground truth (GET /_sim/ledger).
type Ledger = sitesim.Ledger

// DBBooking is one booking row as the checks see it.
type DBBooking struct {
	ID            int64
	State         string
	Reason        string
	ReservationNo string
}

// DBState is what the database says after a scenario.
type DBState struct {
	Bookings      map[int64]DBBooking
	SubmitRows    map[int64]int      // attempt rows of step submit, by booking
	VerifyRows    int                // attempt rows of step verify
	VerifySuccess int                // of which the verify found the booking
	Outbox        map[int64][]string // "kind:state" of each outbox row, by booking
}

// Audit compares the simulator's ledger with the database. Every count but
// the first block is a broken promise when it is not zero.
type Audit struct {
	Succeeded, Failed, Cancelled, Open int
	Reservations                       int

	Duplicates      int // reservations beyond the first for one booking
	Unknown         int // reservations the database does not know as a success
	CancelledBooked int // reservations of cancelled bookings
	NumberMismatch  int // succeeded with another reservation number than the site's
	Phantom         int // succeeded in the database, no reservation at the site
	LostSubmits     int // submits the site saw beyond the booking's submit attempt rows
	MissingOutbox   int // succeeded without its "booked" outbox row

	Problems []string // the first few, for the report
}

// broken lists the names of the promise counters that are not zero. A
// SIGKILL may lose the attempt row of a submit in flight, so lost submits
// count only when lostCounts is true.
func (a Audit) broken(lostCounts bool) []string {
	var out []string
	for _, f := range []struct {
		name string
		n    int
	}{
		{"duplicates", a.Duplicates}, {"unknown", a.Unknown}, {"cancelled_booked", a.CancelledBooked},
		{"number_mismatch", a.NumberMismatch}, {"phantom", a.Phantom}, {"lost_submits", map[bool]int{true: a.LostSubmits}[lostCounts]},
		{"missing_outbox", a.MissingOutbox}, {"open", a.Open},
	} {
		if f.n != 0 {
			out = append(out, fmt.Sprintf("%s=%d", f.name, f.n))
		}
	}
	return out
}

func (a *Audit) problem(format string, args ...any) {
	if len(a.Problems) < 10 {
		a.Problems = append(a.Problems, fmt.Sprintf(format, args...))
	}
}

// audit checks the ledger against the database for the bookings the
// harness created. Each booking has its own account, so a reservation or a
// submit belongs to the booking of its account.
func audit(refs []bookingRef, l *Ledger, s *DBState) Audit {
	var a Audit
	byAccount := make(map[string]bookingRef, len(refs))
	for _, r := range refs {
		byAccount[r.Account] = r
		switch s.Bookings[r.ID].State {
		case "succeeded":
			a.Succeeded++
		case "failed":
			a.Failed++
		case "cancelled":
			a.Cancelled++
		default:
			a.Open++
			a.problem("booking %d is still %q", r.ID, s.Bookings[r.ID].State)
		}
	}
	reserved := map[int64]int{}
	for _, res := range l.Reservations {
		a.Reservations++
		ref, ok := byAccount[res.Account]
		if !ok || ref.Facility != res.Facility || ref.Date != res.Date || ref.Slot != res.Slot {
			a.Unknown++
			a.problem("reservation %s (%s facility %d %s slot %d) matches no booking", res.Number, res.Account, res.Facility, res.Date, res.Slot)
			continue
		}
		reserved[ref.ID]++
		if reserved[ref.ID] > 1 {
			a.Duplicates++
			a.problem("booking %d has reservation %s beyond its first", ref.ID, res.Number)
		}
		b := s.Bookings[ref.ID]
		switch {
		case b.State == "cancelled":
			a.CancelledBooked++
			a.problem("cancelled booking %d was booked at the site as %s", ref.ID, res.Number)
		case b.State != "succeeded":
			a.Unknown++
			a.problem("booking %d is %q (%s) but the site booked it as %s", ref.ID, b.State, b.Reason, res.Number)
		case b.ReservationNo != res.Number:
			a.NumberMismatch++
			a.problem("booking %d records reservation %q, the site %q", ref.ID, b.ReservationNo, res.Number)
		}
	}
	submits := map[int64]int{}
	for _, sub := range l.Submits {
		if ref, ok := byAccount[sub.Account]; ok {
			submits[ref.ID]++
		}
	}
	for _, r := range refs {
		b := s.Bookings[r.ID]
		if b.State == "succeeded" {
			if reserved[r.ID] == 0 {
				a.Phantom++
				a.problem("booking %d succeeded (%q) without a reservation at the site", r.ID, b.ReservationNo)
			}
			if !hasKind(s.Outbox[r.ID], "booked") {
				a.MissingOutbox++
				a.problem("succeeded booking %d has no booked outbox row (%v)", r.ID, s.Outbox[r.ID])
			}
		}
		if lost := submits[r.ID] - s.SubmitRows[r.ID]; lost > 0 {
			a.LostSubmits += lost
			a.problem("booking %d: the site saw %d submits, the attempt log has %d", r.ID, submits[r.ID], s.SubmitRows[r.ID])
		}
	}
	return a
}

func hasKind(rows []string, kind string) bool {
	for _, r := range rows {
		if strings.HasPrefix(r, kind+":") {
			return true
		}
	}
	return false
}
