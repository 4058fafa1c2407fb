package schedule

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
	"reserver/internal/sitesim"
)

func dur(ms float64) *time.Duration {
	d := time.Duration(ms * float64(time.Millisecond))
	return &d
}

// learnedAim, openings newest first: it aims inside the interval the
// openings leave, halving it each opening, never before the latest
// arrival answered not_open plus the margin, and stops intersecting at an
// older opening that contradicts the newer ones.
func TestLearnedAim(t *testing.T) {
	const margin = time.Millisecond
	edge := func(closed, open *time.Duration) booking.OpeningEdge {
		return booking.OpeningEdge{Site: "s", ClosedMax: closed, OpenMin: open}
	}
	for _, tc := range []struct {
		name  string
		edges []booking.OpeningEdge
		want  float64 // ms
	}{
		{"no evidence: the opening plus the margin", nil, 1},
		{"open at the default aim: unchanged", []booking.OpeningEdge{edge(nil, dur(2.5))}, 1},
		{"seen open earlier: aim there", []booking.OpeningEdge{edge(nil, dur(-0.4))}, -0.4},
		{"site decides late: halfway into the interval", []booking.OpeningEdge{edge(dur(2), dur(502))}, 252},
		{"bisection across openings", []booking.OpeningEdge{edge(nil, dur(252)), edge(dur(2), dur(502))}, 127},
		{"a closed answer raises the floor", []booking.OpeningEdge{edge(dur(17.8), nil), edge(nil, dur(33.25)), edge(dur(2), dur(502))}, 25.525},
		{"narrow interval: the margin after lo, not after hi", []booking.OpeningEdge{edge(dur(20), dur(20.5))}, 20.5},
		{"only closed: the margin after it", []booking.OpeningEdge{edge(dur(3), nil)}, 4},
		{"an older contradicting opening is not used", []booking.OpeningEdge{edge(dur(-5), dur(-3)), edge(dur(20), dur(500))}, -4},
		{"answers beyond the span say nothing", []booking.OpeningEdge{edge(dur(30000), dur(30500))}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, why := learnedAim(tc.edges, margin)
			require.InDelta(t, tc.want, ms(got), 0.001, why)
			require.NotEmpty(t, why)
		})
	}
}

// A site that decides 20 ms after T on its Date clock: at the first
// opening the first submit arrives at T plus the margin and is answered
// not_open, the retry half a second later books. The daemon records where
// the site said no and yes; with AimLearned the next opening's first
// submit is aimed inside that interval and books at once, while the
// default aim is answered not_open again.
func TestLearnedAimFollowsTheSitesEdge(t *testing.T) {
	for _, aim := range []Aim{AimOpening, AimLearned} {
		t.Run(string(aim), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const lag = 20 * time.Millisecond
				b := setup(t, setupOpts{openLag: lag})
				first := b.site.Now().Add(65 * time.Second).Truncate(time.Second)
				second := first.Add(90 * time.Second)
				b.site.SetOpenAt(first)
				bk1 := b.book(t, first, bookingOpts{account: "user001", court: "1"})
				bk2 := b.book(t, second, bookingOpts{account: "user002", court: "2"})
				d := b.daemon(t, "i1", func(c *Config) { c.Aim = aim })
				require.NoError(t, d.Start(t.Context()))
				defer d.Kill()
				require.Equal(t, booking.Succeeded, b.waitTerminal(t, bk1.ID, 2*time.Minute).State)
				b.site.SetOpenAt(second)
				require.Equal(t, booking.Succeeded, b.waitTerminal(t, bk2.ID, 3*time.Minute).State)

				edges, err := b.store.Edges(t.Context(), "courtsim", 10)
				require.NoError(t, err)
				require.Len(t, edges, 2)
				old := edges[1] // newest first
				require.NotNil(t, old.ClosedMax)
				require.NotNil(t, old.OpenMin)
				require.Less(t, *old.ClosedMax, lag, "the not_open answer arrived before the site's edge")
				require.GreaterOrEqual(t, *old.OpenMin, lag)

				var subs []sitesim.Submit
				for _, s := range b.site.Ledger().Submits {
					if s.Account == "user002" {
						subs = append(subs, s)
					}
				}
				require.NotEmpty(t, subs)
				if aim == AimOpening {
					require.Equal(t, sitesim.ResultNotOpen, subs[0].Result, "the default aim arrives before the site's edge")
					return
				}
				require.Len(t, subs, 1, "the learned aim books with its first submit")
				require.Equal(t, sitesim.ResultSuccess, subs[0].Result)
				arrived := time.Duration(subs[0].OffsetMS * float64(time.Millisecond))
				require.GreaterOrEqual(t, arrived, lag)
				require.LessOrEqual(t, arrived, *old.OpenMin, "never later than the evidence says the site was open")
			})
		})
	}
}
