package profile_test

import (
	"os"
	"testing"
	"time"

	"reserver/internal/profile"
)

func FuzzParse(f *testing.F) {
	for _, file := range []string{"../../configs/sites/courtsim.yaml", "testdata/broken.yaml"} {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(minimal))
	f.Add([]byte("name: &a x\nbase_url: *a\nsteps: {login: *a}\n"))
	f.Add([]byte("{{{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := profile.Parse("fuzz.yaml", data)
		if err != nil {
			if p != nil {
				t.Fatal("profile and error both returned")
			}
			return
		}
		if p.Submit == nil || p.Probe == nil { // login and pages are optional (a guest site)
			t.Fatal("valid profile without a required step")
		}
	})
}

// FuzzRender renders the courtsim submit and an arbitrary template with
// arbitrary booking values: it may fail, never panic.
func FuzzRender(f *testing.F) {
	p, err := profile.Load("../../configs/sites/courtsim-euckr.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add("홍길동", "09:00", "+821012345678", "3", "tok", `{{ sub (hour .Booking.Start) 5 }}`)
	f.Add("", "", "", "", "", `{{ json .Booking }}`)
	f.Add("\xff\xfe", "99:99", "+", "-1", "\x00", `{{ datefmt "yyyy'x" .Now }}`)
	f.Fuzz(func(t *testing.T, name, start, phone, court, token, tmpl string) {
		d := &profile.Data{
			Booking: profile.BookingData{Name: name, Start: start, Phone: phone, Court: court,
				Date: time.Date(2026, 12, 1, 0, 0, 0, 0, p.Location), People: 2},
			Account: profile.AccountData{Username: "u", Password: "p"},
			X:       map[string]string{"rentToken": token},
		}
		_, _ = p.Render(p.Submit, d)
		_, _ = p.Render(p.Pages[0], d)
		_, _ = p.Render(p.Verify, d)
		src := "name: f\nbase_url: http://127.0.0.1\nsteps:\n  login: {path: /}\n  trace: {path: /}\n  submit:\n    method: POST\n    path: /\n    body: " +
			quote(tmpl) + "\n    content_type: text/plain\n    classify: [{class: success}]\n"
		q, err := profile.Parse("f.yaml", []byte(src))
		if err == nil {
			_, _ = q.Render(q.Submit, d)
		}
	})
}

func quote(s string) string {
	out := []byte{'"'}
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			out = append(out, '\\', byte(r))
		case r < 0x20 || r == 0x7f || r == 0xfffd:
			out = append(out, []byte("\\x20")...)
		default:
			out = append(out, string(r)...)
		}
	}
	return string(append(out, '"'))
}
