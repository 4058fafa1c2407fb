package schedule

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"

	"reserver/internal/booking"
	"reserver/internal/profile"
)

// A booking's choices are tried in order (docs/choices.md). The run keeps
// the current one; templates see its slot. A sold_out answer moves on at
// once (the next request still waits for the booking's rate); not_open
// stays; an answer that may hide a reservation of ours (conflict, or any
// answer whose outcome is unknown) is verified for the current choice
// before the run moves on, so that one booking never holds two
// reservations.

// useChoice makes choice i current: the templates see its slot, and a
// prepared first submit (of another slot) is dropped.
func (r *run) useChoice(i int) {
	r.choice = i
	r.doubt = false
	r.data.Booking = r.b.ChoiceTemplateData(r.prof.Location, r.choices[i])
	r.first = nil
}

// current is the choice being tried.
func (r *run) current() booking.Choice { return r.choices[r.choice] }

// hasNext reports whether a choice follows the current one.
func (r *run) hasNext() bool { return r.choice+1 < len(r.choices) }

// next moves to the next choice (the caller knows there is one) and says
// so in the booking's events.
func (r *run) next(why string) {
	from := r.choice
	r.useChoice(from + 1)
	r.log.Info("moving to the next choice", zap.Int("from", from+1), zap.Int("to", r.choice+1), zap.String("why", why))
	r.d.event(r.b.ID, fmt.Sprintf("choice %d %s: trying choice %d (%s)", from+1, why, r.choice+1, r.current()))
}

// choiceStep reports whether a request of step is for the current choice
// (its attempt row says which): the booking page, submit, verify and
// checkout; not the login or a clock probe.
func (r *run) choiceStep(step string) bool {
	switch step {
	case profile.StepLogin, profile.StepPrelogin, profile.StepProbe:
		return false
	}
	return r.choices != nil
}

// reloadChoices reads the booking's choices again before the opening,
// with the last page visit (refreshBefore ahead of the fire): a PATCH may
// have replaced them since the run started, which the store allows until
// booking.ChoicesCutoff before the opening. It reports whether
// they changed (the pages visited so far were for the old first choice).
// A failed read keeps the ones the run has.
func (r *run) reloadChoices() bool {
	ctx, cancel := context.WithTimeout(r.ctx, 2*time.Second)
	defer cancel()
	b, err := r.d.cfg.Store.Get(ctx, booking.Scope{All: true}, r.b.ID)
	if err != nil {
		r.log.Warn("the booking's choices could not be read again before the opening; using the ones read at the start", zap.Error(err))
		return false
	}
	cs := b.Choices()
	if slices.Equal(cs, r.choices) {
		return false
	}
	r.b.Court, r.b.PlayDate, r.b.StartTime, r.b.EndTime, r.b.ChoiceList = b.Court, b.PlayDate, b.StartTime, b.EndTime, b.ChoiceList
	r.choices = cs
	r.useChoice(0)
	r.d.event(r.b.ID, fmt.Sprintf("choices changed before the opening: now %d, first %s", len(cs), cs[0]))
	return true
}

// limitPeriod is what the site's "limit reached" covers for choice c: its
// date, or its week when the profile caps only weeks.
func (r *run) limitPeriod(c booking.Choice) func(booking.Choice) bool {
	lim := r.prof.AccountLimits
	if lim.PerWeek > 0 && lim.PerDay == 0 {
		w := booking.WeekOf(c.Date)
		return func(o booking.Choice) bool { return booking.WeekOf(o.Date) == w }
	}
	return func(o booking.Choice) bool { return o.Date == c.Date }
}

// limitReached handles the site saying the account holds as many
// reservations as it allows: the run moves to a later choice outside the
// period the limit covers, if it has one; otherwise the booking fails
// (account_limit) and the account's other unfinished bookings whose every
// choice is in that period are cancelled with the same reason, since the
// site will refuse them too. done is true when the booking ended.
func (r *run) limitReached() (done bool) {
	in := r.limitPeriod(r.current())
	for i := r.choice + 1; i < len(r.choices); i++ {
		if !in(r.choices[i]) {
			from := r.choice
			r.useChoice(i)
			r.d.event(r.b.ID, fmt.Sprintf("choice %d: the site's limit for this account is reached; trying choice %d (%s), outside that period", from+1, i+1, r.current()))
			return false
		}
	}
	c := r.current()
	r.d.event(r.b.ID, "failed: "+string(booking.ReasonAccountLimit)+": the site says this account holds as many reservations as it allows")
	r.fail(booking.ReasonAccountLimit, r.failedKinds()...)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), 10*time.Second)
	defer cancel()
	ids, err := r.d.cfg.Store.StopForLimit(ctx, r.b, in)
	if err != nil {
		r.log.Warn("the account's other bookings in the limited period could not all be stopped", zap.Error(err))
	}
	if len(ids) > 0 {
		r.log.Info("stopped the account's other bookings: the site's limit is reached", zap.Int64s("bookings", ids), zap.String("date", c.Date))
		r.d.event(r.b.ID, fmt.Sprintf("the account's bookings %v in the same period were cancelled (account_limit)", ids))
	}
	return true
}
