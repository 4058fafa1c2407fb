package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"reserver/internal/backoff"
	"reserver/internal/booking"
	"reserver/internal/journal"
	"reserver/internal/metrics"
)

// dbRetry is how the daemon waits for the database to answer again.
var dbRetry = backoff.Policy{Base: 100 * time.Millisecond, Cap: 5 * time.Second}

// Journal operations.
const (
	opSucceed = "succeed"
	opFail    = "fail"
	opCancel  = "cancel"
)

// outcome is a terminal write of a run, as the journal keeps it until the
// database has it.
type outcome struct {
	Op            string        `json:"op"`
	From          booking.State `json:"from"`
	Instance      string        `json:"instance"`
	ReservationNo string        `json:"reservation_no,omitempty"`
	// WonChoice is the 1-based choice the success booked.
	WonChoice int              `json:"won_choice,omitempty"`
	Reason    booking.Reason   `json:"reason,omitempty"`
	Notes     []booking.Outbox `json:"notes,omitempty"`
	At        time.Time        `json:"at"`
}

// succeed records the success with its outbox row in one transaction. The
// site has booked: the reservation is recorded whatever happened to the
// booking meanwhile (see apply).
func (r *run) succeed(reservation string) {
	what := "booked: reservation " + reservation
	if reservation == "" {
		what = "booked (the site showed no reservation number)"
	}
	o := outcome{Op: opSucceed, ReservationNo: reservation, Notes: r.notes(KindBooked, reservation)}
	if r.choices != nil {
		o.WonChoice = r.choice + 1
		if len(r.choices) > 1 {
			what += fmt.Sprintf(" for choice %d of %d (%s)", o.WonChoice, len(r.choices), r.current())
		}
	}
	r.d.event(r.b.ID, what)
	r.finish(o)
}

func (r *run) fail(reason booking.Reason, kinds ...string) {
	r.log.Info("booking failed", zap.String("reason", string(reason)))
	var notes []booking.Outbox
	for _, k := range kinds {
		notes = append(notes, r.notes(k, "")...)
	}
	r.finish(outcome{Op: opFail, Reason: reason, Notes: notes})
}

// finishCancel writes the cancel the owner asked for.
func (r *run) finishCancel() {
	r.d.event(r.b.ID, "cancelled as requested")
	r.finish(outcome{Op: opCancel})
}

// finish writes a terminal outcome. When the database does not take it at
// once, the outcome goes to the local journal first (so that a crash does
// not lose it) and is retried until it is written or the run's context
// ends (shutdown): then the journal keeps it for the replay, bounded.
func (r *run) finish(o outcome) {
	r.finished.Store(true)
	o.From, o.Instance, o.At = r.state, r.d.cfg.Instance, time.Now()
	// One try even when the run is being stopped; shorter then, so that
	// Stop stays bounded while the database is away.
	first := 10 * time.Second
	if r.ctx.Err() != nil {
		first = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), first)
	err := r.d.apply(ctx, r.b.ID, o)
	cancel()
	if err == nil {
		return
	}
	r.log.Warn("finishing the booking failed; journalling it and retrying", zap.String("op", o.Op), zap.Error(err))
	seq, jerr := r.d.journalAppend(r.b.ID, o)
	if jerr != nil {
		r.log.Error("outcome journal", zap.Error(jerr))
	}
	err = backoff.Retry(r.ctx, dbRetry, func(ctx context.Context) error {
		return r.d.apply(ctx, r.b.ID, o)
	}, nil)
	if err == nil {
		r.d.journalDone(r.b.ID, seq)
		return
	}
	if seq == 0 {
		r.log.Error("shutting down with the booking's outcome unwritten and no journal to keep it", zap.String("op", o.Op), zap.Error(err))
		return
	}
	r.log.Warn("shutting down with the booking's outcome unwritten: the journal keeps it", zap.String("op", o.Op), zap.Error(err))
}

// apply writes o to the database. A success the booking can no longer take
// normally (it changed elsewhere, or the lease was lost) is still recorded
// with its number, marked for an operator, and counted; a failure or a
// cancel that the booking can no longer take is dropped (it finished or
// is run elsewhere).
func (d *Daemon) apply(ctx context.Context, id int64, o outcome) error {
	st := d.cfg.Store
	var err error
	switch o.Op {
	case opSucceed:
		err = st.Succeed(ctx, id, o.From, o.Instance, booking.Reserved{No: o.ReservationNo, Choice: o.WonChoice}, o.Notes, o.At)
		if errors.Is(err, booking.ErrConflict) || errors.Is(err, booking.ErrNotFound) {
			review, lerr := st.RecordLateReservation(ctx, id, booking.Reserved{No: o.ReservationNo, Choice: o.WonChoice}, o.Notes, o.At)
			if lerr != nil {
				return lerr
			}
			if review != "" {
				metrics.LateReservation(review)
				d.log.Warn("reservation recorded on a booking that changed meanwhile: marked for review",
					zap.Int64("booking", id), zap.String("reservation", o.ReservationNo), zap.String("review", review))
			}
			return nil
		}
	case opFail:
		err = st.Fail(ctx, id, o.From, o.Instance, o.Reason, o.Notes, o.At)
	case opCancel:
		err = st.FinishCancel(ctx, id, o.From, o.Instance, o.At)
	default:
		return fmt.Errorf("unknown outcome %q", o.Op)
	}
	if errors.Is(err, booking.ErrConflict) || errors.Is(err, booking.ErrNotFound) {
		d.log.Warn("booking changed elsewhere before it could be finished here", zap.Int64("booking", id), zap.String("op", o.Op), zap.Error(err))
		return nil
	}
	return err
}

