package sitesim

import (
	"html/template"
	"net/http"
	"time"
)

// Pages of the cart flavour that a person uses in a browser, beside the
// API a client calls directly. They drive exactly the routes a client
// would: /book is a small single-page application whose inline script
// lists /api/resources, puts the chosen slot in the cart with
// POST /api/cart/items (the X-XSRF-TOKEN header read from the
// XSRF-TOKEN cookie), posts the contact details to /api/checkout and then
// opens the checkout's confirm_url; GET /checkout/{id}/confirm is the form
// that POSTs the confirm; /reservations lists /api/reservations. The
// dashboard and the order page link to them. Nothing here changes an
// answer of the API.
const (
	CartPathBook           = "/book"
	CartPathMyReservations = "/reservations"
)

const cartPersonLayout = `{{define "dashboardNav"}}<nav class="menu"><a class="book" href="` + CartPathBook + `">{{if eq .Lang "ko"}}코트 예약{{else}}Book a court{{end}}</a> <a class="my-reservations" href="` + CartPathMyReservations + `">{{if eq .Lang "ko"}}나의 예약{{else}}My reservations{{end}}</a></nav>
{{end}}

{{define "orderNav"}}<p class="nav"><a class="my-reservations" href="` + CartPathMyReservations + `">{{if eq .Lang "ko"}}나의 예약{{else}}My reservations{{end}}</a></p>
{{end}}

{{define "book"}}{{template "head" .}}{{with .Page}}<h1>{{.L.Heading}}</h1>
<form id="slot-form" class="slot-form">
<label>{{.L.Court}} <select id="resource" name="resource_id"></select></label>
<label>{{.L.Date}} <input type="date" id="date" name="date" value="{{.Today}}" min="{{.Today}}"></label>
<label>{{.L.Time}} <select id="slot" name="start"></select></label>
<button type="submit" id="add" disabled>{{.L.Add}}</button>
</form>
<p id="message" class="message" hidden></p>
<form id="contact-form" class="contact-form" hidden>
<label>{{.L.Name}} <input type="text" id="name" name="name" autocomplete="name"></label>
<label>{{.L.Phone}} <input type="tel" id="phone" name="phone" autocomplete="tel"></label>
<button type="submit" id="checkout">{{.L.Checkout}}</button>
</form>
<p class="nav"><a class="my-reservations" href="` + CartPathMyReservations + `">{{.L.Mine}}</a></p>
<script>
(function () {
  "use strict";
  var cfg = {{.Config}};
  var hold = "";
  function $(id) { return document.getElementById(id); }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  // The XSRF-TOKEN cookie the login set, echoed in X-XSRF-TOKEN.
  function xsrf() {
    var m = document.cookie.match(/(?:^|;\s*)XSRF-TOKEN=([^;]*)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  // iso names hour h (0..24) of the date "YYYY-MM-DD" in site time.
  function iso(date, h) {
    var p = date.split("-");
    var d = new Date(Date.UTC(+p[0], +p[1] - 1, +p[2] + Math.floor(h / 24)));
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) +
      "T" + pad(h % 24) + ":00:00" + cfg.offset;
  }
  function say(text, ok) {
    var p = $("message");
    p.textContent = text;
    p.className = ok ? "message ok" : "message error";
    p.hidden = false;
  }
  function post(path, body) {
    return fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Accept": "application/json", "Content-Type": "application/json", "X-XSRF-TOKEN": xsrf()},
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (j) { return {status: r.status, body: j}; },
        function () { return {status: r.status, body: null}; });
    });
  }
  function failed(res) { say(res && res.body && res.body.message || cfg.text.failed, false); }
  function fillSlots() {
    var date = $("date").value, sel = $("slot");
    sel.textContent = "";
    if (!date) { return; }
    cfg.slots.forEach(function (s) {
      var o = document.createElement("option");
      o.value = iso(date, s.hour);
      o.dataset.end = iso(date, s.hour + 1);
      o.textContent = s.label;
      sel.appendChild(o);
    });
  }
  $("date").addEventListener("input", fillSlots);
  $("date").addEventListener("change", fillSlots);
  fillSlots();
  fetch("/api/resources", {credentials: "same-origin", headers: {"Accept": "application/json"}})
    .then(function (r) { return r.json(); })
    .then(function (j) {
      j.resources.forEach(function (res) {
        var o = document.createElement("option");
        o.value = String(res.id);
        o.textContent = res.name;
        $("resource").appendChild(o);
      });
      $("add").disabled = false;
    })
    .catch(function () { failed(null); });
  $("slot-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var o = $("slot").selectedOptions[0];
    if (!o) { return; }
    $("add").disabled = true;
    post("/api/cart/items", {resource_id: Number($("resource").value), start: o.value, end: o.dataset.end})
      .then(function (res) {
        if (res.status === 201 && res.body && res.body.ok) {
          hold = res.body.hold.id;
          say(res.body.message, true);
          $("contact-form").hidden = false;
          return;
        }
        failed(res);
        $("add").disabled = false;
      }, function () { failed(null); $("add").disabled = false; });
  });
  $("contact-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    $("checkout").disabled = true;
    post("/api/checkout", {hold_id: hold, name: $("name").value, phone: $("phone").value})
      .then(function (res) {
        if (res.status === 200 && res.body && res.body.ok) {
          location.href = res.body.checkout.confirm_url;
          return;
        }
        failed(res);
        $("checkout").disabled = false;
      }, function () { failed(null); $("checkout").disabled = false; });
  });
})();
</script>
{{end}}{{template "foot" .}}{{end}}

{{define "confirmPage"}}{{template "head" .}}{{with .Page}}<h1>{{.L.Heading}}</h1>
<p class="when">{{.When}}</p><p class="what">{{.What}}</p>
<form class="confirm" method="post" action="{{.Action}}">
<input type="hidden" name="_csrf" value="{{.CSRF}}">
<label><input type="checkbox" name="accept_terms" value="1"> {{.L.Terms}}</label>
<button type="submit">{{.L.Confirm}}</button>
</form>
{{end}}{{template "foot" .}}{{end}}

{{define "myReservations"}}{{template "head" .}}{{with .Page}}<h1>{{.L.Heading}}</h1>
<table class="reservations">
<thead><tr><th>{{.L.Code}}</th><th>{{.L.Court}}</th><th>{{.L.When}}</th><th>{{.L.Status}}</th></tr></thead>
<tbody id="reservations"></tbody>
</table>
<p id="empty" hidden>{{.L.Empty}}</p>
<p class="nav"><a class="book" href="` + CartPathBook + `">{{.L.Book}}</a> <a href="` + CartPathDashboard + `">{{.L.Dashboard}}</a></p>
<script>
(function () {
  "use strict";
  var cfg = {{.Config}};
  var body = document.getElementById("reservations");
  function cell(tr, cls, text) {
    var td = document.createElement("td");
    td.className = cls;
    td.textContent = text;
    tr.appendChild(td);
  }
  fetch("/api/reservations", {credentials: "same-origin", headers: {"Accept": "application/json"}})
    .then(function (r) { return r.json(); })
    .then(function (j) {
      j.reservations.forEach(function (r) {
        var tr = document.createElement("tr");
        tr.className = "reservation " + r.status;
        cell(tr, "code", r.code || r.hold_id);
        cell(tr, "court", cfg.resource + r.resource_id);
        cell(tr, "when", r.start.slice(0, 10) + " " + r.start.slice(11, 16) + "–" + r.end.slice(11, 16));
        cell(tr, "status", cfg.status[r.status] || r.status);
        body.appendChild(tr);
      });
      document.getElementById("empty").hidden = j.reservations.length > 0;
      body.dataset.loaded = "1";
    })
    .catch(function () { body.dataset.loaded = "error"; });
})();
</script>
{{end}}{{template "foot" .}}{{end}}
`

