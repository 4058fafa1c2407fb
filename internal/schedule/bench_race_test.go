package schedule

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"reserver/internal/profile"
	"reserver/internal/session"
	"reserver/internal/sitesim"
)

// BenchmarkRace: reserver against other clients, over many openings. Each
// opening has one slot that one reserver booking and one competitor want;
// whoever's submit the site decides first gets it. The competitors live
// here, in the benchmark, as separate clients with their own connections
// (nothing of them is in the daemon):
//
//   - naive: a bot on the LOCAL clock: logged in and on the booking page
//     three seconds before, it submits when its own clock reads the
//     opening instant;
//   - ontime: a bot whose clock is the site's own and that knows the
//     path's one-way latency: its submit arrives at T exactly (give or
//     take the path's jitter).
//
// Both retry as people do at 2 requests/s (a page visit and a submit).
// Four sites, each a simulator process behind the 10 ms ± 2 ms delay line:
// the site clock skewed by +2.3 s or not, deciding at T on its Date clock
// or 20 ms after it (sitesim OpenLag: a booking check on another server).
// Two daemons, each with its own database and those four sites, one with
// the default aim and one with daemon.aim: learned, run at the same time;
// openings alternate between the competitors.
func BenchmarkRace(b *testing.B) {
	runOnce(b, "race", benchRace)
}

const (
	raceOpenings = 16
	racePeriod   = 4 * time.Second
)

type raceSite struct {
	name     string
	skew     time.Duration
	lag      time.Duration
	aim      Aim
	sim      *simulator
	opensAt  []time.Time // per opening, site clock
	bots     []*raceBot  // per opening
	reserver []string    // per opening, the reserver booking's account
}

