package draft

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/har"
	"reserver/internal/profile"
	"reserver/internal/session"
	"reserver/internal/sitesim"
)

var seoul = time.FixedZone("KST", 9*3600)

// rehearse books b with p (its base URL moved to the site) like
// `reserver check --submit`, and returns the output.
func rehearse(t *testing.T, p *profile.Profile, site *sitesim.Server, user string, b profile.BookingData) (bool, string) {
	t.Helper()
	p, err := p.WithBaseURL(site.URL())
	require.NoError(t, err)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	var out strings.Builder
	ok, err := session.Rehearse(context.Background(), p, profile.AccountData{Username: user, Password: "pass1234"},
		&profile.Data{Booking: b}, session.RehearseOptions{Transport: tr, Submit: true, Probes: 1, ProbeSpacing: time.Millisecond}, &out)
	require.NoError(t, err)
	return ok, out.String()
}

func booking(p *profile.Profile, day time.Time, court, start, end string) profile.BookingData {
	return profile.BookingData{Court: court, Date: time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, p.Location),
		Start: start, End: end, Name: "홍길동", Phone: "+821012345678", People: 2, Fields: map[string]string{"people": "2"}}
}

// A draft from a recording of one booking on the eGov site books another
// court, on another day, at another time, on a fresh simulator.
func TestDraftFromEgovRecordingBooks(t *testing.T) {
	t.Parallel()
	for _, charset := range []string{"utf-8", "euc-kr"} {
		t.Run(charset, func(t *testing.T) {
			t.Parallel()
			testDraftEgov(t, charset)
		})
	}
}

func testDraftEgov(t *testing.T, charset string) {
	rec, err := sitesim.Start(sitesim.Options{Charset: charset})
	require.NoError(t, err)
	defer rec.Close()
	res, err := Draft(recordEgov(t, rec), Options{Name: "egovdraft", Sample: Sample{Court: "3", Date: "2026-12-09",
		Start: "09:00", End: "10:00", Name: "홍길동", Phone: "010-1234-5678", Username: "user001", Password: "pass1234",
		Fields: map[string]string{"people": "2"}}})
	require.NoError(t, err)
	require.NotContains(t, string(res.YAML), "pass1234", "the password never appears in the draft")
	require.Equal(t, charset, res.Profile.Charset)

	fresh, err := sitesim.Start(sitesim.Options{Charset: charset})
	require.NoError(t, err)
	defer fresh.Close()
	ok, out := rehearse(t, res.Profile, fresh, "user007", booking(res.Profile, time.Date(2026, 12, 10, 0, 0, 0, 0, seoul), "5", "11:00", "12:00"))
	require.True(t, ok, "%s\n%s", out, res.YAML)
	require.Contains(t, out, "(this slot is booked by this account)")
	led := fresh.Ledger()
	require.Len(t, led.Reservations, 1)
	require.Equal(t, 5, led.Reservations[0].Facility)
	require.Equal(t, "2026-12-10", led.Reservations[0].Date)
	require.Equal(t, "홍길동", led.Reservations[0].UserName, "the name in the site's charset")
	require.Equal(t, 6, led.Reservations[0].Slot, "11:00 is slot 6: chosen by the option's label")
}

// A draft from a recording of one booking on the cart site (prelogin,
// CSRF cookie, JSON API, hold, two checkout steps) books another slot.
func TestDraftFromCartRecordingBooks(t *testing.T) {
	t.Parallel()
	rec, err := sitesim.Start(sitesim.Options{Flavor: sitesim.FlavorCart})
	require.NoError(t, err)
	defer rec.Close()
	today := time.Now().In(seoul)
	day := today.AddDate(0, 0, 2)
	res, err := Draft(recordCart(t, rec, day.Format(time.DateOnly)), Options{Name: "cartdraft", Sample: Sample{Court: "3",
		Date: day.Format(time.DateOnly), Start: "10:00", End: "11:00", Name: "Kim", Phone: "010-1234-5678", Username: "user002", Password: "pass1234"}})
	require.NoError(t, err)
	require.NotContains(t, string(res.YAML), "pass1234")
	require.Equal(t, "Asia/Seoul", res.Profile.Location.String())
	require.Len(t, res.Profile.Checkout, 2)

	fresh, err := sitesim.Start(sitesim.Options{Flavor: sitesim.FlavorCart})
	require.NoError(t, err)
	defer fresh.Close()
	b := booking(res.Profile, today.AddDate(0, 0, 1), "4", "14:00", "15:00")
	b.Name = "Lee"
	ok, out := rehearse(t, res.Profile, fresh, "user004", b)
	require.True(t, ok, "%s\n%s", out, res.YAML)
	led := fresh.Ledger()
	require.Len(t, led.Reservations, 1)
	require.Equal(t, 4, led.Reservations[0].Facility)
	require.Equal(t, 9, led.Reservations[0].Slot)
}

// noise is what a page load records besides the flow: assets on the site
// and on a CDN, an analytics beacon, a favicon 404, a preflight.
func noise(site string) []har.Entry {
	e := func(method, u string, status int, mime string, rt string) har.Entry {
		return har.Entry{ResourceType: rt, Request: har.Request{Method: method, URL: u},
			Response: har.Response{Status: status, Content: har.Content{MimeType: mime, Text: "x"}}}
	}
	return []har.Entry{
		e("GET", site+"/css/site.css", 200, "text/css", "stylesheet"),
		e("GET", site+"/js/app.js?v=20261209", 200, "application/javascript", "script"),
		e("GET", site+"/img/logo.png", 200, "image/png", "image"),
		e("GET", site+"/favicon.ico", 404, "text/html", "other"),
		e("GET", "https://cdn.example.net/lib/jquery-3.7.1.min.js", 200, "application/javascript", "script"),
		e("POST", "https://www.google-analytics.com/g/collect?v=2&tid=G-XXXX&cid=123.456", 204, "text/plain", "ping"),
		e("OPTIONS", site+"/api/anything", 204, "", "preflight"),
	}
}

// Noise around the flow changes nothing in the draft; the report counts it.
func TestDraftIgnoresNoise(t *testing.T) {
	t.Parallel()
	rec, err := sitesim.Start(sitesim.Options{})
	require.NoError(t, err)
	defer rec.Close()
	sample := Sample{Court: "3", Date: "2026-12-09", Start: "09:00", End: "10:00", Name: "홍길동", Phone: "010-1234-5678",
		Username: "user001", Password: "pass1234", Fields: map[string]string{"people": "2"}}
	h := recordEgov(t, rec)
	clean, err := Draft(h, Options{Name: "egovdraft", Sample: sample})
	require.NoError(t, err)

	var noisy []har.Entry
	for i, e := range h.Log.Entries {
		noisy = append(noisy, e)
		if i%2 == 0 {
			noisy = append(noisy, noise(rec.URL())...)
		}
	}
	h.Log.Entries = noisy
	got, err := Draft(h, Options{Name: "egovdraft", Sample: sample})
	require.NoError(t, err)
	require.Equal(t, string(clean.YAML), string(got.YAML))
	report := strings.Join(got.Report, "\n")
	require.Contains(t, report, "request(s): another host (cdn.example.net)")
	require.Contains(t, report, "request(s): another host (www.google-analytics.com)")
	require.Contains(t, report, "request(s): static assets, beacons and preflights")
}
