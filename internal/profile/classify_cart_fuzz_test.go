package profile_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/tidwall/gjson"

	"reserver/internal/profile"
)

// FuzzClassifyCart feeds the cartsim submit, checkout and verify steps (a
// JSON API, cookie and JSON-path conditions, templated paths) arbitrary
// answers: classification never panics, always yields a known class a rule
// of that step may give, and a reservation number is only ever taken from a
// success answer that holds it (as written, in the text of the HTML a CSS
// selector reads, or as a JSON string's value).
func FuzzClassifyCart(f *testing.F) {
	p, err := profile.Load("../../configs/sites/cartsim.yaml")
	if err != nil {
		f.Fatal(err)
	}
	d := &profile.Data{
		Booking: profile.BookingData{Name: "홍길동", Start: "10:00", End: "11:00", Phone: "+821012345678", Court: "3",
			Date: time.Date(2026, 12, 1, 0, 0, 0, 0, p.Location), People: 2},
		Account: profile.AccountData{Username: "u", Password: "p"},
		X:       map[string]string{"login_token": "t", "hold_id": "H1", "confirm_url": "/checkout/H1/confirm"},
		Cookies: map[string]string{"XSRF-TOKEN": "x1"},
	}
	type stepReq struct {
		step *profile.Step
		req  *profile.Request
	}
	var steps []stepReq
	for _, s := range append([]*profile.Step{p.Submit, p.Verify}, p.Checkout...) {
		r, err := p.Render(s, d)
		if err != nil {
			f.Fatal(err)
		}
		steps = append(steps, stepReq{s, r})
	}
	const row = `{"start":"2026-12-01T10:00:00+09:00","resource_id":3,"status":"confirmed","code":"C-1","hold_id":"H1"}`
	f.Add(201, "", "", `{"ok":true,"hold":{"id":"H1","expires_at":"2026-12-01T10:05:00+09:00"}}`)
	f.Add(409, "", "XSRF-TOKEN=abc; Path=/", `{"ok":false,"code":"conflict"}`)
	f.Add(422, "", "", `{"ok":false,"code":"notice","message":"예약 가능 기간이 아닙니다"}`)
	f.Add(200, "", "", `{"ok":true,"checkout":{"confirm_url":"/checkout/H1/confirm"}}`)
	f.Add(200, "", "", `<h1>Booking confirmed</h1><p>Order <strong class="order-code">C-1</strong></p>`)
	f.Add(200, "", "", `<h1>예약이 확정되었습니다</h1><strong class="order-code"> &lt;C&amp;1&gt; </strong>`)
	f.Add(200, "", "", `{"reservations":[`+row+`]}`)
	f.Add(200, "", "", `{"reservations":[`+strings.Replace(strings.Replace(row, "confirmed", "held", 1), `"C-1"`, `"\u0043-\"1"`, 1)+`]}`)
	f.Add(200, "", "", `{"reservations":[`+strings.Replace(row, `"C-1"`, `"\u00e9\ud83d\ude00"`, 1)+`]}`)
	f.Add(302, "/login", "", "")
	f.Add(503, "", "", "<html>Oops</html>")
	f.Add(-1, "\x00", "\xff=\xfe", "\xff\xfe\xfd")
	f.Fuzz(func(t *testing.T, status int, location, setCookie, body string) {
		header := http.Header{"Location": {location}, "Set-Cookie": {setCookie}}
		for _, c := range steps {
			resp := c.req.Response(status, location, header, body)
			o := profile.Evaluate(c.step, resp)
			if o.Class != profile.ClassUnknown && !o.Class.Valid() {
				t.Fatalf("%s: class %q is not a known class", c.step.Name, o.Class)
			}
			if o.Rule >= 0 && c.step.Rules[o.Rule].Class != o.Class {
				t.Fatalf("%s: rule %d gives %q, Evaluate says %q", c.step.Name, o.Rule, c.step.Rules[o.Rule].Class, o.Class)
			}
			if o.Rule < 0 && o.Class != profile.ClassUnknown {
				t.Fatalf("%s: no rule matched but the class is %q", c.step.Name, o.Class)
			}
			if got := profile.Classify(c.step, resp); got != o.Class {
				t.Fatalf("%s: Classify says %q, Evaluate %q", c.step.Name, got, o.Class)
			}
			if o.Reservation != "" && (o.Class != profile.ClassSuccess || !holds(body, o.Reservation)) {
				t.Fatalf("%s: reservation %q from a %q answer that does not hold it", c.step.Name, o.Reservation, o.Class)
			}
			if o.Class == profile.ClassHeld && (c.step != p.Submit || status != 201) && (c.step != p.Verify || status != 200) {
				t.Fatalf("%s: held from a %d answer", c.step.Name, status)
			}
		}
	})
}

// holds reports whether body holds v: as written, in the text of the
// document parsed as HTML (entities decoded, the text of nested elements
// joined), or in a JSON string of it (escapes decoded). Every quote starts
// a candidate string, since a lenient JSON reader may find values in a
// body that is not quite JSON.
func holds(body, v string) bool {
	if strings.Contains(body, v) {
		return true
	}
	if doc, err := goquery.NewDocumentFromReader(strings.NewReader(body)); err == nil && strings.Contains(doc.Text(), v) {
		return true
	}
	for i := strings.IndexByte(body, '"'); i >= 0; {
		j := i + 1
		for j < len(body) && body[j] != '"' {
			if body[j] == '\\' {
				j++
			}
			j++
		}
		lit := body[i:min(j+1, len(body))]
		if j >= len(body) {
			lit = body[i:] + `"`
		}
		if strings.Contains(gjson.Parse(lit).String(), v) {
			return true
		}
		next := strings.IndexByte(body[i+1:], '"')
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return false
}
