package sitesim

import (
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCartAPIRequiresSessionAndXSRF(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := newCartSite(t, Options{})
		anon := memCart(t, s, "127.0.0.1")
		anon.loginToken() // a pre-session is no session
		for _, r := range []reply{
			anon.get(CartPathResources),
			anon.get(CartPathReservations),
			anon.get("/api/nope"),
			anon.add(1, cartSlotAt(22, 1)),
			anon.checkout("H000001"),
		} {
			require.Equal(t, http.StatusUnauthorized, r.status)
			require.Equal(t, contentTypeAPI, r.header.Get("Content-Type"))
			require.Equal(t, unauthJSON, r.body)
		}
		require.Equal(t, ResultNoSession, lastSubmit(t, s).Result)

		c := memCart(t, s, "127.0.0.1")
		c.mustLogin("user002")
		for _, xsrf := range []string{"-", "0123456789abcdef0123456789abcdef"} {
			r := c.postJSONXSRF(CartPathItems, itemBody(1, cartSlotAt(22, 1)), xsrf)
			require.Equal(t, http.StatusForbidden, r.status)
			require.Equal(t, csrfJSON, r.body)
			sub := lastSubmit(t, s)
			require.Equal(t, ResultBadPath, sub.Result)
			require.Equal(t, "user002", sub.Account)
			r = c.postJSONXSRF(CartPathCheckout, map[string]string{"hold_id": "H1", "name": "a", "phone": "b"}, xsrf)
			require.Equal(t, http.StatusForbidden, r.status)
			require.Equal(t, csrfJSON, r.body)
		}
		// Another session's XSRF token is no good either.
		other := memCart(t, s, "127.0.0.1")
		other.mustLogin("user004")
		r := c.postJSONXSRF(CartPathItems, itemBody(1, cartSlotAt(22, 1)), other.cookie(CartXSRFCookie))
		require.Equal(t, csrfJSON, r.body)
		require.Empty(t, s.Ledger().Holds)

		// Unknown routes under /api and /checkout get the generic page.
		requireOops(t, c.get("/api/nope"))
		requireOops(t, c.get(CartPathItems))
		requireOops(t, c.postJSON(CartPathResources, map[string]int{}))
		requireOops(t, c.get("/checkout/C000001/confirm"))
		requireOops(t, c.get("/checkout"))
	})
}

