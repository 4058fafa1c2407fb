package schedule

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"reserver/internal/booking"
	"reserver/internal/metrics"
	"reserver/internal/profile"
	"reserver/internal/session"
)

// Where the site decides (docs/opening.md, "Aiming by the site's edge"):
// the instant that matters is when the site's handler checks its clock,
// which can be before or after T as its Date header shows it. Each run
// notes when its submits arrived around the opening, on its estimate of
// the site's clock, and which of them the site still answered not_open;
// with Aim = AimLearned the next opening's first submit is aimed by what
// the site's recent openings showed.

// Aim says how the first submit is aimed.
type Aim string

const (
	// AimOpening (the default) aims the first submit at the opening
	// instant plus the margin and the clock estimate's precision.
	AimOpening Aim = "opening"
	// AimLearned aims it inside the interval the site's recent openings
	// left between the latest arrival answered not_open and the earliest
	// answered open, never before the former.
	AimLearned Aim = "learned"
)

// Evidence limits: only answers to submits arriving within edgeSpan of
// the opening say where the site's edge is (an answer minutes later says
// nothing about it; a booking's second submit, after a page visit at 2
// requests/s, comes a second after its first); edgeOpenings recent
// openings are read.
const (
	edgeSpan     = 3 * time.Second
	edgeOpenings = 10
)

// edgeNotes are one run's answers around its opening.
type edgeNotes struct {
	closedMax, openMin *time.Duration
}

// noteEdge notes a submit's answer, by its estimated arrival on the site's
// clock relative to the opening. Sent at SentAt, it arrives one way later:
// on an asymmetric path the offset's bias and RTT/2's cancel, as in FireAt.
func (r *run) noteEdge(res *session.Result) {
	if r.est.Probes == 0 || res == nil || res.Ambiguous || egressRefused(res) {
		return // no site clock, or no answer from the site's handler
	}
	arr := r.est.LocalToSite(res.SentAt).Add(r.est.OneWay()).Sub(r.b.OpensAt)
	if arr < -edgeSpan || arr > edgeSpan {
		return
	}
	switch res.Class {
	case profile.ClassNotOpen:
		if r.edge.closedMax == nil || arr > *r.edge.closedMax {
			r.edge.closedMax = &arr
		}
	case profile.ClassSuccess, profile.ClassSoldOut, profile.ClassAlreadyMine, profile.ClassHeld, profile.ClassConflict:
		if r.edge.openMin == nil || arr < *r.edge.openMin {
			r.edge.openMin = &arr
		}
	}
}

// recordEdge stores the run's notes for the site's later openings and the
// operator (reserver status, /metrics). Best effort, like recordClock.
func (r *run) recordEdge() {
	if r.edge.closedMax == nil && r.edge.openMin == nil {
		return
	}
	metrics.SiteEdge(r.b.Site, r.edge.closedMax, r.edge.openMin)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), 2*time.Second)
	defer cancel()
	err := r.d.cfg.Store.RecordEdge(ctx, booking.EdgeEvidence{
		Site: r.b.Site, OpensAt: r.b.OpensAt, BookingID: r.b.ID,
		ClosedMax: r.edge.closedMax, OpenMin: r.edge.openMin, Within: r.est.Precision,
	})
	if err != nil {
		r.log.Warn("recording the site's edge failed", zap.Error(err))
	}
}

// aimOffset is where, relative to the opening on the site's clock, the
// first submit should arrive (before the estimate's precision is added),
// and why. With AimLearned it reads the site's recent openings.
func (r *run) aimOffset() (time.Duration, string) {
	margin := r.d.cfg.Margin
	if r.d.cfg.Aim != AimLearned {
		return margin, "opening"
	}
	ctx, cancel := context.WithTimeout(r.ctx, 2*time.Second)
	defer cancel()
	edges, err := r.d.cfg.Store.Edges(ctx, r.b.Site, edgeOpenings)
	if err != nil {
		r.log.Warn("reading the site's edge failed; aiming at the opening", zap.Error(err))
		return margin, "opening (no evidence: " + err.Error() + ")"
	}
	return learnedAim(edges, margin)
}

// learnedAim is the arrival offset to aim at by the evidence of a site's
// openings (newest first), and a description of it.
//
// The openings are intersected from the newest back while they agree: the
// site's edge lies after every arrival answered not_open (lo) and at or
// before every arrival answered open (hi). An older opening that
// contradicts the newer ones (the site moved its edge) ends the
// intersection. Then:
//   - lo and hi known: aim halfway between, but at least the margin after
//     lo and never after hi; each opening halves the interval until it is
//     the margin wide (a bisection across openings);
//   - only lo: the margin after it;
//   - only hi: hi, if that is before the default aim;
//   - nothing: the default, the opening plus the margin.
//
// The aim is never before lo + margin: never earlier than the evidence
// allows.
func learnedAim(edges []booking.OpeningEdge, margin time.Duration) (time.Duration, string) {
	var lo, hi *time.Duration
	used := 0
	for _, e := range edges {
		nlo, nhi := lo, hi
		if c := e.ClosedMax; c != nil && *c >= -edgeSpan && *c <= edgeSpan && (nlo == nil || *c > *nlo) {
			nlo = c
		}
		if o := e.OpenMin; o != nil && *o >= -edgeSpan && *o <= edgeSpan && (nhi == nil || *o < *nhi) {
			nhi = o
		}
		if nlo != nil && nhi != nil && *nlo >= *nhi {
			break // this older opening contradicts the newer ones
		}
		lo, hi = nlo, nhi
		used++
	}
	switch {
	case lo != nil && hi != nil:
		aim := min(*hi, *lo+max(margin, (*hi-*lo)/2))
		return aim, fmt.Sprintf("learned: edge in (%+.1f, %+.1f] ms over %d openings", ms(*lo), ms(*hi), used)
	case lo != nil:
		return *lo + margin, fmt.Sprintf("learned: not open at %+.1f ms over %d openings", ms(*lo), used)
	case hi != nil && *hi < margin:
		return *hi, fmt.Sprintf("learned: open at %+.1f ms over %d openings", ms(*hi), used)
	}
	return margin, "opening (no evidence)"
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
