package simbrowser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"reserver/internal/har"
	"reserver/internal/sitesim"
)

// Booking is one booking a person makes by hand.
type Booking struct {
	Account  string // login name, e.g. user001
	Password string
	Court    int    // facility / resource number
	Date     string // YYYY-MM-DD, site time
	Start    string // HH:MM, site time
	End      string // HH:MM
	Name     string // the booker's name, as typed into the form
	Phone    string // as typed, e.g. 010-1234-5678
}

// ErrRefused is wrapped when the site answered a step with a refusal (a
// wrong password, a slot taken, a slot not open yet); the error's text
// carries the site's message.
var ErrRefused = errors.New("simbrowser: the site refused")

func (b Booking) validate() (time.Time, error) {
	day, err := time.Parse(time.DateOnly, b.Date)
	if err != nil {
		return time.Time{}, fmt.Errorf("simbrowser: booking date %q: want YYYY-MM-DD", b.Date)
	}
	for _, hm := range []string{b.Start, b.End} {
		if _, err := time.Parse("15:04", hm); err != nil || len(hm) != 5 {
			return time.Time{}, fmt.Errorf("simbrowser: booking time %q: want HH:MM", hm)
		}
	}
	if b.Account == "" || b.Court < 1 || b.Name == "" || b.Phone == "" {
		return time.Time{}, errors.New("simbrowser: a booking needs an account, a court, a name and a phone")
	}
	return day, nil
}

// BookEgov books b on the eGov flavour at base (http://host:port) the way
// a person does in the browser of ctx, a chromedp context: open the login
// page, type the account and password, pick the facility, the date and the
// time slot in the main page's "시설 예약" form, type the name and phone on
// the booking page, submit, close the answer's alert, and follow the link
// to "나의 예약 현황". It runs in a new tab of its own browser context
// (no cookies from another flow) and returns that tab's network as a HAR.
// On an error the HAR holds what was recorded until then.
func BookEgov(ctx context.Context, base string, b Booking) (*har.HAR, error) {
	day, err := b.validate()
	if err != nil {
		return nil, err
	}
	return inTab(ctx, func(tab context.Context, rec *Recorder) error {
		return egov(tab, rec, strings.TrimRight(base, "/"), b, day)
	})
}

// BookCart books b on the cart flavour at base like BookEgov: the login
// form, the dashboard's link to the booking page, the court, the date and
// the slot, "Add to cart", the name and phone, the confirm page's terms box
// and button, and the order page's link to "My reservations".
func BookCart(ctx context.Context, base string, b Booking) (*har.HAR, error) {
	if _, err := b.validate(); err != nil {
		return nil, err
	}
	return inTab(ctx, func(tab context.Context, rec *Recorder) error {
		return cart(tab, rec, strings.TrimRight(base, "/"), b)
	})
}

// inTab runs flow in a new tab of a new browser context, recording it.
func inTab(ctx context.Context, flow func(context.Context, *Recorder) error) (*har.HAR, error) {
	if err := chromedp.Do(ctx); err != nil { // the browser, if it is not running yet
		return nil, fmt.Errorf("simbrowser: start the browser: %w", err)
	}
	tab, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	defer cancel()
	rec, err := NewRecorder(tab)
	if err != nil {
		return nil, err
	}
	defer rec.Stop()
	stop := acceptDialogs(tab)
	defer stop()
	if err := flow(tab, rec); err != nil {
		return rec.Build(), err
	}
	return rec.HAR(tab)
}

