package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"reserver/internal/booking"
	"reserver/internal/tenant"
)

// The bookings list (/ui/bookings): every booking of every tenant, newest
// first, with filters and a search box. A filter value the page cannot
// use is refused with a message and status 400, never ignored: a typo
// must not read as "no such bookings".

// bookingsForm is the filter form's values, as given.
type bookingsForm struct {
	State   []string
	Site    string
	Tenant  string
	Account string
	Reason  string
	Review  bool
	// By says which date From and To bound: "play" (the play date) or
	// "opening" (the opening's date in the site's zone).
	By, From, To string
	Q            string
	// Limit is the page size asked for, kept for the next page.
	Limit string
}

// bookingRow is one booking in the list.
type bookingRow struct {
	B      *booking.Booking
	Tenant string
	Opens  stamp
	// Ahead is true while the opening is still to come.
	Ahead    bool
	Attempts int
	Steps    map[string]map[string]int
}

type bookingsBody struct {
	Form    bookingsForm
	States  []booking.State
	Reasons []booking.Reason
	Tenants []tenant.Tenant
	Items   []bookingRow
	Next    string
}

// HasState reports whether the form selects st.
func (f bookingsForm) HasState(st booking.State) bool {
	for _, v := range f.State {
		if v == string(st) {
			return true
		}
	}
	return false
}

// values is the form as a query, without the cursor.
func (f bookingsForm) values() url.Values {
	v := url.Values{}
	for _, st := range f.State {
		v.Add("state", st)
	}
	for k, x := range map[string]string{"site": f.Site, "tenant": f.Tenant, "account": f.Account, "reason": f.Reason,
		"by": f.By, "from": f.From, "to": f.To, "q": f.Q, "limit": f.Limit} {
		if x != "" {
			v.Set(k, x)
		}
	}
	if f.Review {
		v.Set("review", "1")
	}
	return v
}

// bookingsQuery reads the filters of /ui/bookings; tenants resolve a
// tenant's name.
func (s *Server) bookingsQuery(q url.Values, tenants []tenant.Tenant) (bookingsForm, booking.SearchFilter, []FieldProblem) {
	var form bookingsForm
	f := booking.SearchFilter{Zone: s.location}
	var probs []FieldProblem
	bad := func(field, detail string) { probs = append(probs, FieldProblem{Field: field, Detail: detail}) }
	for _, v := range q["state"] {
		for _, name := range strings.Split(v, ",") {
			if name = strings.TrimSpace(name); name == "" {
				continue
			}
			form.State = append(form.State, name)
			st, err := booking.ParseState(name)
			if err != nil {
				bad("state", err.Error())
				continue
			}
			f.States = append(f.States, st)
		}
	}
	if v := strings.TrimSpace(q.Get("site")); v != "" {
		form.Site, f.Site = v, v
		if !siteRE.MatchString(v) {
			bad("site", fmt.Sprintf("%q is not a site profile name (lower-case letters, digits, '-', '_')", v))
		}
	}
	if v := strings.TrimSpace(q.Get("tenant")); v != "" {
		form.Tenant = v
		f.TenantID = -1
		for _, t := range tenants {
			if t.Name == v {
				f.TenantID = t.ID
			}
		}
		if f.TenantID < 0 {
			bad("tenant", fmt.Sprintf("there is no tenant named %q", v))
		}
	}
	if v := strings.TrimSpace(q.Get("account")); v != "" {
		form.Account, f.Account = v, v
		if len(v) > 128 {
			bad("account", "a site account's username is at most 128 characters")
		}
	}
	if v := q.Get("reason"); v != "" {
		form.Reason = v
		r, err := booking.ParseReason(v)
		if err != nil {
			bad("reason", err.Error())
		}
		f.Reason = r
	}
	switch v := q.Get("review"); v {
	case "":
	case "1", "on", "true":
		form.Review, f.Review = true, true
	default:
		bad("review", fmt.Sprintf("%q: expected 1 (only bookings flagged for review) or nothing", v))
	}
	form.By, form.From, form.To = q.Get("by"), strings.TrimSpace(q.Get("from")), strings.TrimSpace(q.Get("to"))
	dates := booking.DateRange{From: form.From, To: form.To}
	switch form.By {
	case "", "play":
		f.PlayOn = dates
	case "opening":
		f.OpensOn = dates
	default:
		bad("by", fmt.Sprintf("%q: expected play (the play date) or opening (the opening's date in the site's zone)", form.By))
	}
	if err := dates.Check(); err != nil {
		bad("dates", err.Error())
	}
	if v := strings.TrimSpace(q.Get("q")); v != "" {
		form.Q, f.Query = v, v
		if len(v) > 100 {
			bad("q", "search for at most 100 characters: a booking id, an account, a reservation number or a phone number's last digits")
		}
	}
	form.Limit = q.Get("limit")
	f.Before, f.Limit, probs = paging(q.Get("cursor"), form.Limit, probs)
	return form, f, probs
}

func (s *Server) uiBookings(w http.ResponseWriter, r *http.Request, sess session) {
	ctx := r.Context()
	tenants, err := s.o.Tenants.All(ctx)
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	form, f, probs := s.bookingsQuery(r.URL.Query(), tenants)
	body := bookingsBody{Form: form, States: booking.States, Reasons: booking.Reasons, Tenants: tenants}
	d := pageData{Title: "Bookings", CSRF: sess.CSRF, Who: sess.Tenant, Nav: "bookings", Body: &body}
	if len(probs) > 0 {
		d.Error = problemText(probs)
		s.render(w, r, http.StatusBadRequest, "bookings", d)
		return
	}
	items, err := s.o.Bookings.Search(ctx, f)
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	ids := make([]int64, 0, len(items))
	tids := make([]int64, 0, len(items))
	for _, b := range items {
		ids, tids = append(ids, b.ID), append(tids, b.TenantID)
	}
	names, err := s.o.Tenants.Names(ctx, tids)
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	counts, err := s.o.Bookings.StepClassCounts(ctx, ids)
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	now := s.o.Now()
	for i := range items {
		b := &items[i]
		row := bookingRow{B: b, Tenant: names[b.TenantID], Opens: s.stamp(b.OpensAt, b.Site, false),
			Ahead: !b.State.Terminal() && b.OpensAt.After(now), Steps: counts[b.ID]}
		for _, m := range row.Steps {
			for _, n := range m {
				row.Attempts += n
			}
		}
		body.Items = append(body.Items, row)
	}
	if f.Limit > 0 && len(items) == f.Limit {
		nq := form.values()
		nq.Set("cursor", strconv.FormatInt(items[len(items)-1].ID, 10))
		body.Next = "/ui/bookings?" + nq.Encode()
	}
	s.render(w, r, http.StatusOK, "bookings", d)
}

// problemText joins field problems for the page's error line.
func problemText(probs []FieldProblem) string {
	msgs := make([]string, 0, len(probs))
	for _, p := range probs {
		msgs = append(msgs, p.Field+": "+p.Detail)
	}
	return strings.Join(msgs, "; ")
}

// refreshFor is how often the page of b reloads itself: every few
// seconds while it runs or its opening is near, slower while it waits,
// never once it has ended.
func refreshFor(b *booking.Booking, now time.Time) int {
	switch {
	case b.State.Terminal():
		return 0
	case b.State == booking.Running, b.OpensAt.Sub(now) < 5*time.Minute:
		return 3
	}
	return 30
}
