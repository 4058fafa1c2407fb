package chaos

import (
	"fmt"
	"sort"
	"strings"
	"time"

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
	WonChoice     int // 1-based; 0 when NULL
}

// AttemptRow is one row of the attempt log.
type AttemptRow struct {
	BookingID int64
	Instance  string
	Step      string
	SentAt    time.Time
	Choice    int // the 1-based choice the request was for; 0: none in particular
}

// DBState is what the database says after a scenario.
type DBState struct {
	Bookings      map[int64]DBBooking
	Attempts      []AttemptRow       // every attempt row, in no particular order
	SubmitRows    map[int64]int      // attempt rows of step submit, by booking
	VerifyRows    int                // attempt rows of step verify
	VerifySuccess int                // of which the verify found the booking
	Outbox        map[int64][]string // "kind:state" of each outbox row, by booking
}

// How a daemon process ended.
const (
	endSIGKILL = "sigkill"
	endSIGTERM = "sigterm"
)

// DaemonRun is one daemon process as the harness ran it. A restart under
// the same instance name is a new run: the audit tells the two apart by
// time, and a run's source address tells its submits apart at the site.
type DaemonRun struct {
	Instance string
	IP       string    // the source address of its egress
	Started  time.Time // before the process was started
	Ended    time.Time // when the harness signalled its end; zero: it ran to the end
	End      string    // endSIGKILL, endSIGTERM, or "" when it ran to the end
}

// KillLossBound is the stated bound on attempt rows a SIGKILL may lose: the
// daemon flushes its attempt log every 200 ms, so a submit whose row is
// missing must have reached the site at most this long before a SIGKILL of
// the instance that sent it. killInFlight allows for a request already
// written when the process died and read by the site just after.
const (
	KillLossBound = 250 * time.Millisecond
	killInFlight  = 50 * time.Millisecond
)

// A submit's attempt row is sent before the site reads the request: the
// row matches a ledger submit from the same source address that arrived
// within rowLead after it (a step timeout is 10 s, a loaded machine
// delays) and at most rowSkew before it (the database keeps microseconds).
const (
	rowLead = 3 * time.Second
	rowSkew = 5 * time.Millisecond
)

// Audit compares the simulator's ledger with the database. Every count of
// the second block is a broken promise when it is not zero.
type Audit struct {
	Succeeded, Failed, Cancelled, Open int
	Reservations                       int

	Duplicates         int // reservations beyond the first for one booking
	Unknown            int // reservations the database does not know as a success
	CancelledBooked    int // reservations of cancelled bookings
	NumberMismatch     int // succeeded with another reservation number than the site's
	Phantom            int // succeeded in the database, no reservation at the site
	LostSubmits        int // site-seen submits without their attempt row, not explained by a SIGKILL
	MissingOutbox      int // succeeded without its "booked" outbox row
	RepeatSubmits      int // submits for a slot the account already held (ledger)
	DoubleBookings     int // reservations of one account at one date and hour on two courts (ledger)
	OverlappingSubmits int // submits from an instance after another had taken the booking over
	LostReservations   int // reservations at the site not recorded on their booking
	WrongChoice        int // succeeded with a won_choice that is not the slot the site reserved, or a pre-taken one
	SkippedChoice      int // booked at the site in a later choice than the first one nobody had taken

	Pretaken int           // competitors' reservations made before the opening (not the bookings')
	Won      map[int]int   // succeeded bookings by the choice they won (1-based)
	AtSite   map[int64]int // the choice of each booking's first reservation at the site

	LostAtKill       int // submits without their row, within KillLossBound before a SIGKILL of the sender
	LostAfterSIGTERM int // of LostSubmits, those whose sender ended by SIGTERM
	LostAfterSIGKILL int // of LostSubmits, those whose sender was SIGKILLed, outside the bound

	Problems []string // the first few, for the report
}