func TestCartAddItemAnswers(t *testing.T) {
	t.Parallel()
	heldEN := "Added to your cart. Complete checkout within 10 minutes."
	heldKO := "장바구니에 담았습니다. 10분 안에 결제를 완료하세요."
	noticeEN := "Bookings open 72 hours before the end of the slot."
	noticeKO := "예약은 이용 종료 72시간 전부터 가능합니다."
	tests := []struct {
		name    string
		account string
		body    any
		status  int    // 0 = the generic page
		code    string // API error code, "" for the 201
		message string
		result  Result // "" = not recorded (the body did not parse)
		slot    int
		after   time.Duration // the clock moves on this much first
	}{
		{"held, English", "user002", itemBody(3, cartSlotAt(24, 5)), http.StatusCreated, "", heldEN, ResultHeld, 5, 0},
		{"held, Korean", "user001", itemBody(3, cartSlotAt(24, 4)), http.StatusCreated, "", heldKO, ResultHeld, 4, 0},
		{"held, opens this second", "user002", itemBody(3, cartSlotAt(24, 6)), http.StatusCreated, "", heldEN, ResultHeld, 6, 0},
		{"not open, English", "user002", itemBody(3, cartSlotAt(24, 7)), http.StatusUnprocessableEntity, codeNotice, noticeEN, ResultNotOpen, 7, 0},
		{"not open, Korean", "user001", itemBody(3, cartSlotAt(30, 1)), http.StatusUnprocessableEntity, codeNotice, noticeKO, ResultNotOpen, 1, 0},
		{"starts now", "user002", itemBody(3, cartSlotAt(21, 7)), http.StatusCreated, "", heldEN, ResultHeld, 7, 0},
		{"started a second ago", "user002", itemBody(3, cartSlotAt(21, 7)), 0, "", "", ResultBadRequest, 7, time.Second},
		{"yesterday", "user002", itemBody(3, cartSlotAt(20, 5)), 0, "", "", ResultBadRequest, 5, 0},
		{"unknown resource", "user002", itemBody(11, cartSlotAt(22, 5)), 0, "", "", ResultBadRequest, 5, 0},
		{"resource zero", "user002", itemBody(0, cartSlotAt(22, 5)), 0, "", "", ResultBadRequest, 5, 0},
		{"before the first slot", "user002", itemBody(3, cartSlotAt(22, 0)), 0, "", "", ResultBadRequest, 0, 0},
		{"after the last slot", "user002", itemBody(3, cartSlotAt(22, 13)), 0, "", "", ResultBadRequest, 0, 0},
		{"half past", "user002", itemBody(3, cartSlotAt(22, 5).Add(30*time.Minute)), 0, "", "", ResultBadRequest, 0, 0},
		{"two hours", "user002", map[string]any{"resource_id": 3, "start": isoTime(cartSlotAt(22, 5)), "end": isoTime(cartSlotAt(22, 7))}, 0, "", "", ResultBadRequest, 0, 0},
		{"no end", "user002", map[string]any{"resource_id": 3, "start": isoTime(cartSlotAt(22, 5))}, 0, "", "", ResultBadRequest, 0, 0},
		{"not RFC 3339", "user002", map[string]any{"resource_id": 3, "start": "2026-12-22 10:00", "end": "2026-12-22 11:00"}, 0, "", "", ResultBadRequest, 0, 0},
		{"resource id as a string", "user002", `{"resource_id":"3","start":"2026-12-22T10:00:00+09:00","end":"2026-12-22T11:00:00+09:00"}`, 0, "", "", "", 0, 0},
		{"malformed JSON", "user002", `{"resource_id":3,`, 0, "", "", "", 0, 0},
		{"UTC offset names the same slot", "user002", map[string]any{"resource_id": 4, "start": "2026-12-22T01:00:00Z", "end": "2026-12-22T02:00:00Z"}, http.StatusCreated, "", heldEN, ResultHeld, 5, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				s := newCartSite(t, Options{})
				c := memCart(t, s, "127.0.0.1")
				c.mustLogin(tt.account)
				time.Sleep(tt.after)
				r := c.postJSON(CartPathItems, tt.body)
				switch {
				case tt.status == 0:
					requireOops(t, r)
				case tt.code != "":
					requireAPIError(t, r, tt.status, tt.code, tt.message)
				default:
					require.Equal(t, tt.status, r.status, r.body)
					got := decodeJSON[holdReply](t, r)
					require.True(t, got.OK)
					require.Equal(t, tt.message, got.Message)
					require.Equal(t, "2026-12-21T12:10:00+09:00", got.Hold.ExpiresAt)
					require.Equal(t, got.Hold.ID, lastHold(t, s).ID)
				}
				subs := s.Ledger().Submits
				if tt.result == "" {
					require.Empty(t, subs)
					return
				}
				require.Len(t, subs, 1)
				require.Equal(t, tt.result, subs[0].Result)
				require.Equal(t, tt.slot, subs[0].Slot)
				require.Equal(t, tt.account, subs[0].Account)
			})
		})
	}
}

// TestCartNoticeOpensOnTheSecond walks up to one slot's opening instant:
// the site compares its clock truncated to the second, so the last
// nanosecond before is refused and the instant itself accepted.
func TestCartNoticeOpensOnTheSecond(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := newCartSite(t, Options{SessionIdle: 2 * time.Hour})
		c := memCart(t, s, "127.0.0.1")
		c.mustLogin("user002")
		start := cartSlotAt(24, 7) // ends 13:00 Thursday: opens Monday 13:00
		opens := CartOpensAt(start.Add(time.Hour), NoticeDefault)
		require.True(t, opens.Equal(cartSimNow.Add(time.Hour)))

		time.Sleep(time.Until(opens.Add(-s.Skew())) - time.Nanosecond)
		requireAPIError(t, c.add(2, start), http.StatusUnprocessableEntity, codeNotice,
			"Bookings open 72 hours before the end of the slot.")
		require.InDelta(t, -1e-6, lastSubmit(t, s).OffsetMS, 1e-9)
		time.Sleep(time.Nanosecond)
		require.Equal(t, http.StatusCreated, c.add(2, start).status)
		sub := lastSubmit(t, s)
		require.Equal(t, ResultHeld, sub.Result)
		require.Zero(t, sub.OffsetMS)
	})
}

