package api

import (
	"context"
	"time"

	"reserver/internal/booking"
	"reserver/internal/sitetime"
	"reserver/internal/tenant"
)

// bookingView is a booking as the API shows it. The site password is never
// part of it.
type bookingView struct {
	ID     int64 `json:"id"`
	Tenant int64 `json:"tenant_id,omitempty"`
	// TenantName is the tenant's name beside its id, for an operator.
	TenantName string      `json:"tenant,omitempty"`
	Site       string      `json:"site"`
	Account    accountView `json:"account"`
	Court      string      `json:"court"`
	Date       string      `json:"date"`
	Start      string      `json:"start"`
	End        string      `json:"end"`
	OpensAt    time.Time   `json:"opens_at"`
	// OpensAtLocal is opens_at in the site's time zone with its offset,
	// for a person ("2026-11-25 10:00:00 +09:00 KST").
	OpensAtLocal  string            `json:"opens_at_local"`
	WindowSeconds int               `json:"window_seconds"`
	RatePerSecond float64           `json:"rate_per_second"`
	Phone         string            `json:"phone,omitempty"`
	Name          string            `json:"name,omitempty"`
	Fields        map[string]string `json:"fields"`
	// Notify is the booking's own notify settings (left out: the
	// defaults).
	Notify *notifyView `json:"notify,omitempty"`
	// Choices are the booking's slots in order of preference (always one
	// at least; the first is court, date, start and end); WonChoice the
	// 1-based one the site booked and Booked that slot, once it succeeded.
	Choices   []booking.Choice `json:"choices"`
	WonChoice int              `json:"won_choice,omitempty"`
	Booked    *booking.Choice  `json:"booked,omitempty"`
	// Priority orders the account's bookings that open at one instant
	// when the site takes one submit at a time (lower first).
	Priority      int            `json:"priority"`
	State         booking.State  `json:"state"`
	Reason        booking.Reason `json:"reason,omitempty"`
	ReservationNo string         `json:"reservation_no,omitempty"`
	CreatedAt     time.Time      `json:"created_at"`
	UpdatedAt     time.Time      `json:"updated_at"`
	FinishedAt    *time.Time     `json:"finished_at,omitempty"`
	// CancelRequestedAt is set while (and after) a cancel waited for the
	// daemon instance running the booking.
	CancelRequestedAt *time.Time `json:"cancel_requested_at,omitempty"`
	// Review and ReviewNote say what an operator must look at.
	Review     string `json:"review,omitempty"`
	ReviewNote string `json:"review_note,omitempty"`
	// Warnings say what was accepted but may not be what the caller meant.
	Warnings []string `json:"warnings,omitempty"`
	// Detail says what a 202 answer means for the booking.
	Detail string `json:"detail,omitempty"`
}

type accountView struct {
	Username string `json:"username"`
}

