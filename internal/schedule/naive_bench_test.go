package schedule

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"reserver/internal/booking"
	"reserver/internal/profile"
	"reserver/internal/session"
)

// naiveBot books the way a simple bot does, for BenchmarkFire to compare
// the daemon with: at the opening instant on the LOCAL clock (no clock
// correction), with no pre-warm, it logs in, visits the booking page and
// submits, then submits again at the rate until the site says yes or no.
// It lives here, in the benchmark, so that the daemon has no mode for it.
type naiveBot struct {
	wg   sync.WaitGroup
	won  atomic.Int64
	mu   sync.Mutex
	sent []time.Time // each booking's first submit, local clock
}

func startNaiveBot(b *testing.B, env *benchEnv, siteURL string, opensAt time.Time) *naiveBot {
	b.Helper()
	prof, err := env.prof.WithBaseURL(siteURL)
	benchNoErr(b, err)
	tr := &http.Transport{MaxIdleConnsPerHost: 2}
	bot := &naiveBot{}
	for _, id := range env.ids {
		bk, err := env.store.Get(context.Background(), booking.Scope{All: true}, id)
		benchNoErr(b, err)
		pw, err := env.store.LoginPassword(bk)
		benchNoErr(b, err)
		bot.wg.Go(func() { bot.book(prof, tr, bk, pw, opensAt) })
	}
	return bot
}

func (bot *naiveBot) book(prof *profile.Profile, tr http.RoundTripper, bk *booking.Booking, password string, opensAt time.Time) {
	time.Sleep(time.Until(opensAt)) // the site's opening read as a local time
	sess, err := session.New(session.Config{Profile: prof, Transport: tr,
		Account: profile.AccountData{Username: bk.Account.Username, Password: password}})
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	data := &profile.Data{Booking: bk.TemplateData(prof.Location)}
	if _, err := sess.PreWarm(ctx, data); err != nil {
		return
	}
	for first := true; ctx.Err() == nil; first = false {
		if !first {
			time.Sleep(time.Second / benchRate)
			if _, err := sess.PreWarm(ctx, data); err != nil {
				return
			}
		}
		at := time.Now()
		res, err := sess.Do(ctx, profile.StepSubmit, data)
		if first {
			bot.mu.Lock()
			bot.sent = append(bot.sent, at)
			bot.mu.Unlock()
		}
		if err != nil || res == nil {
			continue
		}
		switch res.Class {
		case profile.ClassSuccess:
			bot.won.Add(1)
			return
		case profile.ClassSoldOut, profile.ClassAlreadyMine, profile.ClassFatal:
			return
		}
	}
}

func (bot *naiveBot) wait() { bot.wg.Wait() }

// firstSent is when each first submit left, in ms after the opening on the
// site's clock (the simulator's true skew applied), sorted.
func (bot *naiveBot) firstSent(opensAt time.Time) []float64 {
	bot.mu.Lock()
	defer bot.mu.Unlock()
	out := make([]float64, 0, len(bot.sent))
	for _, t := range bot.sent {
		out = append(out, float64(t.Add(benchSkew).Sub(opensAt))/float64(time.Millisecond))
	}
	slices.Sort(out)
	return out
}
