package hartest

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"reserver/internal/sitesim"
)

var egovNumberRe = regexp.MustCompile(regexp.QuoteMeta(sitesim.MsgReservationNumber) + `([A-Za-z0-9-]+)`)

// bookEgov books on the eGov flavour: the login page, the login form, the
// main page, the booking page (through the main page's search form when
// it has one, else its link), the booking form, and the list the answer
// links to. It returns the reservation number.
func (b *browser) bookEgov(ctx context.Context, bk Booking, wrongFirst bool) (string, error) {
	login, err := b.navigate(ctx, navigation{method: http.MethodGet, url: b.at(sitesim.PathLogin)})
	if err != nil {
		return "", err
	}
	if wrongFirst {
		answer, err := b.submit(ctx, login, sitesim.PathLoginProc, map[string]string{"userId": bk.Account, "userPw": WrongPassword}, "")
		if err != nil {
			return "", err
		}
		if !strings.Contains(answer.text, sitesim.MsgLoginFailed) {
			return "", flowError("wrong password", "want %q, got %d %s", sitesim.MsgLoginFailed, answer.status, answer.url)
		}
		// The alert is dismissed and the person goes back to the form.
		if login, err = b.click(ctx, answer, sitesim.PathLogin); err != nil {
			return "", err
		}
	}
	main, err := b.submit(ctx, login, sitesim.PathLoginProc, map[string]string{"userId": bk.Account, "userPw": bk.Password}, "")
	if err != nil {
		return "", err
	}
	if main.url.Path != sitesim.PathMain || main.status != http.StatusOK {
		return "", flowError("login", "want %s, got %d %s", sitesim.PathMain, main.status, main.url)
	}

	day, err := time.Parse(time.DateOnly, bk.Date)
	if err != nil {
		return "", flowError("booking", "date %q: %v", bk.Date, err)
	}
	useDate := day.Format("20060102")
	fill := map[string]string{"facilityNo": strconv.Itoa(bk.Facility), "useDate": useDate, "timeNo": strconv.Itoa(bk.Slot)}
	form, err := b.submit(ctx, main, sitesim.PathForm, fill, "")
	if errors.Is(err, errNoForm) {
		// A main page with only a link: the person edits the query.
		q := url.Values{"facilityNo": {fill["facilityNo"]}, "useDate": {useDate}, "timeNo": {fill["timeNo"]}}
		form, err = b.click(ctx, main, sitesim.PathForm+"?"+orderedQuery(q, "facilityNo", "useDate", "timeNo"))
	}
	if err != nil {
		return "", err
	}
	if form.status != http.StatusOK || !strings.Contains(form.text, `name="rentToken"`) {
		return "", flowError("booking page", "no rentToken on %d %s", form.status, form.url)
	}

	answer, err := b.submit(ctx, form, sitesim.PathApply, map[string]string{
		"userName": bk.Name, "userTel": bk.Phone, "people": strconv.Itoa(bk.People),
	}, "")
	if err != nil {
		return "", err
	}
	m := egovNumberRe.FindStringSubmatch(answer.text)
	if !strings.Contains(answer.text, sitesim.MsgSuccess) || m == nil {
		return "", flowError("submit", "want %q and a number, got %d %s", sitesim.MsgSuccess, answer.status, answer.url)
	}
	list, err := b.click(ctx, answer, sitesim.PathRentList)
	if err != nil {
		return m[1], err
	}
	if !strings.Contains(list.text, m[1]) {
		return m[1], flowError("my reservations", "%s not listed", m[1])
	}
	return m[1], nil
}

// at is a path on the site.
func (b *browser) at(path string) *url.URL {
	u, _ := b.site.Parse(path)
	return u
}

// orderedQuery encodes q in the order of keys, as a form would.
func orderedQuery(q url.Values, keys ...string) string {
	var parts []string
	for _, k := range keys {
		for _, v := range q[k] {
			parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(v))
		}
	}
	return strings.Join(parts, "&")
}
