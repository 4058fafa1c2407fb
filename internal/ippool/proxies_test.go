package ippool

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Real proxies for the tests. Each dials out from its own loopback source
// address, so the site sees a distinct client IP per egress.

// conns tracks the connections a test proxy holds, so Close can end them
// and wait for their goroutines.
type conns struct {
	mu     sync.Mutex
	set    map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

func (c *conns) add(conn net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	if c.set == nil {
		c.set = map[net.Conn]struct{}{}
	}
	c.set[conn] = struct{}{}
	return true
}

func (c *conns) remove(conn net.Conn) {
	c.mu.Lock()
	delete(c.set, conn)
	c.mu.Unlock()
}

func (c *conns) closeAll() {
	c.mu.Lock()
	c.closed = true
	for conn := range c.set {
		_ = conn.Close()
	}
	c.mu.Unlock()
	c.wg.Wait()
}

// pipe copies both ways until either side ends, then closes both.
func pipe(a, b net.Conn) {
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	go cp(a, b)
	go cp(b, a)
	<-done
	_ = a.Close()
	_ = b.Close()
	<-done
}

func sourceDialer(src string) *net.Dialer {
	return &net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
}

// httpProxy is a forward proxy: absolute-URI requests for http targets,
// CONNECT tunnels for https ones, optional Basic proxy authentication.
type httpProxy struct {
	ln       net.Listener
	srv      *http.Server
	out      *http.Transport
	dialer   *net.Dialer
	user     string
	pass     string
	tunnels  conns
	requests atomic.Int64
	done     chan struct{}
}

// startHTTPProxy listens on addr ("127.0.0.1:0" or a fixed port) and
// dials the sites from src.
func startHTTPProxy(t *testing.T, addr, src, user, pass string) *httpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	p := &httpProxy{ln: ln, dialer: sourceDialer(src), user: user, pass: pass, done: make(chan struct{})}
	p.out = &http.Transport{DialContext: p.dialer.DialContext, Proxy: nil}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		defer close(p.done)
		_ = p.srv.Serve(ln)
	}()
	t.Cleanup(p.Close)
	return p
}

func (p *httpProxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *httpProxy) Close() {
	_ = p.srv.Close()
	<-p.done
	p.tunnels.closeAll()
	p.out.CloseIdleConnections()
}