func init() {
	template.Must(cartPages.Parse(cartPersonLayout))
}

// personText is the text of the person-facing pages in one language.
type personText struct {
	Heading, Court, Date, Time, Add, Name, Phone, Checkout, Mine string
	Terms, Confirm                                               string
	Code, When, Status, Empty, Book, Dashboard                   string
}

var personTexts = map[string]personText{
	LangEN: {
		Heading: "Book a court", Court: "Court", Date: "Date", Time: "Time", Add: "Add to cart",
		Name: "Name", Phone: "Phone", Checkout: "Continue to checkout", Mine: "My reservations",
		Terms: "I accept the terms of use.", Confirm: "Confirm booking",
		Code: "Order", When: "When", Status: "Status", Empty: "No reservations.", Book: "Book a court", Dashboard: "Dashboard",
	},
	LangKO: {
		Heading: "코트 예약", Court: "코트", Date: "날짜", Time: "시간", Add: "장바구니에 담기",
		Name: "이름", Phone: "연락처", Checkout: "결제 계속", Mine: "나의 예약",
		Terms: "이용약관에 동의합니다.", Confirm: "예약 확정",
		Code: "주문번호", When: "일시", Status: "상태", Empty: "예약 내역이 없습니다.", Book: "코트 예약", Dashboard: "대시보드",
	},
}

