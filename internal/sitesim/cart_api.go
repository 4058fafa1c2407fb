package sitesim

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

type resourceJSON struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

// resources answers GET /api/resources.
func (s *Site) resources() cartResponse {
	rs := make([]resourceJSON, s.opts.Facilities)
	for i := range rs {
		rs[i] = resourceJSON{ID: i + 1, Name: resourceName(i + 1)}
	}
	return cartJSON(http.StatusOK, struct {
		Resources []resourceJSON `json:"resources"`
	}{rs})
}

func resourceName(id int) string { return resourcePrefix + strconv.Itoa(id) }

// itemRequest is the body of POST /api/cart/items.
type itemRequest struct {
	ResourceID int    `json:"resource_id"`
	Start      string `json:"start"`
	End        string `json:"end"`
}

// newItemSubmit starts the ledger entry of an add-to-cart call. parsed
// reports whether the body was JSON of the right shape (only those are
// recorded), ok whether it names a slot of the grid.
func (s *Site) newItemSubmit(q *cartRequest) (sub Submit, sl cartSlot, parsed, ok bool) {
	var in itemRequest
	if q.bodyErr != nil || json.Unmarshal(q.body, &in) != nil {
		return Submit{}, cartSlot{}, false, false
	}
	sub = Submit{At: q.now, IP: q.ip, Facility: in.ResourceID, Date: in.Start}
	if start, err := time.Parse(time.RFC3339, in.Start); err == nil {
		sub.Date = start.In(seoul).Format(time.DateOnly)
	}
	day, slot, onGrid := s.gridSlot(in.Start, in.End)
	if !onGrid {
		return sub, cartSlot{}, true, false
	}
	// The slot's times and the ledger's offset, even for an unknown resource.
	sub.Slot = slot
	sl = slotOf(slotKey{facility: in.ResourceID, date: day.Year()*10000 + int(day.Month())*100 + day.Day(), slot: slot})
	sub.OffsetMS = float64(q.now.Sub(CartOpensAt(sl.end, s.opts.Notice))) / float64(time.Millisecond)
	_, ok = s.slotKey(in.ResourceID, day, slot)
	return sub, sl, true, ok
}

func (s *Site) recordBlockedItem(q *cartRequest) {
	if sub, _, parsed, _ := s.newItemSubmit(q); parsed {
		sub.Result = ResultBlocked
		s.book.record(sub)
	}
}

// addItem handles POST /api/cart/items, the cart flavour's submit.
// Injected faults are decided first, as for eGov's apply.do: a 5xx or an
// unapplied reset never touches the state; an applied reset is processed
// in full, then the connection is reset.
func (s *Site) addItem(q *cartRequest) cartResponse {
	sub, sl, parsed, slotOK := s.newItemSubmit(q)
	sess := s.cartSession(q)
	if sess != nil {
		sub.Account = sess.account
		if slotOK {
			who, held := s.cart.occupant(sl.key, q.now)
			sub.Repeat = held && who == sess.account
		}
	}
	var resp cartResponse
	switch f := s.faults.decide(true); f {
	case fault500, fault503:
		sub.Result, resp = ResultError5xx, cartFault(true, f)
	case faultResetNotApplied:
		sub.Result, resp = ResultResetNotApplied, cartResponse{reset: true}
	case faultResetApplied:
		sub.Outcome, sub.Hold, _ = s.processItem(q, sess, sl, parsed && slotOK)
		sub.Result, resp = ResultResetApplied, cartResponse{reset: true}
	default:
		sub.Result, sub.Hold, resp = s.processItem(q, sess, sl, parsed && slotOK)
	}
	// A concurrent submit of the same account may have won between the
	// occupant check and the hold: that one is a repeat too.
	sub.Repeat = sub.Repeat || sub.Result == ResultAlreadyMine || sub.Outcome == ResultAlreadyMine
	if parsed {
		s.book.record(sub)
	}
	return resp
}

type holdJSON struct {
	ID        string `json:"id"`
	ExpiresAt string `json:"expires_at"`
}