func TestCartOpensAt(t *testing.T) {
	t.Parallel()
	end := time.Date(2026, 12, 24, 11, 0, 0, 0, seoul)
	tests := []struct {
		name   string
		notice time.Duration
		want   time.Time
	}{
		{"whole hours", 72 * time.Hour, time.Date(2026, 12, 21, 11, 0, 0, 0, seoul)},
		{"zero", 0, end},
		{"a fraction rounds up", 72*time.Hour + 500*time.Millisecond, time.Date(2026, 12, 21, 11, 0, 0, 0, seoul)},
		{"a fraction the other way", 72*time.Hour - 500*time.Millisecond, time.Date(2026, 12, 21, 11, 0, 1, 0, seoul)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := CartOpensAt(end, tt.notice)
			require.True(t, tt.want.Equal(got), "got %v", got)
			require.True(t, cartOpen(got, end, tt.notice), "open at the instant")
			require.False(t, cartOpen(got.Add(-time.Nanosecond), end, tt.notice), "closed just before")
		})
	}
}

func TestCartTextsFollowTheOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		got, want string
	}{
		{noticeText(LangEN, 48*time.Hour), "Bookings open 48 hours before the end of the slot."},
		{noticeText(LangKO, 48*time.Hour), "예약은 이용 종료 48시간 전부터 가능합니다."},
		{noticeText(LangEN, 90*time.Minute), "Bookings open 1h30m0s before the end of the slot."},
		{noticeText(LangKO, 90*time.Minute), "예약은 이용 종료 1h30m0s 전부터 가능합니다."},
		{heldText(LangEN, 5*time.Minute), "Added to your cart. Complete checkout within 5 minutes."},
		{heldText(LangKO, 5*time.Minute), "장바구니에 담았습니다. 5분 안에 결제를 완료하세요."},
		{heldText(LangEN, 90*time.Second), "Added to your cart. Complete checkout within 1m30s."},
		{heldText(LangKO, 90*time.Second), "장바구니에 담았습니다. 1m30s 안에 결제를 완료하세요."},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, tt.got)
	}
}

// TestCartConflictIsByteIdentical: whether the submitter or someone else
// holds the slot, the answer is the same to the byte; only the ledger
// knows it was a repeat.
func TestCartConflictIsByteIdentical(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := newCartSite(t, Options{})
		mine := memCart(t, s, "127.0.0.1")
		mine.mustLogin("user002")
		other := memCart(t, s, "127.0.0.2")
		other.mustLogin("user004")
		mine.mustHold(1, cartSlotAt(22, 1))
		other.mustHold(1, cartSlotAt(22, 2))
		_, err := s.Reserve("user002", 1, "2026-12-22", 3)
		require.NoError(t, err)
		_, err = s.Reserve("user004", 1, "2026-12-22", 4)
		require.NoError(t, err)

		var answers []map[string]any
		for slot := 1; slot <= 4; slot++ {
			r := mine.add(1, cartSlotAt(22, slot))
			require.Equal(t, http.StatusConflict, r.status)
			require.Equal(t, conflictEN, r.body)
			answers = append(answers, answer(r))
		}
		for _, a := range answers[1:] {
			require.Equal(t, answers[0], a)
		}

		subs := s.Ledger().Submits[2:]
		require.Equal(t, []Result{ResultAlreadyMine, ResultTaken, ResultAlreadyMine, ResultTaken},
			[]Result{subs[0].Result, subs[1].Result, subs[2].Result, subs[3].Result})
		require.Equal(t, []bool{true, false, true, false},
			[]bool{subs[0].Repeat, subs[1].Repeat, subs[2].Repeat, subs[3].Repeat})
		require.Equal(t, 2, s.Ledger().RepeatSubmits)

		ko := memCart(t, s, "127.0.0.3")
		ko.mustLogin("user001")
		requireAPIError(t, ko.add(1, cartSlotAt(22, 1)), http.StatusConflict, codeConflict, "기존 예약과 시간이 겹칩니다.")
	})
}