// bookSlot is one slot the booking page offers: its start hour in site
// time and its label ("10:00 AM – 11:00 AM", "오전 10:00 – 오전 11:00").
type bookSlot struct {
	Hour  int    `json:"hour"`
	Label string `json:"label"`
}

type bookConfig struct {
	Offset string            `json:"offset"` // the site's UTC offset, "+09:00"
	Slots  []bookSlot        `json:"slots"`
	Text   map[string]string `json:"text"`
}

type bookPage struct {
	L      personText
	Today  string // YYYY-MM-DD in site time
	Config bookConfig
}

// bookPage answers GET /book: the booking application, or the login for a
// client without a session.
func (s *Site) bookPage(q *cartRequest) cartResponse {
	sess := s.cartSession(q)
	if sess == nil {
		return cartRedirect(CartPathLogin)
	}
	lang := s.langs.of(sess.account)
	today := q.now.In(seoul)
	cfg := bookConfig{
		Offset: today.Format("-07:00"),
		Slots:  make([]bookSlot, s.opts.Slots),
		Text:   map[string]string{"failed": txtOops},
	}
	for i := range cfg.Slots {
		sl := slotOf(slotKey{date: 20000101, slot: i + 1}) // any day: only the clock is shown
		cfg.Slots[i] = bookSlot{Hour: sl.start.Hour(), Label: clockRange(lang, sl.start, sl.end)}
	}
	l := personTexts[lang]
	return cartHTML(http.StatusOK, "book", cartPageData{Lang: lang, Title: l.Heading, Page: bookPage{
		L: l, Today: today.Format(time.DateOnly), Config: cfg,
	}})
}

// clockRange is a slot's times on the 12-hour clock of the order page.
func clockRange(lang string, start, end time.Time) string {
	if lang == LangKO {
		return koClock(start) + " – " + koClock(end)
	}
	return start.Format("3:04 PM") + " – " + end.Format("3:04 PM")
}

type confirmPage struct {
	L                  personText
	When, What, Action string
	CSRF               string
}

// confirmPage answers GET under /checkout/: for the account's checkout
// that is not yet confirmed, the form that confirms it (with the session's
// XSRF token as _csrf); for anything else the generic page, as before.
func (s *Site) confirmPage(q *cartRequest) cartResponse {
	id, ok := confirmPath(q.URL.Path)
	sess := s.cartSession(q)
	if !ok || q.Method != http.MethodGet || sess == nil {
		return oops()
	}
	h, ok := s.cart.pending(id, sess.account)
	if !ok {
		return oops()
	}
	lang := s.langs.of(sess.account)
	sl := slotOf(h.key)
	l := personTexts[lang]
	l.Heading = text{"Confirm your booking", "예약 확인"}.in(lang)
	return cartHTML(http.StatusOK, "confirmPage", cartPageData{Lang: lang, Title: l.Heading, Page: confirmPage{
		L:      l,
		When:   whenText(lang, sl.start, sl.end),
		What:   resourceName(h.Facility),
		Action: "/checkout/" + id + "/confirm",
		CSRF:   s.xsrfToken(sess.id),
	}})
}

type listConfig struct {
	Resource string            `json:"resource"` // "Court "
	Status   map[string]string `json:"status"`
}

type myReservationsPage struct {
	L      personText
	Config listConfig
}

// myReservationsPage answers GET /reservations: a page whose script lists
// /api/reservations.
func (s *Site) myReservationsPage(q *cartRequest) cartResponse {
	sess := s.cartSession(q)
	if sess == nil {
		return cartRedirect(CartPathLogin)
	}
	lang := s.langs.of(sess.account)
	l := personTexts[lang]
	l.Heading = l.Mine
	status := map[string]string{string(HoldConfirmed): "confirmed", string(HoldHeld): "in cart"}
	if lang == LangKO {
		status = map[string]string{string(HoldConfirmed): "확정", string(HoldHeld): "장바구니"}
	}
	return cartHTML(http.StatusOK, "myReservations", cartPageData{Lang: lang, Title: l.Heading, Page: myReservationsPage{
		L: l, Config: listConfig{Resource: resourcePrefix, Status: status},
	}})
}

// pending returns the hold of account's checkout id while the checkout can
// still be confirmed: it exists, is the account's and is not confirmed (its
// hold may have expired; the confirm then says so).
func (c *cartBook) pending(id, account string) (holdRec, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	co := c.checkouts[id]
	if co == nil || co.account != account || co.confirmed {
		return holdRec{}, false
	}
	return c.holds[co.hold], true
}