// processItem checks, in order: session (401), XSRF header (403), a slot
// of the grid that has not started (else the generic page), the rolling
// notice (422), the slot (409), and holds it (201).
func (s *Site) processItem(q *cartRequest, sess *session, sl cartSlot, slotOK bool) (Result, string, cartResponse) {
	if fail, resp := s.authorize(q, sess); fail != "" {
		return fail, "", resp
	}
	if !slotOK || sl.start.Before(q.now) {
		return ResultBadRequest, "", oops()
	}
	lang := s.langs.of(sess.account)
	if !cartOpen(q.now, sl.end, s.opts.Notice) {
		return ResultNotOpen, "", cartAPIError(http.StatusUnprocessableEntity, codeNotice, noticeText(lang, s.opts.Notice))
	}
	h, res, period, limit := s.cart.hold(sl.key, sess.account, s.opts.limits(), q.now)
	if res == ResultLimit {
		return res, "", cartAPIError(http.StatusConflict, codeLimitReached, limitText(lang, period, limit))
	}
	if res != ResultHeld {
		// The holder itself gets exactly the answer anyone else gets.
		return res, "", cartAPIError(http.StatusConflict, codeConflict, txtConflict.in(lang))
	}
	return ResultHeld, h.ID, cartJSON(http.StatusCreated, struct {
		OK      bool     `json:"ok"`
		Hold    holdJSON `json:"hold"`
		Message string   `json:"message"`
	}{true, holdJSON{h.ID, isoTime(h.ExpiresAt)}, heldText(lang, s.opts.HoldFor)})
}

// checkoutRequest is the body of POST /api/checkout.
type checkoutRequest struct {
	HoldID string `json:"hold_id"`
	Name   string `json:"name"`
	Phone  string `json:"phone"`
}

type checkoutJSON struct {
	ID         string `json:"id"`
	ConfirmURL string `json:"confirm_url"`
}

// checkout answers POST /api/checkout: the fields (422), the hold (the
// generic page unless it is the account's and unconfirmed), its expiry
// (410), then the checkout to confirm.
func (s *Site) checkout(q *cartRequest, sess *session) cartResponse {
	var in checkoutRequest
	if q.bodyErr != nil || json.Unmarshal(q.body, &in) != nil {
		return oops()
	}
	lang := s.langs.of(sess.account)
	name, phone := strings.TrimSpace(in.Name), strings.TrimSpace(in.Phone)
	if name == "" || phone == "" {
		return cartAPIError(http.StatusUnprocessableEntity, codeInvalid, txtInvalid.in(lang))
	}
	id, ans := s.cart.checkout(in.HoldID, sess.account, name, phone, q.now)
	switch ans {
	case checkoutExpired:
		return cartAPIError(http.StatusGone, codeHoldExpired, txtHoldExpired.in(lang))
	case checkoutStarted:
		return cartJSON(http.StatusOK, struct {
			OK       bool         `json:"ok"`
			Checkout checkoutJSON `json:"checkout"`
		}{true, checkoutJSON{id, "/checkout/" + id + "/confirm"}})
	}
	return oops()
}

// listItem is one row of GET /api/reservations: a confirmed reservation
// (code) or an unexpired hold (hold_id, expires_at).
type listItem struct {
	Code       string `json:"code,omitempty"`
	HoldID     string `json:"hold_id,omitempty"`
	Status     string `json:"status"`
	ExpiresAt  string `json:"expires_at,omitempty"`
	ResourceID int    `json:"resource_id"`
	Start      string `json:"start"`
	End        string `json:"end"`

	start time.Time
}

// reservations answers GET /api/reservations: the account's reservations
// and holds starting in [now, now + ListDays), soonest first.
func (s *Site) reservations(q *cartRequest, sess *session) cartResponse {
	until := q.now.Add(time.Duration(s.opts.ListDays) * 24 * time.Hour)
	listed := func(sl cartSlot) bool { return !sl.start.Before(q.now) && sl.start.Before(until) }
	items := []listItem{}
	for _, r := range s.book.byAccount(sess.account) {
		d, err := time.Parse(time.DateOnly, r.Date)
		if err != nil {
			continue
		}
		k, ok := s.slotKey(r.Facility, d, r.Slot)
		if sl := slotOf(k); ok && listed(sl) {
			items = append(items, listItem{Code: r.Number, Status: string(HoldConfirmed), ResourceID: r.Facility,
				Start: isoTime(sl.start), End: isoTime(sl.end), start: sl.start})
		}
	}
	for _, h := range s.cart.heldBy(sess.account, q.now) {
		if sl := slotOf(h.key); listed(sl) {
			items = append(items, listItem{HoldID: h.ID, Status: string(HoldHeld), ExpiresAt: isoTime(h.ExpiresAt),
				ResourceID: h.Facility, Start: isoTime(sl.start), End: isoTime(sl.end), start: sl.start})
		}
	}
	slices.SortFunc(items, func(a, b listItem) int {
		return cmp.Or(a.start.Compare(b.start), cmp.Compare(a.ResourceID, b.ResourceID))
	})
	return cartJSON(http.StatusOK, struct {
		Reservations []listItem `json:"reservations"`
	}{items})
}
