package netsim

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// stamps is what the target saw of one request, on the machine's clock.
type stamps struct {
	received time.Time // the handler began
	sent     time.Time // just before the answer was written
	remote   string    // the connection's source address
}

// bundle is an HTTP target behind a delay line.
type bundle struct {
	line *DelayLine

	mu   sync.Mutex
	seen map[string]stamps // by the request's X-Req header
}

func setup(t *testing.T, cfg Config) *bundle {
	t.Helper()
	b := &bundle{seen: make(map[string]stamps)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := stamps{received: time.Now(), remote: r.RemoteAddr}
		s.sent = time.Now()
		b.mu.Lock()
		b.seen[r.Header.Get("X-Req")] = s
		b.mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	cfg.Target = srv.Listener.Addr().String()
	line, err := Start(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, line.Close()) })
	b.line = line
	return b
}

// client is an HTTP client whose connections start at localIP (any when
// empty); its idle connections are closed with the test.
func (b *bundle) client(t *testing.T, localIP string) *http.Client {
	t.Helper()
	dialer := &net.Dialer{}
	if localIP != "" {
		dialer.LocalAddr = &net.TCPAddr{IP: net.ParseIP(localIP)}
	}
	tr := &http.Transport{DialContext: dialer.DialContext, MaxIdleConnsPerHost: 1}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// exchange is one request as both ends saw it.
type exchange struct {
	sent, received time.Time // by the client: before the request, on the answer's headers
	server         stamps
	reused         bool // the request went on a kept-alive connection
}

func (b *bundle) get(t *testing.T, c *http.Client, id string) exchange {
	t.Helper()
	var x exchange
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) { x.reused = info.Reused },
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.line.URL()+"/", nil)
	require.NoError(t, err)
	req.Header.Set("X-Req", id)
	x.sent = time.Now()
	resp, err := c.Do(req)
	x.received = time.Now()
	require.NoError(t, err)
	_, err = io.Copy(io.Discard, resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	b.mu.Lock()
	x.server = b.seen[id]
	b.mu.Unlock()
	require.False(t, x.server.received.IsZero(), "the target never saw request %s", id)
	return x
}

// Only lower bounds are asserted: a loaded machine makes everything slower,
// never faster.
func TestDelaysEachDirection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		up, down time.Duration
	}{
		{"slow up", 15 * time.Millisecond, 5 * time.Millisecond},
		{"slow down", 5 * time.Millisecond, 15 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, Config{Up: tt.up, Down: tt.down})
			c := b.client(t, "")

			first := b.get(t, c, "1")
			require.False(t, first.reused)
			require.GreaterOrEqual(t, first.server.received.Sub(first.sent), tt.up+tt.down+tt.up,
				"a fresh connection's first request must pay the handshake's round trip and its own way up")
			require.GreaterOrEqual(t, first.received.Sub(first.server.sent), tt.down)

			for i := range 3 {
				x := b.get(t, c, strconv.Itoa(i+2))
				require.True(t, x.reused, "request %d went on a new connection", i+2)
				require.GreaterOrEqual(t, x.server.received.Sub(x.sent), tt.up)
				require.GreaterOrEqual(t, x.received.Sub(x.server.sent), tt.down)
			}
		})
	}
}

func TestJitteredDelaysStayAtLeastTheLeastDelay(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{Up: 12 * time.Millisecond, Down: 8 * time.Millisecond, Jitter: 4 * time.Millisecond, Seed: 7})
	c := b.client(t, "")
	for i := range 5 {
		x := b.get(t, c, strconv.Itoa(i))
		require.GreaterOrEqual(t, x.server.received.Sub(x.sent), 8*time.Millisecond)
		require.GreaterOrEqual(t, x.received.Sub(x.server.sent), 4*time.Millisecond)
	}
}

func TestKeepsTheClientsSourceIP(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{Up: time.Millisecond, Down: time.Millisecond})
	for _, ip := range []string{"127.0.0.7", "127.0.0.8"} {
		x := b.get(t, b.client(t, ip), ip)
		host, _, err := net.SplitHostPort(x.server.remote)
		require.NoError(t, err)
		require.Equal(t, ip, host)
	}
}

func TestDialsUnboundWhenTheClientsAddressCannotBeBound(t *testing.T) {
	t.Parallel()
	probe, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	require.NoError(t, probe.Close())
	// An IPv6 client in front of an IPv4 target: its address cannot be
	// the source of the upstream connection.
	b := setup(t, Config{Listen: "[::1]:0"})
	x := b.get(t, b.client(t, ""), "v6")
	host, _, err := net.SplitHostPort(x.server.remote)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1", host)
}