// broken lists the names of the promise counters that are not zero.
func (a Audit) broken() []string {
	var out []string
	for _, f := range []struct {
		name string
		n    int
	}{
		{"duplicates", a.Duplicates}, {"unknown", a.Unknown}, {"cancelled_booked", a.CancelledBooked},
		{"number_mismatch", a.NumberMismatch}, {"phantom", a.Phantom}, {"lost_submits", a.LostSubmits},
		{"missing_outbox", a.MissingOutbox}, {"open", a.Open}, {"repeat_submits", a.RepeatSubmits},
		{"overlapping_submits", a.OverlappingSubmits}, {"lost_reservations", a.LostReservations},
		{"wrong_choice", a.WrongChoice}, {"skipped_choice", a.SkippedChoice}, {"double_bookings", a.DoubleBookings},
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
// harness created, knowing the competitors' pre-taken slots and which
// daemon processes ran when and from which source address. Each booking
// has its own account and its own slots (no choice of one booking is a
// choice of another), so a reservation belongs to the booking of its
// account and a submit to the booking of its slot.
func audit(refs []bookingRef, pretakes []pretake, l *Ledger, s *DBState, runs []DaemonRun) Audit {
	a := Audit{Won: map[int]int{}, AtSite: map[int64]int{}}
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
	pre := make(map[slotRef]pretake, len(pretakes))
	competitor := map[string]bool{}
	for _, p := range pretakes {
		pre[p.Slot] = p
		competitor[p.Account] = true
	}
	a.RepeatSubmits = l.RepeatSubmits
	a.DoubleBookings = l.DoubleBookings
	for _, sub := range l.Submits {
		if sub.Repeat {
			a.problem("repeat submit by %s for facility %d %s slot %d at %s from %s (%s)",
				sub.Account, sub.Facility, sub.Date, sub.Slot, sub.At.Format("15:04:05.000"), sub.IP, sub.Result)
		}
	}
	reserved := map[int64]int{} // reservations, by booking
	wonAt := a.AtSite
	for _, res := range l.Reservations {
		at := slotRef{res.Facility, res.Date, res.Slot}
		if res.Double {
			a.problem("the site counts reservation %s (%s %s) as a double booking", res.Number, res.Account, at)
		}
		if competitor[res.Account] {
			if p, ok := pre[at]; ok && p.Account == res.Account && p.Number == res.Number {
				a.Pretaken++
				continue
			}
			a.Reservations++
			a.Unknown++
			a.problem("reservation %s of competitor %s (%s) is not one the harness made", res.Number, res.Account, at)
			continue
		}
		a.Reservations++
		ref, ok := byAccount[res.Account]
		choice := 0
		if ok {
			choice = ref.choice(at)
		}
		if choice == 0 {
			a.Unknown++
			a.problem("reservation %s (%s %s) matches no booking", res.Number, res.Account, at)
			continue
		}
		reserved[ref.ID]++
		if reserved[ref.ID] > 1 {
			a.Duplicates++
			a.problem("booking %d has reservation %s (choice %d) beyond its first (choice %d)", ref.ID, res.Number, choice, wonAt[ref.ID])
		} else {
			wonAt[ref.ID] = choice
		}
		b := s.Bookings[ref.ID]
		if b.ReservationNo != res.Number {
			a.LostReservations++
			a.problem("the site's reservation %s of booking %d (%s) is not recorded on it (it records %q)", res.Number, ref.ID, b.State, b.ReservationNo)
		}
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
	for _, r := range refs {
		b := s.Bookings[r.ID]
		if b.State != "succeeded" {
			continue
		}
		if reserved[r.ID] == 0 {
			a.Phantom++
			a.problem("booking %d succeeded (%q) without a reservation at the site", r.ID, b.ReservationNo)
		}
		if !hasKind(s.Outbox[r.ID], "booked") {
			a.MissingOutbox++
			a.problem("succeeded booking %d has no booked outbox row (%v)", r.ID, s.Outbox[r.ID])
		}
		// A succeeded booking without won_choice won its first choice.
		won := max(b.WonChoice, 1)
		a.Won[won]++
		if won > len(r.Choices) {
			a.WrongChoice++
			a.problem("booking %d won choice %d of its %d", r.ID, won, len(r.Choices))
			continue
		}
		if p, ok := pre[r.Choices[won-1]]; ok {
			a.WrongChoice++
			a.problem("booking %d won choice %d (%s), which %s had taken before the opening (%s)", r.ID, won, p.Slot, p.Account, p.Number)
			continue
		}
		if site, ok := wonAt[r.ID]; ok && site != won {
			a.WrongChoice++
			a.problem("booking %d records won choice %d (%s), the site reserved choice %d (%s)", r.ID, won, r.Choices[won-1], site, r.Choices[site-1])
		}
	}
	// The first choice the site still has is booked: nobody but the
	// competitors takes a booking's slots, so a reservation in a later
	// choice than the first one they left free skipped a free slot (an
	// unknown outcome taken for "taken", say).
	for _, r := range refs {
		site, ok := wonAt[r.ID]
		if !ok {
			continue
		}
		free := 0
		for i, ch := range r.Choices {
			if _, taken := pre[ch]; !taken {
				free = i + 1
				break
			}
		}
		if free > 0 && site > free {
			a.SkippedChoice++
			a.problem("booking %d was booked in choice %d (%s) with choice %d (%s) free", r.ID, site, r.Choices[site-1], free, r.Choices[free-1])
		}
	}
	t := newTimeline(runs)
	// A submit belongs to the booking of its slot: each booking has its
	// own, in every choice, and a submit whose session was kicked out (by
	// another instance's login, say) reaches the ledger without an account.
	bySlot := map[slotRef]bookingRef{}
	for _, r := range refs {
		for _, ch := range r.Choices {
			bySlot[ch] = r
		}
	}
	subs := map[int64][]sitesim.Submit{}
	for _, sub := range l.Submits {
		ref, ok := bySlot[slotRef{sub.Facility, sub.Date, sub.Slot}]
		if !ok {
			ref, ok = byAccount[sub.Account]
		}
		if ok {
			subs[ref.ID] = append(subs[ref.ID], sub)
		}
	}
	rows := map[int64][]AttemptRow{}
	for _, row := range s.Attempts {
		rows[row.BookingID] = append(rows[row.BookingID], row)
	}
	for _, r := range refs {
		a.matchSubmits(r, subs[r.ID], rows[r.ID], t)
		a.overlaps(r.ID, subs[r.ID], rows[r.ID], t)
	}
	return a
}

// timeline finds the daemon run behind an attempt row (by instance name and
// time) or behind a ledger submit (by source address and time).
type timeline struct {
	runs []DaemonRun
}

func newTimeline(runs []DaemonRun) timeline {
	runs = append([]DaemonRun(nil), runs...)
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].Started.Before(runs[j].Started) })
	return timeline{runs: runs}
}

