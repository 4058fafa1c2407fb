package sitesim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// cfgRE finds the JSON a person page hands its inline script.
var cfgRE = regexp.MustCompile(`var cfg = (\{.*\});`)

func pageConfig[T any](t *testing.T, r reply) T {
	t.Helper()
	m := cfgRE.FindStringSubmatch(r.body)
	require.NotNil(t, m, "no cfg in the page: %s", r.body)
	var v T
	require.NoError(t, json.Unmarshal([]byte(m[1]), &v), m[1])
	return v
}

// TestCartPersonFlow walks the pages a person clicks through, doing what
// their scripts do with the values the pages hand them: dashboard → /book
// (resources, add to cart, checkout) → the confirm form → the order page →
// /reservations.
func TestCartPersonFlow(t *testing.T) {
	t.Parallel()
	s := newCartSite(t, Options{})
	c := memCart(t, s, "127.0.0.1")
	c.mustLogin("user002") // English

	dash := htmlDoc(t, c.get(CartPathDashboard))
	require.Equal(t, "Book a court", dash.Find(`nav.menu a[href="/book"]`).Text())
	require.Equal(t, "My reservations", dash.Find(`nav.menu a[href="/reservations"]`).Text())

	r := c.get(CartPathBook)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, "text/html; charset=utf-8", r.header.Get("Content-Type"))
	book := htmlDoc(t, r)
	for _, sel := range []string{"form#slot-form select#resource", `form#slot-form input#date[type="date"]`,
		"form#slot-form select#slot", "form#slot-form button#add[disabled]",
		"form#contact-form[hidden] input#name", "form#contact-form input#phone", "form#contact-form button#checkout"} {
		require.Equal(t, 1, book.Find(sel).Length(), sel)
	}
	today := book.Find("input#date").AttrOr("value", "")
	require.Equal(t, "2026-12-21", today)
	script := book.Find("script").Text()
	for _, want := range []string{`fetch("/api/resources"`, `post("/api/cart/items"`, `post("/api/checkout"`,
		`"X-XSRF-TOKEN": xsrf()`, `XSRF-TOKEN=`, `"Content-Type": "application/json"`,
		`location.href = res.body.checkout.confirm_url`} {
		require.Contains(t, script, want)
	}
	cfg := pageConfig[bookConfig](t, r)
	require.Equal(t, "+09:00", cfg.Offset)
	require.Len(t, cfg.Slots, SlotsDefault)
	require.Equal(t, bookSlot{Hour: 10, Label: "10:00 AM – 11:00 AM"}, cfg.Slots[4])
	require.Equal(t, bookSlot{Hour: 17, Label: "5:00 PM – 6:00 PM"}, cfg.Slots[11])

	// What the script does: the resources, then a slot named as the page
	// names it, with the token from the cookie.
	require.Contains(t, c.get(CartPathResources).body, `{"id":3,"name":"Court 3"}`)
	day := "2026-12-24"
	start := day + "T" + strconv.Itoa(cfg.Slots[4].Hour) + ":00:00" + cfg.Offset
	end := day + "T" + strconv.Itoa(cfg.Slots[4].Hour+1) + ":00:00" + cfg.Offset
	r = c.postJSON(CartPathItems, map[string]any{"resource_id": 3, "start": start, "end": end})
	require.Equal(t, http.StatusCreated, r.status, r.body)
	confirmURL := c.mustCheckout(decodeJSON[holdReply](t, r).Hold.ID)

	// The confirm page carries the form the API's confirm wants.
	r = c.get(confirmURL)
	require.Equal(t, http.StatusOK, r.status)
	doc := htmlDoc(t, r)
	require.Equal(t, "Confirm your booking", doc.Find("h1").Text())
	require.Equal(t, "Thu, Dec 24, 2026, 10:00 AM – 11:00 AM", doc.Find("p.when").Text())
	require.Equal(t, "Court 3", doc.Find("p.what").Text())
	form := doc.Find("form.confirm")
	require.Equal(t, "post", form.AttrOr("method", ""))
	require.Equal(t, confirmURL, form.AttrOr("action", ""))
	require.Equal(t, c.cookie(CartXSRFCookie), form.Find(`input[type="hidden"][name="_csrf"]`).AttrOr("value", ""))
	require.Equal(t, "1", form.Find(`input[type="checkbox"][name="accept_terms"]`).AttrOr("value", ""))
	require.Equal(t, 1, form.Find(`button[type="submit"]`).Length())
	require.Empty(t, s.Ledger().Reservations, "showing the form books nothing")

	// Ticking the box and submitting posts both fields.
	r = c.postForm(form.AttrOr("action", ""), formFields(form))
	require.Equal(t, http.StatusOK, r.status)
	code := orderCodeRE.FindStringSubmatch(r.body)
	require.NotNil(t, code, r.body)
	require.Equal(t, "/reservations", htmlDoc(t, r).Find(`p.nav a.my-reservations`).AttrOr("href", ""))

	r = c.get(CartPathMyReservations)
	require.Equal(t, http.StatusOK, r.status)
	list := htmlDoc(t, r)
	require.Equal(t, "My reservations", list.Find("h1").Text())
	require.Equal(t, 1, list.Find("table.reservations tbody#reservations").Length())
	require.Contains(t, list.Find("script").Text(), `fetch("/api/reservations"`)

	l := s.Ledger()
	require.Len(t, l.Reservations, 1)
	require.Equal(t, code[1], l.Reservations[0].Number)
	require.Len(t, l.Submits, 1, "page visits are not submits")
	require.Len(t, l.Confirms, 1)

	// A confirmed checkout has no form any more.
	requireOops(t, c.get(confirmURL))
}

