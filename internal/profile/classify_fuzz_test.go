package profile_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"reserver/internal/profile"
)

// FuzzClassify feeds the courtsim submit and verify steps arbitrary answers
// (status, redirect, body, as a site answering garbage would): classification
// never panics, always yields a known class, and a reservation number is
// only ever taken from the body of a success.
func FuzzClassify(f *testing.F) {
	p, err := profile.Load("../../configs/sites/courtsim.yaml")
	if err != nil {
		f.Fatal(err)
	}
	d := &profile.Data{
		Booking: profile.BookingData{Name: "홍길동", Start: "09:00", Phone: "+821012345678", Court: "3",
			Date: time.Date(2026, 12, 1, 0, 0, 0, 0, p.Location), People: 2},
		Account: profile.AccountData{Username: "u", Password: "p"},
		X:       map[string]string{"rentToken": "tok"},
	}
	submit, err := p.Render(p.Submit, d)
	if err != nil {
		f.Fatal(err)
	}
	verify, err := p.Render(p.Verify, d)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(200, "", "<p>예약이 완료되었습니다. 예약번호: R20261201-000001</p>")
	f.Add(200, "", "예약 신청 기간이 아닙니다")
	f.Add(302, "/login.do", "")
	f.Add(503, "", "<html>Service Unavailable</html>")
	f.Add(200, "", `<td class="rsv-no">R1</td><td class="facility" data-facility="3">A</td><td class="date">2026-12-01</td><td class="slot" data-slot="4"`)
	f.Add(200, "", strings.Repeat("예약이 완료되었습니다 예약번호: ", 1000))
	f.Add(-1, "\x00", "\xff\xfe\xfd")
	f.Fuzz(func(t *testing.T, status int, location, body string) {
		for _, c := range []struct {
			step *profile.Step
			req  *profile.Request
		}{{p.Submit, submit}, {p.Verify, verify}} {
			resp := c.req.Response(status, location, http.Header{"Location": {location}}, body)
			o := profile.Evaluate(c.step, resp)
			if o.Class != profile.ClassUnknown && !o.Class.Valid() {
				t.Fatalf("class %q is not a known class", o.Class)
			}
			if got := profile.Classify(c.step, resp); got != o.Class {
				t.Fatalf("Classify says %q, Evaluate %q", got, o.Class)
			}
			if o.Reservation != "" && (o.Class != profile.ClassSuccess || !strings.Contains(body, o.Reservation)) {
				t.Fatalf("reservation %q from a %q answer that does not hold it", o.Reservation, o.Class)
			}
			if o.Class == profile.ClassSuccess && c.step == p.Submit && !strings.Contains(body, "예약이 완료되었습니다") {
				t.Fatalf("submit success without the confirmation text (status %d)", status)
			}
		}
	})
}
