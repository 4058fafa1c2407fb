package schedule

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
	"reserver/internal/profile"
	"reserver/internal/sitesim"
)

// guestShop is a site without a login: the shop page hands the visitor a
// cart cookie, and an item goes in the cart only for a visitor who has one.
type guestShop struct {
	opensAt time.Time
	mu      sync.Mutex
	carts   map[string]bool
	orders  map[string]string // item → cart
	seq     int
}

func (g *guestShop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case r.URL.Path == "/":
		http.Redirect(w, r, "/shop", http.StatusFound)
	case r.URL.Path == "/shop":
		g.seq++
		id := fmt.Sprintf("c%d", g.seq)
		g.carts[id] = true
		http.SetCookie(w, &http.Cookie{Name: "cart", Value: id, Path: "/"})
		fmt.Fprint(w, "<h1>Shop</h1>")
	case r.URL.Path == "/cart" && r.Method == http.MethodPost:
		c, err := r.Cookie("cart")
		switch item := r.FormValue("item"); {
		case err != nil || !g.carts[c.Value]:
			fmt.Fprint(w, "Your visit has expired. Please start again.")
		case time.Now().Before(g.opensAt):
			fmt.Fprint(w, "Not on sale yet.")
		case g.orders[item] != "":
			fmt.Fprint(w, "Sold out.")
		default:
			g.orders[item] = c.Value
			fmt.Fprintf(w, "Thank you! Order <b>G-%d</b>", len(g.orders))
		}
	default:
		http.NotFound(w, r)
	}
}

const guestProfile = `name: guestshop
base_url: http://guest.test
steps:
  pages:
    - name: shop
      path: /shop
      classify: [{status: 200, cookie: {cart: ""}, class: success}]
  submit:
    method: POST
    path: /cart
    form: {item: "court{{ .Booking.Court }}-{{ yyyymmdd .Booking.Date }}-{{ .Booking.Start }}"}
    classify:
      - {status: 200, body_contains: Thank you, class: success, reservation: {css: b}}
      - {status: 200, body_contains: Not on sale yet, class: not_open}
      - {status: 200, body_contains: Sold out, class: sold_out}
      - {status: 200, body_contains: expired, class: session_expired}
`

// A guest site (no login) is booked with a booking that has no site
// password: the first page visit sets the cookie the submit needs, and no
// password is recorded as proven.
func TestGuestSiteBooks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		prof, err := profile.Parse("guestshop.yaml", []byte(guestProfile))
		require.NoError(t, err)
		require.Nil(t, prof.Login)
		opensAt := time.Now().Add(90 * time.Second).Truncate(time.Second)
		shop := &guestShop{opensAt: opensAt, carts: map[string]bool{}, orders: map[string]string{}}
		b := newBundle(t)
		b.prof = prof
		b.tr = &sitesim.InProcess{Handler: shop, RemoteAddr: "127.0.0.1:40000"}
		bk, _, err := b.store.Create(context.Background(), booking.NewBooking{
			TenantID: b.tenant, Site: "guestshop", Username: "me@example.org", Court: "3",
			PlayDate: opensAt.AddDate(0, 0, 7).Format(time.DateOnly), StartTime: "10:00", EndTime: "11:00",
			OpensAt: opensAt, WindowSeconds: 60, RatePerSecond: 2, Phone: "+821012345678", BookerName: "Kim",
		})
		require.NoError(t, err)

		d, _ := b.daemonDB(t, "i1", func(c *Config) { c.Profiles = map[string]*profile.Profile{"guestshop": prof} })
		require.NoError(t, d.Start(t.Context()))
		got := b.waitTerminal(t, bk.ID, 3*time.Minute)
		d.Stop()

		require.Equal(t, booking.Succeeded, got.State, "reason %s: %v", got.Reason, stepClasses(b.attempts(t, bk.ID)))
		require.Equal(t, "G-1", got.ReservationNo)
		require.Equal(t, []string{"shop:success", "shop:success", "submit:success"}, stepClasses(b.attempts(t, bk.ID)),
			"no login: the page visit at pre-warm, again before the opening, the submit")
		var acct booking.Account
		require.NoError(t, b.db.First(&acct, got.AccountID).Error)
		require.Nil(t, acct.PasswordProvenAt, "no login proved anything")
	})
}
