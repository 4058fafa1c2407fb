package api

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"reserver/internal/booking"
	"reserver/internal/sitetime"
)

// The dashboard line at the top of every signed-in page: the next
// openings, the armed and running bookings, the live instances, the
// outbox backlog and what is failing right now (booking.Store.Dashboard).

// unfinished are the states of a booking not yet run to its end.
var unfinished = []string{string(booking.Queued), string(booking.Armed), string(booking.Running)}

// dashOpening is one upcoming opening on the line.
type dashOpening struct {
	Site     string
	At       stamp
	Bookings int
	Link     string
}

// dashView is the line as the layout draws it.
type dashView struct {
	Next                   []dashOpening
	Queued, Armed, Running int
	Instances              int
	Unsent, OutboxFailed   int
	OldestUnsent           string // "3 min ago"
	FailedRecent, Review   int
	Stale                  int
	Reasons                string // "sold_out 2, login_failed 1"
	Failing                bool
	RecentLink, ReviewLink string
	ActiveLink             string
	InstanceNames          string
}

// dashboard reads the line; a failure to read it is logged and the page
// goes without it (it is a summary, not the page's content).
func (s *Server) dashboard(r *http.Request) *dashView {
	now := s.o.Now()
	d, err := s.o.Bookings.Dashboard(r.Context(), now)
	if err != nil {
		s.o.Logger.Sugar().Warnw("ui: dashboard not read", "error", err)
		return nil
	}
	v := &dashView{
		Queued: d.Queued, Armed: d.Armed, Running: d.Running, Instances: len(d.Instances),
		Unsent: d.Unsent, OutboxFailed: d.OutboxFailed, FailedRecent: d.FailedRecent,
		Review: d.Review, Stale: d.Stale, Failing: d.Failing(),
		RecentLink: "/ui/failures?since=1h",
		ReviewLink: "/ui/bookings?review=1",
		ActiveLink: "/ui/bookings?" + url.Values{"state": {string(booking.Armed), string(booking.Running)}}.Encode(),
	}
	var names []string
	for _, in := range d.Instances {
		names = append(names, fmt.Sprintf("%s (%d)", in.Name, in.Bookings))
	}
	v.InstanceNames = strings.Join(names, ", ")
	if d.OldestUnsent != nil {
		v.OldestUnsent = sitetime.Until(now, *d.OldestUnsent)
	}
	var reasons []string
	for _, r := range booking.Reasons {
		if n := d.Reasons[r]; n > 0 {
			reasons = append(reasons, fmt.Sprintf("%s %d", r, n))
		}
	}
	for r, n := range d.Reasons {
		if !slices.Contains(booking.Reasons, r) {
			reasons = append(reasons, fmt.Sprintf("%s %d", cmp.Or(string(r), "no reason"), n))
		}
	}
	v.Reasons = strings.Join(reasons, ", ")
	for _, o := range d.Next {
		v.Next = append(v.Next, dashOpening{Site: o.Site, At: s.stamp(o.OpensAt, o.Site, false), Bookings: o.Bookings,
			Link: "/ui/bookings?" + url.Values{"site": {o.Site}, "state": unfinished}.Encode()})
	}
	return v
}