func benchRace(b *testing.B) *benchFigures {
	conds := []struct {
		skew, lag time.Duration
	}{{0, 0}, {benchSkew, 0}, {0, 20 * time.Millisecond}, {benchSkew, 20 * time.Millisecond}}
	start := time.Now()
	first := start.Add(benchOpenIn).Truncate(time.Second) // opening 0, true time
	envs := map[Aim]*benchEnv{}
	var sites []*raceSite
	for _, aim := range []Aim{AimOpening, AimLearned} {
		env := newBenchEnv(b)
		envs[aim] = env
		for _, c := range conds {
			rs := &raceSite{name: fmt.Sprintf("skew%dms-lag%dms", c.skew.Milliseconds(), c.lag.Milliseconds()), skew: c.skew, lag: c.lag, aim: aim}
			rs.sim = startSim(b, simOpts{accounts: 2 * raceOpenings, facilities: raceOpenings, skew: c.skew,
				openAt: first.Add(c.skew), openLag: c.lag, path: pathSym})
			defer rs.sim.stop(b)
			env.addSite(b, rs.name, rs.sim.url)
			for k := range raceOpenings {
				at := first.Add(time.Duration(k) * racePeriod).Add(c.skew)
				acct := benchAccount(2*k+1, 2*raceOpenings)
				env.addBooking(b, rs.name, acct, k+1, 1, at, 10)
				rs.opensAt = append(rs.opensAt, at)
				rs.reserver = append(rs.reserver, acct)
			}
			sites = append(sites, rs)
		}
	}
	var daemons []*Daemon
	for _, aim := range []Aim{AimOpening, AimLearned} {
		d := envs[aim].daemon(b, func(c *Config) { c.Aim = aim })
		benchNoErr(b, d.Start(context.Background()))
		daemons = append(daemons, d)
	}

	var wg sync.WaitGroup
	for _, rs := range sites {
		prof := envs[rs.aim].profiles[rs.name]
		tr := &http.Transport{MaxIdleConnsPerHost: 4}
		defer tr.CloseIdleConnections()
		for k := range raceOpenings {
			kind := []string{"naive", "ontime"}[k%2]
			bot := &raceBot{kind: kind, account: benchAccount(2*k+2, 2*raceOpenings)}
			rs.bots = append(rs.bots, bot)
			trueT := first.Add(time.Duration(k) * racePeriod)
			fire := trueT.Add(-pathSym.up) // on time: arrives at T on the site's clock
			if kind == "naive" {
				fire = rs.opensAt[k] // the site's opening instant read on the local clock
			}
			wg.Go(func() { bot.book(prof, tr, k+1, rs.opensAt[k], trueT.Add(-3*time.Second), fire) })
			// Once this opening is decided, the simulator opens the next.
			if k+1 < raceOpenings {
				next := rs.opensAt[k+1]
				wg.Go(func() {
					time.Sleep(time.Until(trueT.Add(racePeriod - 500*time.Millisecond)))
					if err := rs.sim.setOpenAt(next); err != nil {
						b.Errorf("%s: %v", rs.name, err)
					}
				})
			}
		}
	}
	wg.Wait()
	for _, env := range envs {
		env.waitDone(time.Now().Add(20 * time.Second))
	}
	for _, d := range daemons {
		d.Stop()
	}

	var lines []string
	var metrics [][2]any
	for _, rs := range sites {
		led := rs.sim.ledger(b)
		holder := map[int]string{}
		heldAt := map[int]float64{} // ms after the opening's T
		for _, r := range led.Reservations {
			holder[r.Facility] = r.Account
			if r.Facility >= 1 && r.Facility <= raceOpenings {
				heldAt[r.Facility] = float64(r.At.Sub(rs.opensAt[r.Facility-1])) / float64(time.Millisecond)
			}
		}
		firstArrival := map[string]float64{} // account → ms after its opening's T
		for _, s := range led.Submits {
			if s.Account == "" || s.Facility < 1 || s.Facility > raceOpenings {
				continue
			}
			off := float64(s.At.Sub(rs.opensAt[s.Facility-1])) / float64(time.Millisecond)
			if v, ok := firstArrival[s.Account]; !ok || off < v {
				firstArrival[s.Account] = off
			}
		}
		for _, kind := range []string{"naive", "ontime"} {
			var openings, ours, theirs int
			var oursAt, theirsAt, wonAt []float64
			for k, bot := range rs.bots {
				if bot.kind != kind {
					continue
				}
				openings++
				switch holder[k+1] {
				case rs.reserver[k]:
					ours++
					wonAt = append(wonAt, heldAt[k+1])
				case bot.account:
					theirs++
				}
				if v, ok := firstArrival[rs.reserver[k]]; ok {
					oursAt = append(oursAt, v)
				}
				if v, ok := firstArrival[bot.account]; ok {
					theirsAt = append(theirsAt, v)
				}
			}
			oursAt, theirsAt, wonAt = sorted(oursAt), sorted(theirsAt), sorted(wonAt)
			rate := float64(ours) / float64(openings)
			lines = append(lines, fmt.Sprintf("BENCH race site=%s sim=process %s skew_ms=%d site_edge_ms=%+d aim=%s vs=%s openings=%d "+
				"won=%d lost=%d neither=%d win_rate=%.2f first_arrival_p50_ms=%.2f their_first_arrival_p50_ms=%.2f booked_at_p50_ms=%.1f booked_at_max_ms=%.1f host_ceiling=%g(default)",
				rs.name, pathSym, rs.skew.Milliseconds(), rs.lag.Milliseconds(), rs.aim, kind, openings,
				ours, theirs, openings-ours-theirs, rate, percentile(oursAt, 50), percentile(theirsAt, 50),
				percentile(wonAt, 50), percentile(wonAt, 100), HostCeilingDefault))
			metrics = append(metrics, [2]any{rate, strings.Join([]string{rs.name, string(rs.aim), kind, "win_rate"}, "/")})
		}
	}
	return &benchFigures{lines: lines, metrics: metrics}
}

// raceBot is one competitor for one opening.
type raceBot struct {
	kind    string
	account string
}

// book logs in and visits the booking page at warmAt (local), submits at
// fire (local), and then at 2 requests/s until the site says yes or no or
// three seconds have passed.
func (bot *raceBot) book(prof *profile.Profile, tr http.RoundTripper, court int, opensAt, warmAt, fire time.Time) {
	time.Sleep(time.Until(warmAt))
	sess, err := session.New(session.Config{Profile: prof, Transport: tr,
		Account: profile.AccountData{Username: bot.account, Password: sitesim.PasswordDefault}})
	if err != nil {
		return
	}
	ctx, cancel := context.WithDeadline(context.Background(), fire.Add(3*time.Second))
	defer cancel()
	data := &profile.Data{Booking: profile.BookingData{
		Court: fmt.Sprint(court), Date: opensAt.In(prof.Location).AddDate(0, 0, 7), Start: "06:00", End: "07:00",
		Phone: "+821012345678", Name: "경쟁자", People: 2,
	}}
	if _, err := sess.PreWarm(ctx, data); err != nil {
		return
	}
	time.Sleep(time.Until(fire))
	for ctx.Err() == nil {
		res, err := sess.Do(ctx, profile.StepSubmit, data)
		if err == nil && res != nil {
			switch res.Class {
			case profile.ClassSuccess, profile.ClassSoldOut, profile.ClassAlreadyMine, profile.ClassFatal:
				return
			}
		}
		time.Sleep(time.Second / benchRate)
		if _, err := sess.PreWarm(ctx, data); err != nil {
			return
		}
		time.Sleep(time.Second / benchRate)
	}
}