// find returns the index of the latest run started at or before at for
// which match is true, or -1.
func (t timeline) find(at time.Time, match func(DaemonRun) bool) int {
	found := -1
	for i, r := range t.runs {
		if r.Started.After(at) {
			break
		}
		if match(r) {
			found = i
		}
	}
	return found
}

func (t timeline) byInstance(inst string, at time.Time) int {
	return t.find(at, func(r DaemonRun) bool { return r.Instance == inst })
}

func (t timeline) byIP(ip string, at time.Time) int {
	return t.find(at, func(r DaemonRun) bool { return r.IP == ip })
}

// matchSubmits pairs each site-seen submit of one booking with an attempt
// row of step submit sent by the same run just before it arrived, for the
// same choice (a row or a submit without a known choice pairs with any).
// A submit left without a row is lost: allowed only within KillLossBound
// before a SIGKILL of the run that sent it.
func (a *Audit) matchSubmits(ref bookingRef, subs []sitesim.Submit, rows []AttemptRow, t timeline) {
	id := ref.ID
	type sent struct {
		at     time.Time
		choice int
		used   bool
	}
	byIP := map[string][]*sent{}
	for _, row := range rows {
		if row.Step != "submit" {
			continue
		}
		ip := ""
		if i := t.byInstance(row.Instance, row.SentAt); i >= 0 {
			ip = t.runs[i].IP
		}
		byIP[ip] = append(byIP[ip], &sent{at: row.SentAt, choice: row.Choice})
	}
	for _, rs := range byIP {
		sort.Slice(rs, func(i, j int) bool { return rs[i].at.Before(rs[j].at) })
	}
	subs = append([]sitesim.Submit(nil), subs...)
	sort.SliceStable(subs, func(i, j int) bool { return subs[i].At.Before(subs[j].At) })
	for _, sub := range subs {
		rs := byIP[sub.IP]
		choice := ref.choice(slotRef{sub.Facility, sub.Date, sub.Slot})
		matched := false
		for i := len(rs) - 1; i >= 0; i-- {
			r := rs[i]
			if r.used || r.at.After(sub.At.Add(rowSkew)) || (r.choice != 0 && choice != 0 && r.choice != choice) {
				continue
			}
			if sub.At.Sub(r.at) > rowLead {
				break
			}
			r.used, matched = true, true
			break
		}
		if matched {
			continue
		}
		run := DaemonRun{}
		if i := t.byIP(sub.IP, sub.At); i >= 0 {
			run = t.runs[i]
		}
		before := run.Ended.Sub(sub.At)
		if run.End == endSIGKILL && before <= KillLossBound && before >= -killInFlight {
			a.LostAtKill++
			continue
		}
		a.LostSubmits++
		switch run.End {
		case endSIGTERM:
			a.LostAfterSIGTERM++
		case endSIGKILL:
			a.LostAfterSIGKILL++
		}
		a.problem("booking %d: the submit for choice %d from %s at %s has no attempt row (sender %s, end %q at %s)",
			id, choice, sub.IP, sub.At.Format("15:04:05.000"), run.Instance, run.End, run.Ended.Format("15:04:05.000"))
	}
}

