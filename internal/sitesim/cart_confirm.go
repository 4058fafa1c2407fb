package sitesim

import (
	"net/http"
)

// confirm handles POST /checkout/{id}/confirm, where the reservation is
// made. Faults are decided first, as for the cart items route.
func (s *Site) confirm(q *cartRequest, id string) cartResponse {
	cf := Confirm{Checkout: id, At: q.now, IP: q.ip}
	sess := s.cartSession(q)
	if sess != nil {
		cf.Account = sess.account
		cf.Repeat = s.cart.confirmed(id, sess.account)
	}
	var resp cartResponse
	switch f := s.faults.decide(true); f {
	case fault500, fault503:
		cf.Result, resp = ResultError5xx, cartFault(false, f)
	case faultResetNotApplied:
		cf.Result, resp = ResultResetNotApplied, cartResponse{reset: true}
	case faultResetApplied:
		cf.Outcome, cf.Hold, cf.Reservation, _ = s.processConfirm(q, sess, id)
		cf.Result, resp = ResultResetApplied, cartResponse{reset: true}
	default:
		cf.Result, cf.Hold, cf.Reservation, resp = s.processConfirm(q, sess, id)
	}
	// A concurrent confirm of the same checkout may have won in between.
	cf.Repeat = cf.Repeat || cf.Result == ResultAlreadyMine || cf.Outcome == ResultAlreadyMine
	s.cart.recordConfirm(cf)
	return resp
}

// processConfirm checks, in order: session (302 to the login), the form's
// _csrf (403), the checkout (the generic page unless it is the account's
// and not yet confirmed), accept_terms=1, the hold's expiry, and makes the
// reservation. It returns the ledger result, hold id and order code.
func (s *Site) processConfirm(q *cartRequest, sess *session, id string) (Result, string, string, cartResponse) {
	if sess == nil {
		return ResultNoSession, "", "", cartRedirect(CartPathLogin)
	}
	form := q.form()
	if !s.xsrfOK(sess.id, form.Get("_csrf")) {
		return ResultBadPath, "", "", cartStatusPage(http.StatusForbidden, txtForbidden)
	}
	lang := s.langs.of(sess.account)
	h, r, ans := s.cart.confirm(id, sess.account, form.Get("accept_terms") == "1", q.now)
	title := text{"Checkout", "결제"}.in(lang)
	var resp cartResponse
	switch ans {
	case confirmNoTerms:
		resp = cartMessage(lang, title, txtAcceptTerms.in(lang))
	case confirmExpired:
		resp = cartMessage(lang, title, txtHoldExpired.in(lang))
	case confirmConfirmed:
		sl := slotOf(h.key)
		heading := txtConfirmed.in(lang)
		resp = cartHTML(http.StatusOK, "order", cartPageData{Lang: lang, Title: heading, Order: &orderData{
			Heading: heading,
			Label:   txtOrder.in(lang),
			Code:    r.Number,
			When:    whenText(lang, sl.start, sl.end),
			What:    resourceName(h.Facility),
		}})
	default: // unknown, foreign or already confirmed
		resp = oops()
	}
	return ans.result(), h.ID, r.Number, resp
}
