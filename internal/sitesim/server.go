package sitesim

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server is a Site listening on a loopback address (and on any more that
// Listen adds).
type Server struct {
	*Site
	ln      net.Listener
	servers []*served // the first is ln's

	mu        sync.Mutex
	closed    bool
	closeOnce sync.Once
	closeErr  error
}

// served is one http.Server of the site and its listener.
type served struct {
	ln   net.Listener
	srv  *http.Server
	done chan struct{} // closed when Serve has returned
}

// serveOn serves h on ln in a goroutine until closed.
func serveOn(ln net.Listener, h http.Handler) *served {
	sv := &served{
		ln: ln,
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			// Clients that hang up mid-request are part of the game; do not
			// spam the test output with them.
			ErrorLog: log.New(io.Discard, "", 0),
		},
		done: make(chan struct{}),
	}
	go func() {
		defer close(sv.done)
		_ = sv.srv.Serve(ln)
	}()
	return sv
}

// close stops accepting and closes the connections.
func (sv *served) close() error {
	err := sv.srv.Close()
	<-sv.done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Start creates a site from opts, listens on opts.Addr (loopback only,
// default 127.0.0.1:0) and serves it in a goroutine until Close.
func Start(opts Options) (*Server, error) {
	site, err := New(opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", site.opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("sitesim: listen: %w", err)
	}
	return &Server{Site: site, ln: ln, servers: []*served{serveOn(ln, site.Handler())}}, nil
}

// Listen serves the same site (same accounts, clock and ledger) on one
// more loopback address, a distinct host to clients, until Close. It
// returns that address's base URL.
func (s *Server) Listen(addr string) (string, error) {
	if err := checkLoopback(addr); err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("sitesim: listen: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		ln.Close()
		return "", errors.New("sitesim: server closed")
	}
	s.servers = append(s.servers, serveOn(ln, s.Handler()))
	return "http://" + ln.Addr().String(), nil
}

// URL is the site's base URL, e.g. "http://127.0.0.1:PORT".
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops serving on every address, closes idle and active
// connections, aborts injected latency and waits for every handler to
// return. Calling it again returns the first result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		servers := s.servers
		s.mu.Unlock()
		var errs []error
		for _, sv := range servers {
			errs = append(errs, sv.close())
		}
		s.Site.stop()
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}
