package sitesim

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// Arrival is one request to the public site as it arrived (Options.
// RecordRequests): every page, login, submit and probe, not only submits,
// so that a benchmark can check a client's load on the host in any window.
type Arrival struct {
	At     time.Time `json:"at"` // sim clock, when the handler was entered
	IP     string    `json:"ip"` // the connection's source address
	Method string    `json:"method"`
	Path   string    `json:"path"`
}

// arrivals is the request log; it grows without bound while on, which is
// why Options.RecordRequests is off by default.
type arrivals struct {
	mu   sync.Mutex
	list []Arrival
}

func (a *arrivals) add(r *http.Request, now time.Time) {
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		return // the ground-truth routes are not the site's load
	}
	e := Arrival{At: now, IP: clientIP(r), Method: r.Method, Path: r.URL.Path}
	a.mu.Lock()
	a.list = append(a.list, e)
	a.mu.Unlock()
}

func (a *arrivals) snapshot() []Arrival {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Arrival(nil), a.list...)
}

func (a *arrivals) reset() {
	a.mu.Lock()
	a.list = nil
	a.mu.Unlock()
}
