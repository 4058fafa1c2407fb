package hartest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"reserver/internal/sitesim"
)

var orderCodeRe = regexp.MustCompile(`class="order-code">([^<]+)<`)

// bookCart books on the cart flavour: the login page and its form, the
// dashboard, and then what its script does (resources, add to cart,
// checkout), the confirm form, and the reservations the order page's
// script lists. It returns the order code.
func (b *browser) bookCart(ctx context.Context, bk Booking, wrongFirst bool) (string, error) {
	login, err := b.navigate(ctx, navigation{method: http.MethodGet, url: b.at(sitesim.CartPathLogin)})
	if err != nil {
		return "", err
	}
	if wrongFirst {
		again, err := b.submit(ctx, login, sitesim.CartPathLogin, map[string]string{"username": bk.Account, "password": WrongPassword}, "login")
		if err != nil {
			return "", err
		}
		if again.status != http.StatusOK || !strings.Contains(again.text, `class="error"`) {
			return "", flowError("wrong password", "want the login page with an error, got %d %s", again.status, again.url)
		}
		login = again // the form again, with a new _token
	}
	dash, err := b.submit(ctx, login, sitesim.CartPathLogin, map[string]string{"username": bk.Account, "password": bk.Password}, "login")
	if err != nil {
		return "", err
	}
	if dash.url.Path != sitesim.CartPathDashboard || dash.status != http.StatusOK {
		return "", flowError("login", "want %s, got %d %s", sitesim.CartPathDashboard, dash.status, dash.url)
	}

	if _, err := b.api(ctx, dash, "resources", http.MethodGet, sitesim.CartPathResources, nil, http.StatusOK, nil); err != nil {
		return "", err
	}
	day, err := time.ParseInLocation(time.DateOnly, bk.Date, kst)
	if err != nil {
		return "", flowError("booking", "date %q: %v", bk.Date, err)
	}
	start := day.Add(time.Duration(5+bk.Slot) * time.Hour)
	item := struct {
		ResourceID int    `json:"resource_id"`
		Start      string `json:"start"`
		End        string `json:"end"`
	}{bk.Facility, start.Format(time.RFC3339), start.Add(time.Hour).Format(time.RFC3339)}
	var held struct {
		Hold struct {
			ID string `json:"id"`
		} `json:"hold"`
	}
	if _, err := b.api(ctx, dash, "add to cart", http.MethodPost, sitesim.CartPathItems, item, http.StatusCreated, &held); err != nil {
		return "", err
	}
	checkout := struct {
		HoldID string `json:"hold_id"`
		Name   string `json:"name"`
		Phone  string `json:"phone"`
	}{held.Hold.ID, bk.Name, bk.Phone}
	var started struct {
		Checkout struct {
			ID         string `json:"id"`
			ConfirmURL string `json:"confirm_url"`
		} `json:"checkout"`
	}
	if _, err := b.api(ctx, dash, "checkout", http.MethodPost, sitesim.CartPathCheckout, checkout, http.StatusOK, &started); err != nil {
		return "", err
	}

	confirmURL, err := dash.url.Parse(started.Checkout.ConfirmURL)
	if err != nil || started.Checkout.ConfirmURL == "" {
		return "", flowError("checkout", "no confirm_url")
	}
	body := "_csrf=" + url.QueryEscape(b.cookie(sitesim.CartXSRFCookie)) + "&accept_terms=1"
	order, err := b.navigate(ctx, navigation{method: http.MethodPost, url: confirmURL, from: dash,
		body: []byte(body), contentType: "application/x-www-form-urlencoded"})
	if err != nil {
		return "", err
	}
	m := orderCodeRe.FindStringSubmatch(order.text)
	if order.status != http.StatusOK || m == nil {
		return "", flowError("confirm", "want the order page, got %d %s", order.status, order.url)
	}
	list, err := b.api(ctx, order, "reservations", http.MethodGet, sitesim.CartPathReservations, nil, http.StatusOK, nil)
	if err != nil {
		return m[1], err
	}
	if !strings.Contains(string(list), m[1]) {
		return m[1], flowError("reservations", "%s not listed", m[1])
	}
	return m[1], nil
}

// api is one call of the page's script: JSON, and the XSRF header from
// the cookie on everything but a GET, as axios sends it.
func (b *browser) api(ctx context.Context, p *page, step, method, path string, in any, want int, out any) ([]byte, error) {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return nil, err
		}
	}
	var extra [][2]string
	if xsrf := b.cookie(sitesim.CartXSRFCookie); xsrf != "" && method != http.MethodGet {
		extra = append(extra, [2]string{sitesim.CartXSRFHeader, xsrf})
	}
	resp, data, err := b.xhr(ctx, p, method, path, body, extra...)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return data, flowError(step, "want %d, got %d: %.200s", want, resp.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return data, flowError(step, "%v: %.200s", err, data)
		}
	}
	return data, nil
}
