package sitesim

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCartBookingFlow books Court 3 on Thursday 10:00 over loopback, the
// way the daemon will: login, cart, checkout, confirm, listing, and checks
// the ground truth.
func TestCartBookingFlow(t *testing.T) {
	t.Parallel()
	srv := startCartSite(t, Options{})
	c := netCart(t, srv)
	c.mustLogin("user002") // even: English

	r := c.get(CartPathResources)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, contentTypeAPI, r.header.Get("Content-Type"))
	require.True(t, strings.HasPrefix(r.body, `{"resources":[{"id":1,"name":"Court 1"},{"id":2,"name":"Court 2"},`), r.body)
	require.Len(t, decodeJSON[struct{ Resources []resourceJSON }](t, r).Resources, FacilitiesDefault)

	start := cartSlotAt(24, 5)
	require.Equal(t, "2026-12-24T10:00:00+09:00", isoTime(start))
	r = c.postJSON(CartPathItems, `{"resource_id":3,"start":"2026-12-24T10:00:00+09:00","end":"2026-12-24T11:00:00+09:00"}`)
	require.Equal(t, http.StatusCreated, r.status, r.body)
	held := decodeJSON[holdReply](t, r)
	require.True(t, held.OK)
	require.Regexp(t, `^H\d{6}$`, held.Hold.ID)
	require.Equal(t, "Added to your cart. Complete checkout within 10 minutes.", held.Message)
	expires, err := time.Parse(time.RFC3339, held.Hold.ExpiresAt)
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(held.Hold.ExpiresAt, "+09:00"), held.Hold.ExpiresAt)
	require.WithinDuration(t, srv.Now().Add(HoldForDefault), expires, 2*time.Second)

	r = c.checkout(held.Hold.ID)
	require.Equal(t, http.StatusOK, r.status, r.body)
	co := decodeJSON[checkoutReply](t, r)
	require.True(t, co.OK)
	require.Regexp(t, `^C\d{6}$`, co.Checkout.ID)
	require.Equal(t, "/checkout/"+co.Checkout.ID+"/confirm", co.Checkout.ConfirmURL)

	r = c.confirm(co.Checkout.ConfirmURL)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, "text/html; charset=utf-8", r.header.Get("Content-Type"))
	m := orderCodeRE.FindStringSubmatch(r.body)
	require.NotNil(t, m, r.body)
	code := m[1]
	require.Contains(t, r.body, `<h1>Booking confirmed</h1><p>Order <strong class="order-code">`+code+
		`</strong></p><p class="when">Thu, Dec 24, 2026, 10:00 AM – 11:00 AM</p><p class="what">Court 3</p>`)

	r = c.get(CartPathReservations)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, `{"reservations":[{"code":"`+code+`","status":"confirmed","resource_id":3,`+
		`"start":"2026-12-24T10:00:00+09:00","end":"2026-12-24T11:00:00+09:00"}]}`+"\n", r.body)

	l := srv.Ledger()
	require.Equal(t, FlavorCart, l.Flavor)
	require.True(t, l.OpenAt.IsZero())
	require.Len(t, l.Reservations, 1)
	rsv := l.Reservations[0]
	require.Equal(t, Reservation{Number: code, Account: "user002", Facility: 3, Date: "2026-12-24", Slot: 5,
		UserName: "홍길동", UserTel: "010-1234-5678", At: rsv.At}, rsv)
	require.Len(t, l.Submits, 1)
	sub := l.Submits[0]
	opens := CartOpensAt(start.Add(time.Hour), NoticeDefault)
	require.Equal(t, Submit{Account: "user002", Facility: 3, Date: "2026-12-24", Slot: 5, At: sub.At,
		OffsetMS: float64(sub.At.Sub(opens)) / float64(time.Millisecond), Result: ResultHeld, IP: "127.0.0.1",
		Hold: held.Hold.ID}, sub)
	require.Len(t, l.Holds, 1)
	h := l.Holds[0]
	require.True(t, h.CreatedAt.Equal(sub.At))
	require.True(t, h.ExpiresAt.Equal(expires))
	require.Equal(t, Hold{ID: held.Hold.ID, Account: "user002", Facility: 3, Date: "2026-12-24", Slot: 5,
		CreatedAt: h.CreatedAt, ExpiresAt: h.ExpiresAt, State: HoldConfirmed, Reservation: code}, h)
	require.Len(t, l.Confirms, 1)
	require.Equal(t, Confirm{Account: "user002", Checkout: co.Checkout.ID, Hold: held.Hold.ID, At: rsv.At,
		Result: ResultSuccess, IP: "127.0.0.1", Reservation: code}, l.Confirms[0])
	require.Zero(t, l.RepeatSubmits)

	// The ledger over HTTP says the same, flavour included.
	r = c.get(PathLedger)
	require.Equal(t, http.StatusOK, r.status)
	var wire Ledger
	require.NoError(t, json.Unmarshal([]byte(r.body), &wire))
	require.Equal(t, FlavorCart, wire.Flavor)
	require.Len(t, wire.Holds, 1)
	require.Equal(t, code, wire.Reservations[0].Number)
}