// acceptDialogs presses OK on every alert of the tab, as a person reading
// the eGov site's answers does. The returned func stops it.
func acceptDialogs(tab context.Context) func() {
	ctx, cancel := context.WithCancel(tab)
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, err := range dialogs {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

func egov(tab context.Context, rec *Recorder, base string, b Booking, day time.Time) error {
	if err := chromedp.Do(tab,
		chromedp.Navigate(base+sitesim.PathLogin),
		chromedp.WaitVisible(chromedp.CSS(`form[name="loginForm"]`)),
		chromedp.SendKeys(chromedp.CSS(`#userId`), b.Account),
		chromedp.SendKeys(chromedp.CSS(`#userPw`), b.Password),
		leave(rec, chromedp.Click(chromedp.CSS(`form[name="loginForm"] input[type="submit"]`))),
		chromedp.WaitVisible(chromedp.CSS(`form[name="rentSearchForm"], div.msg`)),
	); err != nil {
		return fmt.Errorf("simbrowser: egov login: %w", err)
	}
	if err := refused(tab, "login", `div.msg .msg-text`); err != nil {
		return err
	}

	search := `form[name="rentSearchForm"] `
	if err := chromedp.Do(tab,
		choose(search+`select[name="facilityNo"]`, byValue, strconv.Itoa(b.Court)),
		fill(search+`input[name="useDate"]`, day.Format("20060102")),
		choose(search+`select[name="timeNo"]`, byLabel, b.Start+"-"+b.End),
		leave(rec, chromedp.Click(chromedp.CSS(search+`input[type="submit"]`))),
		chromedp.WaitVisible(chromedp.CSS(`form[name="rentForm"], div.msg`)),
	); err != nil {
		return fmt.Errorf("simbrowser: egov booking page: %w", err)
	}
	if err := refused(tab, "booking page", `div.msg .msg-text`); err != nil {
		return err
	}

	rent := `form[name="rentForm"] `
	if err := chromedp.Do(tab,
		chromedp.SendKeys(chromedp.CSS(rent+`input[name="userName"]`), b.Name),
		chromedp.SendKeys(chromedp.CSS(rent+`input[name="userTel"]`), b.Phone),
		leave(rec, chromedp.Click(chromedp.CSS(rent+`input[type="submit"]`))),
		chromedp.WaitVisible(chromedp.CSS(`div.msg`)),
	); err != nil {
		return fmt.Errorf("simbrowser: egov submit: %w", err)
	}
	number, err := chromedp.Run(tab, chromedp.Evaluate[string](textOf(`div.msg .rsv-no`)))
	if err != nil {
		return fmt.Errorf("simbrowser: egov answer: %w", err)
	}
	if number == "" {
		return refusal(tab, "submit", `div.msg .msg-text`)
	}
	number = strings.TrimSpace(strings.TrimPrefix(number, sitesim.MsgReservationNumber))

	if err := chromedp.Do(tab,
		leave(rec, chromedp.Click(chromedp.CSS(`p.my-rent-list a`))),
		chromedp.WaitVisible(chromedp.CSS(`table.rent-list`)),
	); err != nil {
		return fmt.Errorf("simbrowser: egov listing: %w", err)
	}
	return listed(tab, `table.rent-list td.rsv-no`, number)
}

func cart(tab context.Context, rec *Recorder, base string, b Booking) error {
	if err := chromedp.Do(tab,
		chromedp.Navigate(base+sitesim.CartPathLogin),
		chromedp.WaitVisible(chromedp.CSS(`input[name="username"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="username"]`), b.Account),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), b.Password),
		leave(rec, chromedp.Click(chromedp.CSS(`button[name="login"]`))),
		chromedp.WaitVisible(chromedp.CSS(`p.welcome, p.error`)),
	); err != nil {
		return fmt.Errorf("simbrowser: cart login: %w", err)
	}
	if err := refused(tab, "login", `p.error`); err != nil {
		return err
	}

	if err := chromedp.Do(tab,
		leave(rec, chromedp.Click(chromedp.CSS(`nav.menu a.book`))),
		chromedp.WaitVisible(chromedp.CSS(`form#slot-form`)),
		// The script has listed the resources, or said why not.
		chromedp.Poll[chromedp.Void](`!document.getElementById("add").disabled || document.querySelector("#message.error") !== null`,
			chromedp.WithPollingTimeout(0)),
	); err != nil {
		return fmt.Errorf("simbrowser: cart booking page: %w", err)
	}
	if err := refused(tab, "booking page", `#message.error`); err != nil {
		return err
	}

	if err := chromedp.Do(tab,
		choose(`#resource`, byValue, strconv.Itoa(b.Court)),
		fill(`#date`, b.Date),
		choose(`#slot`, bySlot, b.Date+"T"+b.Start+":", "T"+b.End+":"),
		chromedp.Click(chromedp.CSS(`#add`)),
		chromedp.WaitVisible(chromedp.CSS(`#message.error, #contact-form`)),
	); err != nil {
		return fmt.Errorf("simbrowser: cart add to cart: %w", err)
	}
	if err := refused(tab, "add to cart", `#message.error`); err != nil {
		return err
	}

	if err := chromedp.Do(tab,
		chromedp.SendKeys(chromedp.CSS(`#name`), b.Name),
		chromedp.SendKeys(chromedp.CSS(`#phone`), b.Phone),
		leave(rec, chromedp.Click(chromedp.CSS(`#checkout`))),
		chromedp.WaitVisible(chromedp.CSS(`#message.error, form.confirm`)),
	); err != nil {
		return fmt.Errorf("simbrowser: cart checkout: %w", err)
	}
	if err := refused(tab, "checkout", `#message.error`); err != nil {
		return err
	}

	if err := chromedp.Do(tab,
		chromedp.Click(chromedp.CSS(`form.confirm input[name="accept_terms"]`)),
		leave(rec, chromedp.Click(chromedp.CSS(`form.confirm button[type="submit"]`))),
		chromedp.WaitVisible(chromedp.CSS(`strong.order-code, p.message`)),
	); err != nil {
		return fmt.Errorf("simbrowser: cart confirm: %w", err)
	}
	if err := refused(tab, "confirm", `p.message`); err != nil {
		return err
	}
	code, err := chromedp.Run(tab, chromedp.Evaluate[string](textOf(`strong.order-code`)))
	if err != nil {
		return fmt.Errorf("simbrowser: cart order page: %w", err)
	}

	if err := chromedp.Do(tab,
		leave(rec, chromedp.Click(chromedp.CSS(`p.nav a.my-reservations`))),
		chromedp.WaitReady(chromedp.CSS(`#reservations[data-loaded]`)),
		// The listing's own fetch is recorded with its answer.
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error { return rec.Wait(ctx) }),
	); err != nil {
		return fmt.Errorf("simbrowser: cart listing: %w", err)
	}
	return listed(tab, `#reservations tr.reservation td.code`, strings.TrimSpace(code))
}