// TestCartPersonPagesRefuse: the new pages send a client without a
// session to the login, and the confirm form exists only for the
// account's own unconfirmed checkout; everything else under /checkout
// stays the generic page, and other methods stay unknown.
func TestCartPersonPagesRefuse(t *testing.T) {
	t.Parallel()
	s := newCartSite(t, Options{})
	anon := memCart(t, s, "127.0.0.1")
	for _, p := range []string{CartPathBook, CartPathMyReservations} {
		r := anon.get(p)
		require.Equal(t, http.StatusFound, r.status, p)
		require.Equal(t, CartPathLogin, r.header.Get("Location"), p)
	}

	ko := memCart(t, s, "127.0.0.1")
	ko.mustLogin("user001") // Korean
	confirmURL := ko.mustCheckout(ko.mustHold(3, cartSlotAt(24, 5)))
	doc := htmlDoc(t, ko.get(confirmURL))
	require.Equal(t, "예약 확인", doc.Find("h1").Text())
	require.Equal(t, "2026년 12월 24일 (목) 오전 10:00 – 오전 11:00", doc.Find("p.when").Text())
	cfg := pageConfig[bookConfig](t, ko.get(CartPathBook))
	require.Equal(t, "오전 10:00 – 오전 11:00", cfg.Slots[4].Label)
	require.Equal(t, "나의 예약", htmlDoc(t, ko.get(CartPathDashboard)).Find(`nav.menu a.my-reservations`).Text())

	other := memCart(t, s, "127.0.0.1")
	other.mustLogin("user004")
	requireOops(t, other.get(confirmURL))
	requireOops(t, anon.get(confirmURL))
	requireOops(t, ko.get("/checkout/C999999/confirm"))
	requireOops(t, ko.get(confirmURL+"/again"))

	r := ko.postForm(CartPathBook, url.Values{})
	require.Equal(t, http.StatusNotFound, r.status)
	r = ko.postForm(CartPathMyReservations, url.Values{})
	require.Equal(t, http.StatusNotFound, r.status)
	require.Empty(t, s.Ledger().Reservations)
}
