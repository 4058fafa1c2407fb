package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"reserver/internal/booking"
	"reserver/internal/tenant"
)

// One booking's page (/ui/bookings/{id}), whatever its state: its summary,
// its timeline (timeline.go) and its attempt log, and the cancel form
// while it has not ended. An unfinished booking's page reloads itself
// (refreshFor) until it ends.

type bookingBody struct {
	B        *booking.Booking
	Tenant   string
	Attempts []booking.Attempt
	// Steps counts the attempts by step, then class.
	Steps map[string]map[string]int
	// Timeline is drawn wide; Compact is the same for a phone.
	Timeline, Compact timeline
	// Opens, Finished and CancelRequested are the booking's instants in
	// the site's zone.
	Opens, Finished, CancelRequested stamp
	// Refresh is how often the page reloads itself (0: it has ended).
	Refresh int
	// Clock puts the attempts' local send times on the site's clock.
	Clock   booking.SiteClock
	Clipped bool
	CSRF    string
	// Notice says what became of a cancel just made from this page.
	Notice string
	// Choices are the booking's slots in order, the one booked marked;
	// Won is its 1-based place (0 until the site booked one), Slot the one
	// booked or else the first.
	Choices []choiceRow
	Won     int
	Slot    booking.Choice
}

// Multi reports whether the booking has alternatives: the page then
// lists them and says which choice each attempt was for.
func (b bookingBody) Multi() bool { return len(b.Choices) > 1 }

func (s *Server) uiBooking(w http.ResponseWriter, r *http.Request, sess session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.uiFail(w, r, &sess, http.StatusNotFound, "no booking with this id")
		return
	}
	b, err := s.o.Bookings.Get(r.Context(), booking.Scope{All: true}, id)
	if errors.Is(err, booking.ErrNotFound) {
		s.uiFail(w, r, &sess, http.StatusNotFound, "no booking with this id")
		return
	}
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	var all []booking.Attempt
	var after int64
	for len(all) < timelineMax {
		page, err := s.o.Bookings.Attempts(r.Context(), id, after, 1000)
		if err != nil {
			s.uiError(w, r, err)
			return
		}
		all = append(all, page...)
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].ID
	}
	names, err := s.o.Tenants.Names(r.Context(), []int64{b.TenantID})
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	now := s.o.Now()
	body := bookingBody{B: b, Tenant: names[b.TenantID], Attempts: all, Steps: countSteps(all), Clipped: len(all) >= timelineMax, CSRF: sess.CSRF,
		Notice: cancelNotice(r.URL.Query().Get("cancel"), b), Refresh: refreshFor(b, now),
		Opens: s.stamp(b.OpensAt, b.Site, true), Finished: s.stamp(deref(b.FinishedAt), b.Site, false),
		CancelRequested: s.stamp(deref(b.CancelRequestedAt), b.Site, false),
		Choices:         choiceRows(b), Won: b.BookedChoice(), Slot: b.Slot()}
	body.Timeline = buildTimeline(b, all, s.location(b.Site), now)
	body.Compact = buildTimelineIn(tlCompact, b, all, s.location(b.Site), now)
	body.Clock = booking.SiteClockFor(b, all)
	s.render(w, r, http.StatusOK, "booking", pageData{Title: fmt.Sprintf("Booking %d", id), CSRF: sess.CSRF, Who: sess.Tenant,
		Nav: "bookings", Refresh: body.Refresh, Body: body})
}

// uiCancel cancels like DELETE /v1/bookings/{id} and sends the operator
// back to the booking's page with what became of it (the cancel query
// parameter, shown by cancelNotice).
func (s *Server) uiCancel(w http.ResponseWriter, r *http.Request, sess session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.uiFail(w, r, &sess, http.StatusNotFound, "no booking with this id")
		return
	}
	b, err := s.o.Bookings.CancelAndWait(r.Context(), booking.Scope{All: true}, id, booking.ReasonOperator, s.o.CancelWait)
	outcome := ""
	switch {
	case errors.Is(err, booking.ErrNotFound):
		s.uiFail(w, r, &sess, http.StatusNotFound, "no booking with this id")
		return
	case err != nil && r.Context().Err() != nil:
		return // the operator left; the request stands
	case err != nil && !errors.Is(err, booking.ErrTerminal):
		s.uiError(w, r, err)
		return
	case b.State == booking.Succeeded:
		outcome = "booked"
	case errors.Is(err, booking.ErrTerminal):
		outcome = "finished" // finished before the cancel: the page shows how
	case b.State == booking.Cancelled:
		outcome = "cancelled"
		s.o.Logger.Sugar().Infow("ui: booking cancelled by an operator", "booking", id, "operator", sess.Tenant)
	default:
		outcome = "requested"
		s.o.Logger.Sugar().Infow("ui: cancel requested by an operator", "booking", id, "operator", sess.Tenant, "instance", b.ClaimedBy)
	}
	s.audit(r, tenant.AuditEntry{Actor: sess.who.Actor(sess.remote), Action: tenant.ActionCancel, BookingID: &id, Detail: outcome})
	http.Redirect(w, r, "/ui/bookings/"+strconv.FormatInt(id, 10)+"?cancel="+outcome, http.StatusSeeOther)
}

// cancelNotice is the message the booking page shows after a cancel, from
// the outcome uiCancel put in the address and the booking as it is now.
func cancelNotice(outcome string, b *booking.Booking) string {
	switch outcome {
	case "cancelled":
		return fmt.Sprintf("Booking %d cancelled.", b.ID)
	case "booked":
		return fmt.Sprintf("Too late to cancel: the site had already booked it (reservation %s). Cancel it on the site if it is not wanted.", b.ReservationNo)
	case "requested":
		if b.State.Terminal() {
			return fmt.Sprintf("Cancel requested; the booking has since ended %s.", b.State)
		}
		return fmt.Sprintf("Cancel requested: instance %s is still running this booking (%s) and stops before its next request. Reload this page for the final state.", b.ClaimedBy, b.State)
	case "finished":
		return fmt.Sprintf("Nothing to cancel: the booking had already ended %s.", b.State)
	}
	return ""
}
