// Package hartest makes HAR recordings of bookings against the simulated
// site (internal/sitesim) in the shapes browsers export, without a
// browser: a plain Go client sends what Chromium or Firefox would (the
// hidden tokens the pages carry, the cookies, Referer, Origin, Sec-Fetch-*,
// the browser's User-Agent and Accept headers, redirects followed as a
// browser follows them) through a har.Recorder of that browser's style,
// and a page load's noise around the flow if asked: assets on the site
// and on CDNs, analytics, a favicon 404, a redirect chain and a CORS
// preflight, all answered in process.
//
// It is test support for the packages that read recordings
// (internal/draft), in ordinary Go so that their tests can use it. It owns
// the recording of a booking; it does not own the HAR format (internal/har)
// or the site (internal/sitesim), and it never reaches the network: any
// host but the site's and the noise's is refused.
package hartest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"reserver/internal/har"
	"reserver/internal/sitesim"
)

// Base URLs of InProcessTarget when none is given: a legacy municipal
// site on plain HTTP, and a modern application on HTTPS.
const (
	EgovURLDefault = "http://yeyak.example.go.kr"
	CartURLDefault = "https://courts.example.com"
)

// Target is where a booking is recorded: a simulated site and the way to
// reach it.
type Target struct {
	Site *sitesim.Site
	// URL is the site's base URL: the server's, or any for an in-process
	// site.
	URL string
	// Transport reaches URL; nil means a new http.Transport, closed when
	// the recording ends.
	Transport http.RoundTripper
}

// ServerTarget records against a simulator served on loopback.
func ServerTarget(srv *sitesim.Server) Target {
	return Target{Site: srv.Site, URL: srv.URL()}
}

// InProcessTarget records against a site served in process at baseURL
// (EgovURLDefault or CartURLDefault when empty); no socket is opened.
func InProcessTarget(site *sitesim.Site, baseURL string) Target {
	if baseURL == "" {
		baseURL = EgovURLDefault
		if site.Options().Flavor == sitesim.FlavorCart {
			baseURL = CartURLDefault
		}
	}
	return Target{Site: site, URL: baseURL, Transport: &sitesim.InProcess{Handler: site.Handler()}}
}

// Booking is what the person books. Zero fields take defaults.
type Booking struct {
	Account  string // default the site's first account, user001
	Password string // default the site's password
	Facility int    // default 3
	Date     string // YYYY-MM-DD on the site's clock; default tomorrow
	Slot     int    // default 5 (10:00-11:00)
	Name     string // default 홍길동
	Phone    string // default 010-1234-5678
	People   int    // eGov only; default 2
}

// Defaults of a Booking.
const (
	FacilityDefault = 3
	SlotDefault     = 5
	NameDefault     = "홍길동"
	PhoneDefault    = "010-1234-5678"
	PeopleDefault   = 2
	// WrongPassword is what Options.WrongPasswordFirst types first.
	WrongPassword = "pass1235"
)

// kst is the site's zone (no daylight saving) and the Korean user's.
var kst = time.FixedZone("KST", 9*60*60)

func (b Booking) withDefaults(site *sitesim.Site) Booking {
	b.Account = cmp.Or(b.Account, site.AccountName(1))
	b.Password = cmp.Or(b.Password, site.Password())
	b.Facility = cmp.Or(b.Facility, FacilityDefault)
	b.Date = cmp.Or(b.Date, site.Now().In(kst).AddDate(0, 0, 1).Format(time.DateOnly))
	b.Slot = cmp.Or(b.Slot, SlotDefault)
	b.Name = cmp.Or(b.Name, NameDefault)
	b.Phone = cmp.Or(b.Phone, PhoneDefault)
	b.People = cmp.Or(b.People, PeopleDefault)
	return b
}

// Options shape a recording.
type Options struct {
	// Style is the browser imitated; default har.StyleChromium.
	Style har.Style
	// Noise is what the pages load besides the flow.
	Noise Noise
	// WrongPasswordFirst logs in with WrongPassword first, as a person
	// who mistyped it, and then with the right one.
	WrongPasswordFirst bool
	Booking            Booking
	// Now is the recorder's clock; default time.Now.
	Now func() time.Time
	// Location is the zone of Firefox's timestamps; default +09:00.
	Location *time.Location
}

// Recording is a recorded booking.
type Recording struct {
	HAR *har.HAR
	// Booking is what was booked, defaults filled in.
	Booking Booking
	// Reservation is the site's reservation number (eGov) or order code
	// (cart).
	Reservation string
}

// ErrFlow is wrapped when the site did not answer a step as a booking
// needs: the recording so far is in the Recording returned with it.
var ErrFlow = errors.New("hartest: the booking did not go through")

// Record books o.Booking on the target as a person in a browser would,
// the flow of the site's flavour (eGov: login.do, loginProc.do, main.do,
// rent/form.do, rent/apply.do, mypage/rentList.do; cart: /login, /login,
// /dashboard, /api/resources, /api/cart/items, /api/checkout,
// /checkout/{id}/confirm, /api/reservations), and returns the recording.
func Record(ctx context.Context, tg Target, o Options) (*Recording, error) {
	if tg.Site == nil {
		return nil, errors.New("hartest: a target needs a site")
	}
	base, err := url.Parse(tg.URL)
	if err != nil || base.Host == "" {
		return nil, fmt.Errorf("hartest: target URL %q: not an absolute URL", tg.URL)
	}
	site := tg.Transport
	if site == nil {
		tr := &http.Transport{Proxy: nil, DisableCompression: true}
		defer tr.CloseIdleConnections()
		site = tr
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	rec, err := har.NewRecorder(har.RecorderConfig{
		Style:     cmp.Or(o.Style, har.StyleChromium),
		Transport: newRouter(base, site, now),
		Now:       now,
		Location:  cmp.Or(o.Location, kst),
	})
	if err != nil {
		return nil, err
	}
	b := newBrowser(rec.Style(), rec, base, o.Noise)
	bk := o.Booking.withDefaults(tg.Site)
	r := &Recording{Booking: bk}
	switch tg.Site.Options().Flavor {
	case sitesim.FlavorCart:
		r.Reservation, err = b.bookCart(ctx, bk, o.WrongPasswordFirst)
	default:
		r.Reservation, err = b.bookEgov(ctx, bk, o.WrongPasswordFirst)
	}
	r.HAR = rec.HAR()
	return r, err
}

// flowError is a step the site answered otherwise than a booking needs.
func flowError(step string, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrFlow, step, fmt.Sprintf(format, args...))
}