type listView struct {
	Items      []bookingView `json:"items"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

func (s *Server) view(b *booking.Booking, p tenant.Principal) bookingView {
	v := bookingView{
		ID: b.ID, Site: b.Site, Court: b.Court, Date: b.PlayDate, Start: b.StartTime, End: b.EndTime,
		OpensAt: b.OpensAt, WindowSeconds: b.WindowSeconds, RatePerSecond: b.RatePerSecond,
		Phone: b.Phone, Name: b.BookerName, Fields: b.FieldMap(), State: b.State, Reason: b.Reason,
		ReservationNo: b.ReservationNo, CreatedAt: b.CreatedAt, UpdatedAt: b.UpdatedAt, FinishedAt: b.FinishedAt,
		CancelRequestedAt: b.CancelRequestedAt, Review: b.Review, ReviewNote: b.ReviewNote,
		OpensAtLocal: sitetime.Format(b.OpensAt, s.location(b.Site)),
		Notify:       viewNotify(b),
		Choices:      b.Choices(), Priority: b.Priority,
	}
	if c, ok := b.Won(); ok {
		v.Booked = &c
		v.WonChoice = 1
		if b.WonChoice != nil {
			v.WonChoice = *b.WonChoice
		}
	}
	if b.Account != nil {
		v.Account.Username = b.Account.Username
	}
	if p.IsOperator() {
		v.Tenant = b.TenantID
	}
	return v
}

// location is the time zone of site, UTC for a site without a profile
// (a profile removed since the booking was made).
func (s *Server) location(site string) *time.Location {
	if st, ok := s.o.Sites.Site(site); ok && st != nil && st.Location() != nil {
		return st.Location()
	}
	return time.UTC
}

// nameTenants fills the tenant names of the operator views among vs (those
// that carry a tenant id), with one query.
func (s *Server) nameTenants(ctx context.Context, vs ...*bookingView) error {
	var ids []int64
	for _, v := range vs {
		if v.Tenant != 0 {
			ids = append(ids, v.Tenant)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	names, err := s.o.Tenants.Names(ctx, ids)
	if err != nil {
		return err
	}
	for _, v := range vs {
		v.TenantName = names[v.Tenant]
	}
	return nil
}

// attemptView is one attempt as the API shows it.
type attemptView struct {
	ID       int64     `json:"id"`
	Seq      int       `json:"seq"`
	Instance string    `json:"instance"`
	Step     string    `json:"step"`
	SentAt   time.Time `json:"sent_at"`
	// SentAtLocal is sent_at in the site's time zone, to the millisecond,
	// on the sending instance's clock.
	SentAtLocal string `json:"sent_at_local"`
	// OffsetMS is sent_at from the opening instant on the site's clock
	// (opens_at is on it), as the list's site_clock says it was estimated.
	OffsetMS float64 `json:"offset_ms"`
	// LocalOffsetMS is sent_at − opens_at on the sending instance's clock,
	// which is off by as much as that clock is from the site's.
	LocalOffsetMS float64 `json:"local_offset_ms"`
	// Offset is offset_ms as a person reads it: "T+12.3 ms" on the site's
	// clock.
	Offset    string     `json:"offset"`
	SiteDate  *time.Time `json:"site_date,omitempty"`
	LatencyMS float64    `json:"latency_ms"`
	Status    int        `json:"status"`
	Class     string     `json:"class"`
	Egress    string     `json:"egress,omitempty"`
	Excerpt   string     `json:"excerpt,omitempty"`
	Error     string     `json:"error,omitempty"`
	// WaitedFor says why the request waited before it went on the wire
	// (booking_rate, host_ceiling, egress_ceiling, egress_cooling,
	// clock_remeasure; empty when it did not), WaitedMS for how long.
	WaitedFor string  `json:"waited_for,omitempty"`
	WaitedMS  float64 `json:"waited_ms"`
}

type attemptList struct {
	Items      []attemptView `json:"items"`
	NextCursor string        `json:"next_cursor,omitempty"`
	// SiteClock says how offset_ms was put on the site's clock
	// (booking.SiteClock.String), as the operator page and the CLI do.
	SiteClock string `json:"site_clock"`
}

// viewAttempt shows a, timed from opensAt on the site's clock as clk
// estimates it; loc is the site's time zone.
func viewAttempt(a booking.Attempt, opensAt time.Time, clk booking.SiteClock, loc *time.Location) attemptView {
	off := clk.SinceOpening(a.SentAt, opensAt)
	return attemptView{
		ID: a.ID, Seq: a.Seq, Instance: a.Instance, Step: a.Step, SentAt: a.SentAt,
		SentAtLocal:   sitetime.FormatMilli(a.SentAt, loc),
		OffsetMS:      off,
		Offset:        sitetime.SinceOpening(time.Duration(off * float64(time.Millisecond))),
		LocalOffsetMS: float64(a.SentAt.Sub(opensAt).Microseconds()) / 1000,
		SiteDate:      a.SiteDate, LatencyMS: float64(a.LatencyUS) / 1000, Status: a.Status,
		Class: a.Class, Egress: a.Egress, Excerpt: a.Excerpt, Error: a.Error,
		WaitedFor: a.WaitedFor, WaitedMS: float64(a.WaitedUS) / 1000,
	}
}

// clockRowsMax bounds the attempts read to estimate one booking's site
// clock. A booking makes a few hundred requests; more rows would only
// narrow an estimate that is already milliseconds wide.
const clockRowsMax = 5000

// bookingClock estimates the site clock of booking id over all its
// attempts (up to clockRowsMax), not only the page shown, so that every
// page of the attempt log is on one clock and agrees with the operator
// page and `reserver attempts`. page is the page read after the cursor
// after with limit; when it is the whole log it is used as it is.
func (s *Server) bookingClock(ctx context.Context, b *booking.Booking, after int64, page []booking.Attempt, limit int) (booking.SiteClock, error) {
	id := b.ID
	if after == 0 && len(page) < limit {
		return booking.SiteClockFor(b, page), nil
	}
	var all []booking.Attempt
	var from int64
	for len(all) < clockRowsMax {
		rows, err := s.o.Bookings.Attempts(ctx, id, from, 1000)
		if err != nil {
			return booking.SiteClock{}, err
		}
		all = append(all, rows...)
		if len(rows) < 1000 {
			break
		}
		from = rows[len(rows)-1].ID
	}
	return booking.SiteClockFor(b, all), nil
}