// overlaps counts the submits of one booking sent by a run after another
// run, from another source address, had taken the booking over. The
// takeover instant is the new run's first attempt row for the booking (a
// login or page visit comes before its first submit).
func (a *Audit) overlaps(id int64, subs []sitesim.Submit, rows []AttemptRow, t timeline) {
	first := map[int]time.Time{}
	for _, row := range rows {
		i := t.byInstance(row.Instance, row.SentAt)
		if i < 0 {
			continue
		}
		if f, ok := first[i]; !ok || row.SentAt.Before(f) {
			first[i] = row.SentAt
		}
	}
	if len(first) < 2 {
		return
	}
	for _, sub := range subs {
		sender := t.byIP(sub.IP, sub.At)
		fs, ok := first[sender]
		if sender < 0 || !ok {
			continue
		}
		owner, ownerFirst := -1, time.Time{}
		for i, f := range first {
			if !f.After(sub.At) && (owner < 0 || f.After(ownerFirst)) {
				owner, ownerFirst = i, f
			}
		}
		if owner < 0 || owner == sender || t.runs[owner].IP == sub.IP || !fs.Before(ownerFirst) {
			continue
		}
		a.OverlappingSubmits++
		a.problem("booking %d: %s (%s) submitted at %s, %s after %s had taken it over",
			id, t.runs[sender].Instance, sub.IP, sub.At.Format("15:04:05.000"), sub.At.Sub(ownerFirst).Round(time.Millisecond), t.runs[owner].Instance)
	}
}

func hasKind(rows []string, kind string) bool {
	for _, r := range rows {
		if strings.HasPrefix(r, kind+":") {
			return true
		}
	}
	return false
}
