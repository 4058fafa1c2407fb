package api

import (
	"net/http"
	"net/url"
	"strconv"

	"reserver/internal/booking"
)

// The failures list (/ui/failures): failed and review-flagged bookings,
// newest first, with their attempts counted by step and class and their
// last answer. Its filters are /v1/failures' (failureQuery), refused the
// same way when they are wrong.

// failureRow is one failure in the list.
type failureRow struct {
	booking.Failure
	Tenant   string
	Finished stamp
	Opens    stamp
}

type failuresBody struct {
	Since, Site, Reason string
	Reasons             []booking.Reason
	Items               []failureRow
	Next                string
}

func (s *Server) uiFailures(w http.ResponseWriter, r *http.Request, sess session) {
	q := r.URL.Query()
	if !q.Has("since") {
		q.Set("since", "7d")
	}
	f, probs := failureQuery(q, s.o.Now())
	d := pageData{Title: "Failures", CSRF: sess.CSRF, Who: sess.Tenant, Nav: "failures"}
	body := failuresBody{Since: q.Get("since"), Site: q.Get("site"), Reason: q.Get("reason"), Reasons: booking.Reasons}
	if len(probs) > 0 {
		d.Error = problemText(probs)
		d.Body = body
		s.render(w, r, http.StatusBadRequest, "failures", d)
		return
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	items, err := s.o.Bookings.Failures(r.Context(), f)
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	tids := make([]int64, 0, len(items))
	for _, it := range items {
		tids = append(tids, it.Booking.TenantID)
	}
	names, err := s.o.Tenants.Names(r.Context(), tids)
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	for _, it := range items {
		body.Items = append(body.Items, failureRow{Failure: it, Tenant: names[it.Booking.TenantID],
			Finished: s.stamp(deref(it.Booking.FinishedAt), it.Booking.Site, false), Opens: s.stamp(it.Booking.OpensAt, it.Booking.Site, false)})
	}
	if len(items) == f.Limit {
		nq := url.Values{"since": {body.Since}, "site": {body.Site}, "reason": {body.Reason}, "cursor": {strconv.FormatInt(items[len(items)-1].Booking.ID, 10)}}
		body.Next = "/ui/failures?" + nq.Encode()
	}
	d.Body = body
	s.render(w, r, http.StatusOK, "failures", d)
}
