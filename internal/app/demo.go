package app

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"reserver/internal/booking"
	"reserver/internal/ippool"
	"reserver/internal/schedule"
	"reserver/internal/sitesim"
	"reserver/internal/tenant"
)

// DemoOptions configure Demo.
type DemoOptions struct {
	// OpenIn is how long after the start the simulated site opens.
	OpenIn time.Duration
	// Skew is how far the simulated site's clock is off ours.
	Skew time.Duration
	// Late delays the site's real opening past the booking's opens_at, so
	// the booking keeps trying for a while.
	Late time.Duration
	// BlockRPS makes the site block an address sending more than this many
	// requests in a second (0: never).
	BlockRPS int
	// Egresses, when above 1, routes the daemon through that many egresses
	// bound to 127.0.0.2, 127.0.0.3, ... so that a blocked one is replaced.
	Egresses int
	// Flavor is the simulated site: sitesim.FlavorEgov (default, the
	// courtsim profile) or sitesim.FlavorCart (the cartsim profile: a JSON
	// API, a rolling notice, a hold and a checkout).
	Flavor string
	Out    io.Writer
}

// Demo runs the whole job on this machine: the simulated booking site, the
// API and the daemon on env's database. It queues one booking through the
// API, prints what happens as it happens and returns when the booking has
// finished; the error says why it did not succeed.
func Demo(ctx context.Context, e *Env, o DemoOptions) error {
	// Deferred in this order so that the API is told to stop before it is
	// waited for.
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	say := func(format string, args ...any) {
		fmt.Fprintf(o.Out, "[%7.3fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}

	profiles, err := LoadProfiles(e.Config.SitesDir, func(string) (string, bool) { return "", false })
	if err != nil {
		return err
	}
	flavor := cmp.Or(o.Flavor, sitesim.FlavorEgov)
	siteName := map[string]string{sitesim.FlavorEgov: "courtsim", sitesim.FlavorCart: "cartsim"}[flavor]
	if siteName == "" {
		return fmt.Errorf("demo: unknown flavor %q (egov or cart)", o.Flavor)
	}
	prof, ok := profiles[siteName]
	if !ok {
		return fmt.Errorf("demo: no %s profile in %s", siteName, e.Config.SitesDir)
	}
	simOpts := sitesim.Options{Addr: "127.0.0.1:0", Skew: o.Skew, BlockRPS: o.BlockRPS, BlockFor: 10 * time.Second, Flavor: flavor}
	// The slot: court N tomorrow 10:00-11:00 on the cart site, a week
	// ahead on the eGov one.
	simNow := time.Now().Add(o.Skew)
	opensAt := simNow.Add(o.OpenIn).Truncate(time.Second)
	playDate := opensAt.In(prof.Location).AddDate(0, 0, 7)
	if flavor == sitesim.FlavorCart {
		// The cart site opens a slot a fixed notice before its end. For
		// the demo to open in OpenIn, the notice is what lies between then
		// and the slot's end, and the profile's rule says the same, so the
		// API computes the opening from it.
		playDate = opensAt.In(prof.Location).AddDate(0, 0, 1)
		end := time.Date(playDate.Year(), playDate.Month(), playDate.Day(), 11, 0, 0, 0, prof.Location)
		simOpts.Notice = end.Sub(opensAt)
		opening := *prof.Opening
		opening.Before = simOpts.Notice
		c := *prof
		c.Opening = &opening
		prof = &c
	}
	site, err := sitesim.Start(simOpts)
	if err != nil {
		return err
	}
	defer site.Close()
	if flavor == sitesim.FlavorEgov {
		site.SetOpenAt(opensAt.Add(o.Late))
	}
	if o.BlockRPS > 0 {
		say("the site blocks an address for 10s when it sends more than %d requests in a second", o.BlockRPS)
	}
	say("simulated %s booking site at %s: its clock is %+v off ours, it opens at %s (its clock)", flavor, site.URL(), o.Skew, opensAt.Format("15:04:05"))

	if prof, err = prof.WithBaseURL(site.URL()); err != nil {
		return err
	}
	profiles[siteName] = prof

	apiAddr := make(chan net.Addr, 1)
	wg.Go(func() {
		if err := ServeAPI(ctx, e, Catalog(profiles), "127.0.0.1:0", func(a net.Addr) { apiAddr <- a }); err != nil {
			say("api: %v", err)
		}
	})
	var api string
	select {
	case a := <-apiAddr:
		api = "http://" + a.String()
	case <-time.After(10 * time.Second):
		return errors.New("demo: the API did not start")
	}
	say("API at %s", api)

	token, err := e.Tenants.CreateToken(ctx, "demo", tenant.RoleUser)
	if err != nil {
		return err
	}
	court := fmt.Sprint(1 + time.Now().Unix()%10)
	day := playDate.Format(time.DateOnly)
	var body string
	if flavor == sitesim.FlavorCart {
		// No opens_at: the API computes it from the site's rolling rule.
		body = fmt.Sprintf(`{"site":"cartsim","account":{"username":"user002","password":"pass1234"},
		"court":%q,"date":%q,"start":"10:00","end":"11:00","phone":"010-1234-5678","name":"Hong Gildong"}`, court, day)
	} else {
		body = fmt.Sprintf(`{"site":"courtsim","account":{"username":"user001","password":"pass1234"},
		"court":%q,"date":%q,"start":"10:00","end":"11:00","opens_at":%q,
		"phone":"010-1234-5678","name":"홍길동","fields":{"people":"2"}}`,
			court, day, opensAt.Format(time.RFC3339Nano))
	}
	id, err := postBooking(ctx, api, token, body)
	if err != nil {
		return err
	}
	say("POST /v1/bookings → booking %d: court %s on %s 10:00-11:00, opening %s", id, court, day, opensAt.In(prof.Location).Format(time.RFC3339))

	if o.Egresses > 1 {
		e.Config.Egress.Egresses = nil
		for i := range o.Egresses {
			e.Config.Egress.Egresses = append(e.Config.Egress.Egresses, ippool.EgressConfig{
				Name: fmt.Sprintf("lo%d", i+2), Kind: ippool.KindSource, Source: fmt.Sprintf("127.0.0.%d", i+2)})
		}
		say("egresses: %d local source addresses, 127.0.0.2 to 127.0.0.%d", o.Egresses, o.Egresses+1)
	}
	cfg, err := e.DaemonConfig(profiles)
	if err != nil {
		return err
	}
	// The demo is one process on one machine: its own stable name, so that
	// a demo stopped mid-way leaves a journal the next demo finds.
	cfg.Instance = cmp.Or(cfg.Instance, "demo")
	cfg.Events = func(ev schedule.Event) {
		if ev.BookingID == id {
			say("booking %d: %s", ev.BookingID, ev.What)
		}
	}
	// The log provider "sends" the SMS by logging it: show those lines.
	smsLog := zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()), zapcore.AddSync(o.Out), zap.InfoLevel))
	d, relay, err := e.StartDaemon(ctx, cfg, smsLog)
	if err != nil {
		return err
	}
	defer relay.Stop()
	defer d.Stop()
	say("daemon %s started; pre-warm %v before the opening", d.Instance(), cfg.Lead)

	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		b, err := e.Bookings.Get(ctx, booking.Scope{All: true}, id)
		if err != nil {
			continue
		}
		if !b.State.Terminal() {
			continue
		}
		led := site.Ledger()
		for _, s := range led.Submits {
			say("site ledger: submit from %s arrived %+.1f ms after the opening → %s %s", s.IP, s.OffsetMS, s.Result, s.Reservation)
		}
		if b.State != booking.Succeeded {
			return fmt.Errorf("demo: booking %d %s (%s)", id, b.State, b.Reason)
		}
		say("booking %d succeeded: reservation %s — GET %s/v1/bookings/%d/attempts shows every request", id, b.ReservationNo, api, id)
		return waitSent(ctx, e, id, say)
	}
}

func postBooking(ctx context.Context, api, token, body string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", api+"/v1/bookings", bytes.NewBufferString(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var out struct {
		ID     int64  `json:"id"`
		Detail string `json:"detail"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != http.StatusCreated {
		return 0, fmt.Errorf("demo: POST /v1/bookings: %s: %s", resp.Status, out.Detail)
	}
	return out.ID, nil
}

// waitSent waits until the booking's confirmation has gone out.
func waitSent(ctx context.Context, e *Env, id int64, say func(string, ...any)) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var row booking.Outbox
		err := e.DB.WithContext(ctx).Where("booking_id = ? AND kind = ?", id, schedule.KindBooked).Take(&row).Error
		if err == nil && row.State == "sent" {
			say("confirmation SMS to %s sent (outbox row %d, provider id %s)", row.Phone, row.ID, row.ProviderID)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("demo: the confirmation of booking %d was not sent within 30s", id)
}
