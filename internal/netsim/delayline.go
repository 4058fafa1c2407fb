package netsim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"time"
)

const (
	// dialTimeout bounds the dial to the target; the target is on loopback,
	// so anything slower means it is not there.
	dialTimeout = 5 * time.Second
	// acceptRetry is the pause after a failed accept (out of descriptors and
	// the like) before the next one, as net/http does.
	acceptRetry = 5 * time.Millisecond
)

// DelayLine is a running delay line: a loopback listener whose every
// connection is forwarded to the target with the configured delays.
type DelayLine struct {
	// Set by Start, then read-only.
	cfg    Config
	ln     *net.TCPListener
	ctx    context.Context // ends with Close; bounds the dials
	cancel context.CancelFunc

	wg sync.WaitGroup // the accept loop and every connection's goroutines

	mu     sync.Mutex
	links  map[*link]struct{} // open connections, so Close can end them
	closed bool

	rngMu sync.Mutex
	rng   *rand.Rand // jitter draws, seeded by Config.Seed

	late lateness

	closeOnce sync.Once
	closeErr  error
}

// Start validates cfg, listens on cfg.Listen and forwards every connection
// to cfg.Target until Close.
func Start(cfg Config) (*DelayLine, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("netsim: listen: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &DelayLine{
		cfg:    cfg,
		ln:     ln.(*net.TCPListener),
		ctx:    ctx,
		cancel: cancel,
		links:  make(map[*link]struct{}),
		rng:    rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
	}
	d.wg.Go(d.accept)
	return d, nil
}

// Addr is the address clients connect to, e.g. "127.0.0.1:PORT".
func (d *DelayLine) Addr() string { return d.ln.Addr().String() }

// URL is the delay line's address as an http URL, for an HTTP target.
func (d *DelayLine) URL() string { return "http://" + d.Addr() }

// Lateness is, for every chunk written so far (up to lateKept of them),
// how long after its release time it went out, sorted: the delay the line
// adds to the configured one when its timers and goroutines run late (on
// a loaded machine). A benchmark states it beside the path it asked for.
func (d *DelayLine) Lateness() []time.Duration { return d.late.sorted() }

// Config is the configuration the delay line runs with, defaults filled in.
func (d *DelayLine) Config() Config { return d.cfg }

// Close stops accepting, closes every open connection on both sides
// without waiting for the data still in flight, and waits for every
// goroutine of the delay line. Calling it again returns the first result.
func (d *DelayLine) Close() error {
	d.closeOnce.Do(func() {
		d.cancel()
		if err := d.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			d.closeErr = fmt.Errorf("netsim: close: %w", err)
		}
		d.mu.Lock()
		d.closed = true
		links := make([]*link, 0, len(d.links))
		for l := range d.links {
			links = append(links, l)
		}
		d.mu.Unlock()
		for _, l := range links {
			l.abort(false)
		}
		d.wg.Wait()
	})
	return d.closeErr
}

func (d *DelayLine) accept() {
	for {
		c, err := d.ln.AcceptTCP()
		if err != nil {
			if d.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-d.ctx.Done():
				return
			case <-time.After(acceptRetry):
			}
			continue
		}
		accepted := time.Now()
		d.wg.Go(func() { d.serve(c, accepted) })
	}
}

// serve forwards one connection until both directions are done, one side
// fails, or the delay line closes.
func (d *DelayLine) serve(client *net.TCPConn, accepted time.Time) {
	server, err := d.dial(client)
	if err != nil {
		// The client's connect has already succeeded; a reset is the
		// closest a real path gets to "nobody there".
		_ = client.SetLinger(0)
		_ = client.Close()
		return
	}
	l := &link{client: client, server: server, done: make(chan struct{})}
	if !d.track(l) {
		l.abort(false)
		return
	}
	defer d.untrack(l)

	up := newDirection(client, server, d.cfg.Up, d.cfg.Jitter, d.draw, d.late.note)
	up.floor = handshakeFloor(accepted, d.cfg.Up, d.cfg.Down)
	down := newDirection(server, client, d.cfg.Down, d.cfg.Jitter, d.draw, d.late.note)
	var wg sync.WaitGroup
	for _, dir := range []*direction{up, down} {
		wg.Go(func() { dir.read(l) })
		wg.Go(func() { dir.write(l) })
	}
	wg.Wait()
	l.closeBoth()
}

// dial connects to the target from the client's own IP, so the target
// sees the real client; it dials unbound only when that address cannot be
// bound.
func (d *DelayLine) dial(client *net.TCPConn) (*net.TCPConn, error) {
	dialer := net.Dialer{Timeout: dialTimeout}
	if a, ok := client.RemoteAddr().(*net.TCPAddr); ok {
		bound := dialer
		bound.LocalAddr = &net.TCPAddr{IP: a.IP}
		c, err := bound.DialContext(d.ctx, "tcp", d.cfg.Target)
		if err == nil {
			return c.(*net.TCPConn), nil
		}
		if !isBindError(err) {
			return nil, err
		}
	}
	c, err := dialer.DialContext(d.ctx, "tcp", d.cfg.Target)
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// isBindError reports whether a dial failed because its local address
// could not be used, rather than because the target did not answer.
func isBindError(err error) bool {
	var se *os.SyscallError
	if errors.As(err, &se) && se.Syscall == "bind" {
		return true
	}
	var ae *net.AddrError
	return errors.As(err, &ae) // e.g. an IPv6 client in front of an IPv4 target
}

// track registers an open link; it refuses once Close has begun.
func (d *DelayLine) track(l *link) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return false
	}
	d.links[l] = struct{}{}
	return true
}

func (d *DelayLine) untrack(l *link) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.links, l)
}

// draw is one jitter draw in [0, 1), shared by every connection.
func (d *DelayLine) draw() float64 {
	d.rngMu.Lock()
	defer d.rngMu.Unlock()
	return d.rng.Float64()
}