func TestCartOrderPageInKorean(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := newCartSite(t, Options{})
		c := memCart(t, s, "127.0.0.1")
		c.mustLogin("user001") // odd: Korean
		r := c.book(3, cartSlotAt(24, 5))
		require.Equal(t, http.StatusOK, r.status)
		code := orderCodeRE.FindStringSubmatch(r.body)[1]
		require.Contains(t, r.body, `<h1>예약이 확정되었습니다</h1><p>주문번호 <strong class="order-code">`+code+
			`</strong></p><p class="when">2026년 12월 24일 (목) 오전 10:00 – 오전 11:00</p><p class="what">Court 3</p>`)
		require.Contains(t, r.body, `<html lang="ko">`)
	})
}

func TestCartRootRedirectsAndEveryAnswerIsDated(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := newCartSite(t, Options{})
		c := memCart(t, s, "127.0.0.1")
		time.Sleep(1500 * time.Millisecond)
		want := httpDate(cartSimNow.Add(1500 * time.Millisecond))

		r := c.get("/")
		require.Equal(t, http.StatusFound, r.status)
		require.Equal(t, CartPathLogin, r.header.Get("Location"))
		for _, path := range []string{"/", CartPathLogin, CartPathDashboard, CartPathResources, "/api/nope", "/nope", PathLedger} {
			require.Equal(t, want, c.get(path).header.Get("Date"), path)
		}
		r = c.get("/nope")
		require.Equal(t, http.StatusNotFound, r.status)
		require.Contains(t, r.body, "<h1>Not Found</h1>")
	})
}

func TestCartReserveAndReset(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := newCartSite(t, Options{})
		number, err := s.Reserve("user004", 2, "2026-12-22", 3)
		require.NoError(t, err)
		require.Equal(t, "RS-000001", number)

		c := memCart(t, s, "127.0.0.1")
		c.mustLogin("user002")
		r := c.add(2, cartSlotAt(22, 3))
		require.Equal(t, conflictEN, r.body, "a reservation made by Reserve is taken")
		c.mustHold(2, cartSlotAt(22, 4))
		_, err = s.Reserve("user004", 2, "2026-12-22", 4)
		require.ErrorIs(t, err, ErrSlotTaken, "a slot in someone's cart is taken")
		_, err = s.Reserve("nobody", 2, "2026-12-22", 5)
		require.ErrorIs(t, err, ErrUnknownAccount)
		_, err = s.Reserve("user004", 2, "2026-12-22", 19)
		require.ErrorIs(t, err, ErrBadSlot)

		rec := postSim(t, s, PathReset)
		require.Equal(t, http.StatusOK, rec.Code)
		l := s.Ledger()
		require.Empty(t, l.Reservations)
		require.Empty(t, l.Holds)
		require.Empty(t, l.Submits)

		// The slot is free again, and ids keep counting.
		id := c.mustHold(2, cartSlotAt(22, 4))
		require.Equal(t, "H000002", id)
		number, err = s.Reserve("user004", 2, "2026-12-22", 3)
		require.NoError(t, err)
		require.Equal(t, "RS-000002", number)
	})
}

func TestEgovLedgerNamesItsFlavor(t *testing.T) {
	t.Parallel()
	s, err := New(Options{})
	require.NoError(t, err)
	l := s.Ledger()
	require.Equal(t, FlavorEgov, l.Flavor)
	require.NotNil(t, l.Holds)
	require.Empty(t, l.Holds)
	b, err := json.Marshal(l)
	require.NoError(t, err)
	require.Contains(t, string(b), `"flavor":"egov"`)
	require.Contains(t, string(b), `"holds":[]`)
	require.NotContains(t, string(b), `"confirms"`)
	require.NoError(t, s.SetLanguage("user001", "en"), "accounts have a language in both flavours")
}