// journalFile is the journal of one instance name inside JournalDir.
func journalFile(instance string) string {
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, instance)
	return safe + ".journal"
}

func (d *Daemon) journalAppend(id int64, o outcome) (uint64, error) {
	d.mu.Lock()
	j := d.journal
	d.mu.Unlock()
	if j == nil {
		return 0, nil
	}
	data, err := json.Marshal(o)
	if err != nil {
		return 0, err
	}
	seq, err := j.Append(journal.Entry{BookingID: id, Op: o.Op, Data: data, At: o.At})
	if err != nil {
		return 0, err
	}
	d.mu.Lock()
	d.unjournaled[id] = true
	d.mu.Unlock()
	return seq, nil
}

func (d *Daemon) journalDone(id int64, seq uint64) {
	d.mu.Lock()
	j := d.journal
	d.mu.Unlock()
	if j == nil || seq == 0 {
		return
	}
	if err := j.Done(seq); err != nil {
		d.log.Warn("outcome journal", zap.Error(err))
	}
	d.mu.Lock()
	delete(d.unjournaled, id)
	d.mu.Unlock()
}

// replayJournal writes the outcomes the journal holds (from this process,
// or one before it under the same instance name) into the database, and
// forgets those written.
func (d *Daemon) replayJournal(ctx context.Context) {
	d.mu.Lock()
	j := d.journal
	d.mu.Unlock()
	if j == nil {
		return
	}
	for _, e := range j.Pending() {
		d.mu.Lock()
		_, running := d.runs[e.BookingID]
		d.mu.Unlock()
		if running {
			continue // its run retries the write itself
		}
		var o outcome
		if err := json.Unmarshal(e.Data, &o); err != nil {
			d.log.Error("outcome journal: unreadable entry dropped", zap.Int64("booking", e.BookingID), zap.Error(err))
			d.journalDone(e.BookingID, e.Seq)
			continue
		}
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := d.apply(wctx, e.BookingID, o)
		cancel()
		if err != nil {
			d.log.Warn("outcome journal: database still unavailable", zap.Error(err))
			return
		}
		d.log.Info("outcome journal: written", zap.Int64("booking", e.BookingID), zap.String("op", o.Op))
		d.journalDone(e.BookingID, e.Seq)
	}
}

// failedKinds are the outbox kinds a failure writes; notes drops those
// the booking does not ask for.
func (r *run) failedKinds() []string { return []string{KindFailed} }

// wants reports whether a booking whose notify_on is on asks for a
// message of kind; left empty, the daemon's default (success only,
// failures too with NotifyFailed). A refused password at pre-warm is told
// unless the booking asks for nothing: only its owner can fix it, and
// there is still time.
func (r *run) wants(on, kind string) bool {
	if on == booking.NotifyDefault {
		on = booking.NotifySuccess
		if r.d.cfg.NotifyFailed {
			on = booking.NotifyAlways
		}
	}
	switch on {
	case booking.NotifyNever:
		return false
	case booking.NotifyAlways:
		return true
	default: // success, and anything this version does not know
		return kind == KindBooked || kind == KindLoginFailed
	}
}

// notice is what the booking's messages go by, read from the database
// when the outcome is written (a PATCH may have changed the phone, the
// name or the notify settings while it ran); the values read at arming
// when the database does not answer at once.
func (r *run) notice() booking.Notice {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), 2*time.Second)
	defer cancel()
	n, err := r.d.cfg.Store.NoticeOf(ctx, r.b.ID)
	if err != nil {
		r.log.Warn("notify settings could not be read again; using those read at arming", zap.Error(err))
		return r.b.Notice()
	}
	return n
}

// notes are the outbox rows of kind the booking asks for, with the
// notify settings as stored now.
func (r *run) notes(kind, reservation string) []booking.Outbox {
	return r.notesFor(r.notice(), kind, reservation)
}

// notesFor are the outbox rows of kind under the notify settings n.
func (r *run) notesFor(n booking.Notice, kind, reservation string) []booking.Outbox {
	if n.Phone == "" || !r.wants(n.NotifyOn, kind) {
		return nil
	}
	lang, noun := r.noticeLanguage(n.NotifyLanguage)
	// The slot is the one booked (the choice won) for a confirmation, the
	// first choice otherwise; choice and choices say which of how many.
	slot, choice, choices := booking.Choice{Court: r.b.Court, Date: r.b.PlayDate, Start: r.b.StartTime, End: r.b.EndTime}, 1, 1
	if len(r.choices) > 0 {
		choices = len(r.choices)
		if kind == KindBooked {
			slot, choice = r.current(), r.choice+1
		}
	}
	payload, _ := json.Marshal(map[string]any{
		"site": r.b.Site, "court": slot.Court, "date": slot.Date, "start": slot.Start,
		"end": slot.End, "reservation_no": reservation, "name": n.BookerName,
		"language": lang, "noun": noun, "choice": choice, "choices": choices,
		// The opening, shown in the site's zone (notify: time_zone).
		"opens_at": r.b.OpensAt.UTC().Format(time.RFC3339Nano), "time_zone": r.zone(),
	})
	return []booking.Outbox{{BookingID: r.b.ID, Kind: kind, Phone: n.Phone, Payload: string(payload)}}
}

// zone is the site's IANA time zone name, or "" when its profile is not
// loaded (the text then says UTC).
func (r *run) zone() string {
	if r.prof == nil || r.prof.Location == nil {
		return ""
	}
	return r.prof.Location.String()
}