func TestCartHoldExpiryFreesTheSlot(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := newCartSite(t, Options{HoldFor: 5 * time.Minute})
		mine := memCart(t, s, "127.0.0.1")
		mine.mustLogin("user002")
		other := memCart(t, s, "127.0.0.2")
		other.mustLogin("user004")
		start := cartSlotAt(23, 2)
		time.Sleep(300 * time.Millisecond) // the expiry counts from the whole second
		id := mine.mustHold(1, start)
		require.Equal(t, "2026-12-21T12:05:00+09:00", decodeJSON[listReply](t, mine.get(CartPathReservations)).Reservations[0].ExpiresAt)

		time.Sleep(5*time.Minute - 300*time.Millisecond - time.Nanosecond)
		require.Equal(t, http.StatusConflict, other.add(1, start).status, "still held")
		require.Equal(t, HoldHeld, lastHold(t, s).State)
		time.Sleep(time.Nanosecond)
		l := s.Ledger()
		require.Equal(t, HoldExpired, l.Holds[0].State, "the ledger shows the hold expired")
		require.Empty(t, decodeJSON[listReply](t, mine.get(CartPathReservations)).Reservations)

		theirs := other.mustHold(1, start)
		require.NotEqual(t, id, theirs)
		l = s.Ledger()
		require.Equal(t, []HoldState{HoldExpired, HoldHeld}, []HoldState{l.Holds[0].State, l.Holds[1].State})
		require.False(t, l.Submits[len(l.Submits)-1].Repeat)
	})
}

type listReply struct {
	Reservations []listItem `json:"reservations"`
}

func TestCartListingWindow(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := newCartSite(t, Options{ListDays: 3, SessionIdle: 2 * time.Hour})
		c := memCart(t, s, "127.0.0.1")
		c.mustLogin("user002")
		r := c.get(CartPathReservations)
		require.Equal(t, `{"reservations":[]}`+"\n", r.body)

		// From now (Monday 12:00) to Thursday 12:00, excluded.
		for _, at := range []struct{ day, slot int }{{21, 6}, {21, 7}, {24, 6}, {24, 7}, {22, 1}} {
			_, err := s.Reserve("user002", 2, "2026-12-"+itoa(at.day), at.slot)
			require.NoError(t, err)
		}
		_, err := s.Reserve("user004", 2, "2026-12-22", 2)
		require.NoError(t, err)
		hold := c.mustHold(3, cartSlotAt(22, 1))

		got := decodeJSON[listReply](t, c.get(CartPathReservations)).Reservations
		require.Len(t, got, 4)
		require.Equal(t, listItem{Code: "RS-000002", Status: "confirmed", ResourceID: 2,
			Start: "2026-12-21T12:00:00+09:00", End: "2026-12-21T13:00:00+09:00"}, got[0])
		require.Equal(t, "RS-000005", got[1].Code)
		require.Equal(t, listItem{HoldID: hold, Status: "held", ExpiresAt: "2026-12-21T12:10:00+09:00", ResourceID: 3,
			Start: "2026-12-22T06:00:00+09:00", End: "2026-12-22T07:00:00+09:00"}, got[2])
		require.Equal(t, "RS-000003", got[3].Code, "Thursday 11:00 starts before the window's end")
		r = c.get(CartPathReservations)
		require.Contains(t, r.body, `{"hold_id":"`+hold+`","status":"held","expires_at":"2026-12-21T12:10:00+09:00","resource_id":3,`)

		// The window moves with the clock.
		time.Sleep(time.Hour)
		got = decodeJSON[listReply](t, c.get(CartPathReservations)).Reservations
		require.Equal(t, []string{"RS-000005", "RS-000003", "RS-000004"},
			[]string{got[0].Code, got[1].Code, got[2].Code}, "the expired hold is gone too")
	})
}

func itoa(i int) string { return time.Date(2000, 1, i, 0, 0, 0, 0, time.UTC).Format("02") }
