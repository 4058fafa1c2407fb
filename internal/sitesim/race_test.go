package sitesim

import (
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRaceForSlots lets 200 clients, each logged in and holding a token,
// submit at one instant for 20 slots: exactly 20 reservations must come out,
// never two for one slot.
func TestRaceForSlots(t *testing.T) {
	t.Parallel()
	const clients, slots = 200, 20
	srv := startSite(t, Options{Accounts: clients, Facilities: 2, Slots: 10, Latency: time.Millisecond, Jitter: 2 * time.Millisecond})
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	t.Cleanup(tr.CloseIdleConnections)

	cs := make([]*client, clients)
	toks := make([]string, clients)
	for i := range cs {
		jar, err := cookiejar.New(nil)
		require.NoError(t, err)
		cs[i] = &client{t: t, base: srv.URL(), charset: CharsetUTF8, hc: &http.Client{
			Jar: jar, Transport: tr, Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}}
	}
	slotOf := func(i int) (facility, slot int) { return 1 + (i%slots)/10, 1 + i%10 }

	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i, c := range cs {
		wg.Go(func() {
			r, err := c.try(http.MethodPost, PathLoginProc, url.Values{"userId": {srv.AccountName(i + 1)}, "userPw": {PasswordDefault}})
			if err == nil && r.status != http.StatusFound {
				err = fmt.Errorf("login %d: status %d", i, r.status)
			}
			if err != nil {
				errs <- err
				return
			}
			f, s := slotOf(i)
			r, err = c.try(http.MethodGet, formPath(f, testUseDate, s), nil)
			if err != nil {
				errs <- err
				return
			}
			m := tokenRE.FindStringSubmatch(r.body)
			if m == nil {
				errs <- fmt.Errorf("client %d: no token", i)
				return
			}
			toks[i] = m[1]
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	start := make(chan struct{})
	results := make([]string, clients)
	for i, c := range cs {
		wg.Go(func() {
			f, s := slotOf(i)
			form := c.applyForm(f, testUseDate, s, toks[i], "홍길동")
			<-start
			r, err := c.try(http.MethodPost, PathApply, form)
			if err != nil {
				results[i] = err.Error()
				return
			}
			results[i] = r.body
		})
	}
	close(start)
	wg.Wait()

	won, lost := 0, 0
	for i, body := range results {
		switch {
		case strings.Contains(body, MsgSuccess):
			won++
		case strings.Contains(body, MsgTaken):
			lost++
		default:
			t.Fatalf("client %d: unexpected answer %q", i, body)
		}
	}
	require.Equal(t, slots, won)
	require.Equal(t, clients-slots, lost)

	l := srv.Ledger()
	require.Len(t, l.Reservations, slots)
	require.Len(t, l.Submits, clients)
	seen := map[[2]int]string{}
	numbers := map[string]bool{}
	for _, r := range l.Reservations {
		key := [2]int{r.Facility, r.Slot}
		require.NotContains(t, seen, key, "slot %v booked twice", key)
		seen[key] = r.Account
		require.False(t, numbers[r.Number], "number %s reused", r.Number)
		numbers[r.Number] = true
	}
	for _, s := range l.Submits {
		switch s.Result {
		case ResultSuccess:
			require.Equal(t, seen[[2]int{s.Facility, s.Slot}], s.Account)
		case ResultTaken:
			require.NotEqual(t, seen[[2]int{s.Facility, s.Slot}], s.Account)
		default:
			t.Fatalf("unexpected result %s", s.Result)
		}
	}
}