func (p *httpProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.requests.Add(1)
	if p.user != "" {
		want := "Basic " + base64.StdEncoding.EncodeToString([]byte(p.user+":"+p.pass))
		if r.Header.Get("Proxy-Authorization") != want {
			w.Header().Set("Proxy-Authenticate", `Basic realm="test"`)
			http.Error(w, "proxy authentication required", http.StatusProxyAuthRequired)
			return
		}
	}
	if r.Method == http.MethodConnect {
		p.connect(w, r)
		return
	}
	if !r.URL.IsAbs() {
		http.Error(w, "not a proxy request", http.StatusBadRequest)
		return
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.Header.Del("Proxy-Authorization")
	out.Header.Del("Proxy-Connection")
	resp, err := p.out.RoundTrip(out)
	if err != nil {
		http.Error(w, "bad gateway", http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

func (p *httpProxy) connect(w http.ResponseWriter, r *http.Request) {
	target, err := p.dialer.DialContext(r.Context(), "tcp", r.Host)
	if err != nil {
		http.Error(w, "bad gateway", http.StatusBadGateway)
		return
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		_ = target.Close()
		return
	}
	if !p.tunnels.add(conn) {
		_ = conn.Close()
		_ = target.Close()
		return
	}
	p.tunnels.add(target)
	_, _ = io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n")
	p.tunnels.wg.Go(func() {
		defer p.tunnels.remove(conn)
		defer p.tunnels.remove(target)
		pipe(conn, target)
	})
}

// socksProxy is a SOCKS5 server (RFC 1928) with optional username and
// password authentication (RFC 1929); CONNECT only.
type socksProxy struct {
	ln       net.Listener
	dialer   *net.Dialer
	user     string
	pass     string
	conns    conns
	accepted atomic.Int64
	done     chan struct{}
}

func startSOCKSProxy(t *testing.T, addr, src, user, pass string) *socksProxy {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	s := &socksProxy{ln: ln, dialer: sourceDialer(src), user: user, pass: pass, done: make(chan struct{})}
	go s.serve()
	t.Cleanup(s.Close)
	return s
}

// URL is the proxy's URL with the given credentials ("" for none).
func (s *socksProxy) URL(user, pass string) string {
	if user == "" {
		return "socks5://" + s.ln.Addr().String()
	}
	return "socks5://" + user + ":" + pass + "@" + s.ln.Addr().String()
}

func (s *socksProxy) Close() {
	_ = s.ln.Close()
	<-s.done
	s.conns.closeAll()
}

func (s *socksProxy) serve() {
	defer close(s.done)
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.accepted.Add(1)
		if !s.conns.add(c) {
			_ = c.Close()
			continue
		}
		s.conns.wg.Go(func() {
			defer s.conns.remove(c)
			s.handle(c)
		})
	}
}

var errSOCKS = errors.New("socks protocol error")

func (s *socksProxy) handle(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	target, err := s.handshake(br, c)
	if err != nil {
		return
	}
	out, err := s.dialer.DialContext(context.Background(), "tcp", target)
	if err != nil {
		_, _ = c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0}) // connection refused
		return
	}
	if !s.conns.add(out) {
		_ = out.Close()
		return
	}
	defer s.conns.remove(out)
	local := out.LocalAddr().(*net.TCPAddr)
	reply := append([]byte{5, 0, 0, 1}, local.IP.To4()...)
	reply = binary.BigEndian.AppendUint16(reply, uint16(local.Port))
	if _, err := c.Write(reply); err != nil {
		_ = out.Close()
		return
	}
	_ = c.SetDeadline(time.Time{})
	pipe(&bufferedConn{Conn: c, r: br}, out)
}

// handshake negotiates the method, authenticates and reads the CONNECT
// request; it returns the target host:port.
func (s *socksProxy) handshake(br *bufio.Reader, w io.Writer) (string, error) {
	hdr := make([]byte, 2)
	if _, err := io.ReadFull(br, hdr); err != nil || hdr[0] != 5 {
		return "", errSOCKS
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(br, methods); err != nil {
		return "", errSOCKS
	}
	want := byte(0) // no authentication
	if s.user != "" {
		want = 2 // username/password
	}
	offered := false
	for _, m := range methods {
		offered = offered || m == want
	}
	if !offered {
		_, _ = w.Write([]byte{5, 0xFF})
		return "", errSOCKS
	}
	if _, err := w.Write([]byte{5, want}); err != nil {
		return "", err
	}
	if want == 2 {
		user, pass, err := readUserPass(br)
		if err != nil {
			return "", err
		}
		if user != s.user || pass != s.pass {
			_, _ = w.Write([]byte{1, 1})
			return "", errSOCKS
		}
		if _, err := w.Write([]byte{1, 0}); err != nil {
			return "", err
		}
	}
	req := make([]byte, 4)
	if _, err := io.ReadFull(br, req); err != nil || req[0] != 5 {
		return "", errSOCKS
	}
	if req[1] != 1 { // CONNECT only
		_, _ = w.Write([]byte{5, 7, 0, 1, 0, 0, 0, 0, 0, 0})
		return "", errSOCKS
	}
	var host string
	switch req[3] {
	case 1, 4:
		ip := make([]byte, map[byte]int{1: 4, 4: 16}[req[3]])
		if _, err := io.ReadFull(br, ip); err != nil {
			return "", err
		}
		host = net.IP(ip).String()
	case 3:
		n, err := br.ReadByte()
		if err != nil {
			return "", err
		}
		name := make([]byte, n)
		if _, err := io.ReadFull(br, name); err != nil {
			return "", err
		}
		host = string(name)
	default:
		return "", errSOCKS
	}
	port := make([]byte, 2)
	if _, err := io.ReadFull(br, port); err != nil {
		return "", err
	}
	return net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(port)))), nil
}

func readUserPass(br *bufio.Reader) (string, string, error) {
	ver, err := br.ReadByte()
	if err != nil || ver != 1 {
		return "", "", errSOCKS
	}
	field := func() (string, error) {
		n, err := br.ReadByte()
		if err != nil {
			return "", err
		}
		b := make([]byte, n)
		_, err = io.ReadFull(br, b)
		return string(b), err
	}
	user, err := field()
	if err != nil {
		return "", "", err
	}
	pass, err := field()
	return user, pass, err
}

// bufferedConn reads what the handshake's reader buffered first.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// freeAddr is a loopback address nothing listens on (yet).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}
