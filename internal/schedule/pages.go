package schedule

import (
	"context"

	"reserver/internal/profile"
	"reserver/internal/session"
)

// pagesScope says which of the profile's pages a run must visit before
// its next submit.
type pagesScope int

const (
	pagesNone        pagesScope = iota
	pagesEverySubmit            // only the pages whose token is single-use
	pagesAll                    // all, in order: after a login, a move, a verify
)

// pagesBeforeSubmit is the scope after a submit was sent.
func (r *run) pagesBeforeSubmit() pagesScope {
	if r.prof.EverySubmitPages() {
		return pagesEverySubmit
	}
	return pagesNone
}

// visitPages visits the pages of scope in order, each at the booking's
// pace, and stops at the first that does not pass. It returns that page's
// answer, or the last page's when all passed (nil without pages); the
// caller acts on its class.
func (r *run) visitPages(ctx context.Context, scope pagesScope, o sendOpts) (*session.Result, error) {
	var last *session.Result
	for _, pg := range r.prof.Pages {
		if scope == pagesEverySubmit && !pg.EverySubmit {
			continue
		}
		res, err := r.request(ctx, pg.Name, o)
		if err != nil {
			return res, err
		}
		last = res
		if res.Class != profile.ClassSuccess || egressRefused(res) {
			return res, nil
		}
	}
	return last, nil
}

// pagesPassed reports whether a visitPages answer lets the submit go.
func pagesPassed(res *session.Result) bool {
	return res == nil || res.Class == profile.ClassSuccess && !egressRefused(res)
}
