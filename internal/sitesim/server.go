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

// Server is a Site listening on a loopback address.
type Server struct {
	*Site
	ln   net.Listener
	srv  *http.Server
	done chan struct{} // closed when Serve has returned

	closeOnce sync.Once
	closeErr  error
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
	s := &Server{
		Site: site,
		ln:   ln,
		srv: &http.Server{
			Handler:           site.Handler(),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			// Clients that hang up mid-request are part of the game; do not
			// spam the test output with them.
			ErrorLog: log.New(io.Discard, "", 0),
		},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// URL is the site's base URL, e.g. "http://127.0.0.1:PORT".
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops serving, closes idle and active connections, aborts injected
// latency and waits for every handler to return. Calling it again returns
// the first result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		err := s.srv.Close()
		s.Site.stop()
		<-s.done
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.closeErr = err
		}
	})
	return s.closeErr
}
