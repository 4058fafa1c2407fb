package schedule

import (
	"context"
	"time"

	"reserver/internal/booking"
)

// turns orders the submits of one account's bookings at a site that takes
// one submit at a time (the profile's serial_submits): one submit of the
// account is on the wire at once, and when several want to go, the one
// of the lowest priority (then the lowest id) goes first. At the opening
// the bookings due to fire are counted as wanting the turn before they
// ask, so that priority 1 submits first even if another booking's
// goroutine wakes a little sooner. Each booking's own rate still applies:
// the turn is taken after the booking's pace, for one request.
type turns struct {
	mu      chan struct{} // a lock that can be waited on with a context
	holder  *run
	want    map[*run]bool // waiting for the turn
	due     map[*run]bool // waiting for their fire: they want it at the opening
	changed chan struct{} // closed and replaced at every change
}

func newTurns() *turns {
	return &turns{mu: make(chan struct{}, 1), want: map[*run]bool{}, due: map[*run]bool{}, changed: make(chan struct{})}
}

func (t *turns) lock()   { t.mu <- struct{}{} }
func (t *turns) unlock() { <-t.mu }

// signal wakes every waiter (t locked).
func (t *turns) signal() {
	close(t.changed)
	t.changed = make(chan struct{})
}

// before reports whether a goes before b.
func before(a, b *run) bool {
	if a.b.Priority != b.b.Priority {
		return a.b.Priority < b.b.Priority
	}
	return a.b.ID < b.b.ID
}

// first reports whether no run that wants the turn, or is due to, goes
// before r (t locked).
func (t *turns) first(r *run) bool {
	for _, set := range []map[*run]bool{t.want, t.due} {
		for o := range set {
			if o != r && before(o, r) {
				return false
			}
		}
	}
	return true
}

// setDue marks r as waiting for its fire (or no longer, with false).
func (t *turns) setDue(r *run, due bool) {
	t.lock()
	defer t.unlock()
	if due {
		t.due[r] = true
	} else {
		delete(t.due, r)
	}
	t.signal()
}

// acquire waits until r holds the turn, or ctx ends.
func (t *turns) acquire(ctx context.Context, r *run) error {
	t.lock()
	t.want[r] = true
	delete(t.due, r)
	for {
		if t.holder == nil && t.first(r) {
			t.holder = r
			delete(t.want, r)
			t.unlock()
			return nil
		}
		ch := t.changed
		t.unlock()
		select {
		case <-ctx.Done():
			t.lock()
			delete(t.want, r)
			t.signal()
			t.unlock()
			return ctx.Err()
		case <-ch:
		}
		t.lock()
	}
}

// release gives the turn back, and forgets r when it leaves (its run
// ended): a run that is gone holds nothing and is due for nothing.
func (t *turns) release(r *run, leaving bool) {
	t.lock()
	defer t.unlock()
	if t.holder == r {
		t.holder = nil
	}
	if leaving {
		delete(t.want, r)
		delete(t.due, r)
	}
	t.signal()
}

// takeTurn waits for the account's turn before a submit when the site
// takes one at a time; the returned func gives it back. The wait is the
// request's (account_turn on its attempt row).
func (r *run) takeTurn(ctx context.Context) (func(), error) {
	if r.turns == nil {
		return func() {}, nil
	}
	start := time.Now()
	if err := r.turns.acquire(ctx, r); err != nil {
		return nil, r.why(err)
	}
	r.pending.add(booking.WaitAccountTurn, time.Since(start))
	return func() { r.turns.release(r, false) }, nil
}