// echoTarget accepts one connection and hands it to serve; it returns the
// target's address.
func echoTarget(t *testing.T, serve func(c *net.TCPConn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		serve(c.(*net.TCPConn))
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
	})
	return ln.Addr().String()
}

func startLine(t *testing.T, cfg Config) *DelayLine {
	t.Helper()
	line, err := Start(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, line.Close()) })
	return line
}

func dialLine(t *testing.T, line *DelayLine) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", line.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(3*time.Second)))
	return c.(*net.TCPConn)
}

func TestHalfCloseArrivesAfterTheData(t *testing.T) {
	t.Parallel()
	target := echoTarget(t, func(c *net.TCPConn) {
		got, err := io.ReadAll(c) // until the client's half-close
		if err != nil {
			return
		}
		_, _ = c.Write(append([]byte("echo:"), got...))
		_ = c.CloseWrite()
		_, _ = io.Copy(io.Discard, c)
	})
	line := startLine(t, Config{Target: target, Up: 5 * time.Millisecond, Down: 5 * time.Millisecond})
	c := dialLine(t, line)
	for _, part := range []string{"one ", "two ", "three"} {
		_, err := io.WriteString(c, part)
		require.NoError(t, err)
	}
	require.NoError(t, c.CloseWrite())
	got, err := io.ReadAll(c)
	require.NoError(t, err)
	require.Equal(t, "echo:one two three", string(got))
}

func TestResetReachesTheClient(t *testing.T) {
	t.Parallel()
	target := echoTarget(t, func(c *net.TCPConn) {
		buf := make([]byte, 1)
		if _, err := c.Read(buf); err != nil {
			return
		}
		_ = c.SetLinger(0) // the close sends an RST
	})
	line := startLine(t, Config{Target: target, Up: 2 * time.Millisecond, Down: 2 * time.Millisecond})
	c := dialLine(t, line)
	_, err := io.WriteString(c, "x")
	require.NoError(t, err)
	_, err = c.Read(make([]byte, 1))
	require.ErrorIs(t, err, syscall.ECONNRESET)
}

func TestAbsentTargetResetsTheClient(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	target := ln.Addr().String()
	require.NoError(t, ln.Close())
	line := startLine(t, Config{Target: target})
	// The reset may beat the client's own connect to the finish.
	c, err := net.Dial("tcp", line.Addr())
	if err == nil {
		defer c.Close()
		require.NoError(t, c.SetDeadline(time.Now().Add(3*time.Second)))
		_, err = c.Read(make([]byte, 1))
	}
	require.Error(t, err)
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "the client was left hanging")
}

func TestCloseEndsOpenConnections(t *testing.T) {
	t.Parallel()
	accepted, targetSaw := make(chan struct{}), make(chan error, 1)
	target := echoTarget(t, func(c *net.TCPConn) {
		close(accepted)
		_ = c.SetDeadline(time.Now().Add(3 * time.Second))
		_, err := io.Copy(io.Discard, c)
		targetSaw <- err
	})
	// Ten seconds each way: whatever the client sends is still in flight
	// when the line closes.
	line, err := Start(Config{Target: target, Up: 10 * time.Second, Down: 10 * time.Second})
	require.NoError(t, err)
	c := dialLine(t, line)
	_, err = io.WriteString(c, "pending")
	require.NoError(t, err)
	select {
	case <-accepted:
	case <-time.After(3 * time.Second):
		t.Fatal("the line never connected to the target")
	}

	closed := make(chan error, 1)
	go func() { closed <- line.Close() }()
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(3 * time.Second):
		t.Fatal("Close waited for the data in flight")
	}
	require.NoError(t, line.Close(), "a second Close")

	_, err = c.Read(make([]byte, 1))
	require.Error(t, err)
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "the client's connection stayed open")
	select {
	case err := <-targetSaw:
		require.NoError(t, err, "the target's connection stayed open")
	case <-time.After(4 * time.Second):
		t.Fatal("the target's connection stayed open")
	}

	_, err = net.DialTimeout("tcp", line.Addr(), time.Second)
	require.Error(t, err, "the line still accepts")
}

// Every chunk written is noted with how late it went out, so that a
// benchmark can state what the line added to the path it asked for.
func TestLatenessIsNotedForEveryChunk(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{Up: 2 * time.Millisecond, Down: 2 * time.Millisecond})
	c := b.client(t, "")
	require.Empty(t, b.line.Lateness())
	const n = 4
	for i := range n {
		b.get(t, c, strconv.Itoa(i))
	}
	late := b.line.Lateness()
	require.GreaterOrEqual(t, len(late), 2*n, "each request and each answer is at least one chunk")
	require.True(t, slices.IsSorted(late))
	require.GreaterOrEqual(t, late[0], time.Duration(0))
}