// leave runs an action that leaves the page (a click that navigates) once
// the page's own requests are done and their bodies fetched: the body of
// a page is gone once the browser has left it.
func leave(rec *Recorder, a chromedp.Action[chromedp.Void]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		if err := rec.Wait(ctx); err != nil {
			return chromedp.Void{}, err
		}
		return a(ctx, t)
	}
}

// textOf is a script for the trimmed text of the first element matching
// css, "" when there is none.
func textOf(css string) string {
	return fmt.Sprintf(`(function () { var e = document.querySelector(%s); return e ? e.textContent.trim() : ""; })()`, jsString(css))
}

// refused returns an ErrRefused with the text of the element css when the
// page shows one, else nil.
func refused(tab context.Context, step, css string) error {
	msg, err := chromedp.Run(tab, chromedp.Evaluate[string](textOf(css)))
	if err != nil {
		return fmt.Errorf("simbrowser: %s: %w", step, err)
	}
	if msg == "" {
		return nil
	}
	return fmt.Errorf("%w: %s: %s", ErrRefused, step, msg)
}

// refusal is refused for a step known to have failed.
func refusal(tab context.Context, step, css string) error {
	if err := refused(tab, step, css); err != nil {
		return err
	}
	return fmt.Errorf("%w: %s: no answer on the page", ErrRefused, step)
}

// listed checks that the listing shows the booking's number.
func listed(tab context.Context, css, number string) error {
	got, err := chromedp.Run(tab, chromedp.Evaluate[[]string](fmt.Sprintf(
		`Array.from(document.querySelectorAll(%s)).map(function (e) { return e.textContent.trim(); })`, jsString(css))))
	if err != nil {
		return fmt.Errorf("simbrowser: listing: %w", err)
	}
	for _, g := range got {
		if g == number {
			return nil
		}
	}
	return fmt.Errorf("simbrowser: the listing does not show %s (it shows %q)", number, got)
}

// How choose picks an option.
const (
	byValue = "value"
	byLabel = "label"
	bySlot  = "slot" // value starts with want[0], data-end holds want[1]
)

// chooseJS selects an option as a person's pick does and fires the input
// and change events the page's script listens to. It returns "" or what
// went wrong.
const chooseJS = `function (css, mode, want, end) {
  var s = document.querySelector(css);
  if (!s) { return "no " + css; }
  var o = Array.from(s.options).find(function (o) {
    if (mode === "value") { return o.value === want; }
    if (mode === "label") { return o.textContent.trim() === want; }
    return o.value.indexOf(want) === 0 && (o.dataset.end || "").indexOf(end) >= 0;
  });
  if (!o) {
    return "no option " + want + " in " + css + ": " + Array.from(s.options).map(function (o) { return o.value + "=" + o.textContent; }).join(", ");
  }
  s.value = o.value;
  s.dispatchEvent(new Event("input", {bubbles: true}));
  s.dispatchEvent(new Event("change", {bubbles: true}));
  return "";
}`

// fillJS sets a field's value (a date input cannot be typed into the same
// way in every locale) and fires input and change.
const fillJS = `function (css, value) {
  var e = document.querySelector(css);
  if (!e) { return "no " + css; }
  e.focus();
  e.value = value;
  e.dispatchEvent(new Event("input", {bubbles: true}));
  e.dispatchEvent(new Event("change", {bubbles: true}));
  return e.value === value ? "" : css + " did not take " + value;
}`

func choose(css, mode, want string, end ...string) chromedp.Action[chromedp.Void] {
	return call(chooseJS, css, mode, want, strings.Join(end, ""))
}

func fill(css, value string) chromedp.Action[chromedp.Void] {
	return call(fillJS, css, value)
}

// call waits for the element css to be there, then runs fn(args...),
// which returns "" or an error message.
func call(fn string, css string, args ...string) chromedp.Action[chromedp.Void] {
	quoted := []string{jsString(css)}
	for _, a := range args {
		quoted = append(quoted, jsString(a))
	}
	expr := fmt.Sprintf("(%s)(%s)", fn, strings.Join(quoted, ", "))
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		if _, err := chromedp.WaitVisible(chromedp.CSS(css))(ctx, t); err != nil {
			return chromedp.Void{}, err
		}
		msg, err := chromedp.Evaluate[string](expr)(ctx, t)
		if err != nil {
			return chromedp.Void{}, err
		}
		if msg != "" {
			return chromedp.Void{}, fmt.Errorf("simbrowser: %s", msg)
		}
		return chromedp.Void{}, nil
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
