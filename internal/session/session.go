package session

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-resty/resty/v2"
	"golang.org/x/text/encoding"

	"reserver/internal/profile"
)

// Defaults of Config.
const (
	MaxBodyDefault   = 1 << 20 // bytes read of a response; the rest is dropped
	MaxRedirects     = 10
	maxDiscardOnTail = 64 << 10 // drained from a truncated body to keep the connection
)

// The headers every request carries unless its step sets them, as a
// browser's would.
const (
	defaultAccept         = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	defaultAcceptLanguage = "ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7"
)

// Sentinel errors.
var (
	ErrNoTransport = errors.New("session: no transport configured")
	ErrNoProfile   = errors.New("session: no profile configured")
	ErrLoginFailed = errors.New("session: login failed")
	ErrNoDate      = errors.New("session: the site sent no Date header")
)

// Clock tells the time. Tests and the clock-sync code may supply their own.
type Clock interface{ Now() time.Time }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// Config configures one Session.
type Config struct {
	Profile *profile.Profile
	Account profile.AccountData
	// Transport carries every request; the session never dials by itself.
	// Required. SetTransport replaces it later.
	Transport http.RoundTripper
	// MaxBody bounds how much of a response is read; default MaxBodyDefault.
	MaxBody int64
	// Clock defaults to the machine clock.
	Clock Clock
}

// Result is the record of one exchange, ready for the attempt log.
type Result struct {
	Step      string
	Method    string
	Path      string
	Status    int       // 0 when no answer was read
	Location  string    // raw Location header
	SiteDate  time.Time // the site's Date header; zero if absent
	SentAt    time.Time // just before the request went to the transport
	Latency   time.Duration
	Class     profile.Class
	Extracted map[string]string // values this exchange extracted
	// Reservation is the reservation number of a success, if the profile
	// says where it is.
	Reservation string
	// Excerpt is at most ExcerptMax runes of the decoded page text,
	// leading with the page's message (profile.Step.Message) when it has
	// one, with passwords, secret fields and tokens masked.
	Excerpt   string
	Truncated bool  // the body was longer than MaxBody; only MaxBody bytes were read
	Err       error // transport or read error, if any
	// Ambiguous is true when the request may have been applied but no
	// reliable answer was read: an error after the request was fully
	// written (reset, timeout) or a 5xx. Never repeat such a submit blindly.
	Ambiguous bool
	// Before are the exchanges of the same call that came before this one
	// (a login's prelogin visit), oldest first, for the attempt log.
	Before []*Result
}

// LoginError is returned when the login (or the visit before it) did not
// classify as success.
type LoginError struct {
	Class  profile.Class
	Status int
	Step   string // login, or prelogin
}

func (e *LoginError) Error() string {
	if e.Step != "" && e.Step != profile.StepLogin {
		return fmt.Sprintf("session: login failed at %s: class %s (status %d)", e.Step, e.Class, e.Status)
	}
	return fmt.Sprintf("session: login failed: class %s (status %d)", e.Class, e.Status)
}

// Unwrap makes errors.Is(err, ErrLoginFailed) true.
func (e *LoginError) Unwrap() error { return ErrLoginFailed }

// Session is one cookie-jar session of one site account. It is safe for
// concurrent use; extractions are shared by all its users.
type Session struct {
	prof    *profile.Profile
	client  *resty.Client
	rt      *swapTransport
	jar     *resettableJar
	clock   Clock
	maxBody int64

	acctMu sync.RWMutex
	acct   profile.AccountData

	xMu sync.RWMutex
	x   map[string]string

	loginMu   sync.Mutex
	gen       uint64
	inflight  *loginCall
	lastLogin *Result
	logins    atomic.Int64 // login requests sent, for tests and metrics
}

type loginCall struct {
	done chan struct{}
	gen  uint64
	res  *Result
	err  error
}

type followKey struct{}

// New builds a session. It sends nothing until asked.
func New(cfg Config) (*Session, error) {
	if cfg.Profile == nil {
		return nil, ErrNoProfile
	}
	if cfg.Transport == nil {
		return nil, ErrNoTransport
	}
	s := &Session{
		prof:    cfg.Profile,
		rt:      newSwapTransport(cfg.Transport),
		jar:     &resettableJar{jar: newJar()},
		clock:   cmp.Or[Clock](cfg.Clock, realClock{}),
		maxBody: cmp.Or(cfg.MaxBody, MaxBodyDefault),
		acct:    cfg.Account,
		x:       map[string]string{},
	}
	hc := &http.Client{
		Transport: s.rt,
		Jar:       s.jar,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if follow, _ := req.Context().Value(followKey{}).(bool); !follow {
				return http.ErrUseLastResponse
			}
			// A redirect off the site's host, or from https to http, is
			// not followed: the step's answer is the redirect itself, so
			// no other host sees the site's request and no other host's
			// page reaches the classification or the excerpt.
			if !s.prof.RedirectAllowed(via[len(via)-1].URL, req.URL) {
				return http.ErrUseLastResponse
			}
			if len(via) >= MaxRedirects {
				return fmt.Errorf("session: stopped after %d redirects", MaxRedirects)
			}
			return nil
		},
	}
	s.client = resty.NewWithClient(hc).
		SetDisableWarn(true).
		SetDoNotParseResponse(true).
		SetHeader("User-Agent", s.prof.UserAgent).
		SetHeader("Accept", defaultAccept).
		SetHeader("Accept-Language", defaultAcceptLanguage)
	return s, nil
}

// Profile returns the session's profile.
func (s *Session) Profile() *profile.Profile { return s.prof }

// SetTransport replaces the transport for requests that start after it
// returns; requests in flight finish on the old one.
func (s *Session) SetTransport(rt http.RoundTripper) {
	if rt != nil {
		s.rt.set(rt)
	}
}

// ResetCookies empties the cookie jar (the site will see a new visitor).
// The login generation is unchanged; the next session_expired answer leads
// to a new login.
func (s *Session) ResetCookies() { s.jar.reset() }

// SetAccount replaces the credentials used by later logins.
func (s *Session) SetAccount(a profile.AccountData) {
	s.acctMu.Lock()
	s.acct = a
	s.acctMu.Unlock()
}

func (s *Session) account() profile.AccountData {
	s.acctMu.RLock()
	defer s.acctMu.RUnlock()
	return s.acct
}

// Extracted returns a copy of the session's extractions.
func (s *Session) Extracted() map[string]string {
	s.xMu.RLock()
	defer s.xMu.RUnlock()
	return maps.Clone(s.x)
}

// Generation is the number of successful logins so far; 0 before the first.
func (s *Session) Generation() uint64 {
	s.loginMu.Lock()
	defer s.loginMu.Unlock()
	return s.gen
}

// LoginCount is the number of login requests this session has sent.
func (s *Session) LoginCount() int64 { return s.logins.Load() }

// Login logs in unless a login newer than seen already happened, in which
// case it returns at once, or is in progress, in which case it waits for
// that one and shares its outcome. So any number of goroutines that all saw
// generation g and got session_expired cause exactly one login. It returns
// the generation now current and the result of the login it relied on.
func (s *Session) Login(ctx context.Context, seen uint64) (uint64, *Result, error) {
	for {
		s.loginMu.Lock()
		if s.gen > seen {
			g, r := s.gen, s.lastLogin
			s.loginMu.Unlock()
			return g, r, nil
		}
		if c := s.inflight; c != nil {
			s.loginMu.Unlock()
			select {
			case <-c.done:
			case <-ctx.Done():
				return 0, nil, ctx.Err()
			}
			// The leader's own context ended: try again under ours.
			if errors.Is(c.err, context.Canceled) || errors.Is(c.err, context.DeadlineExceeded) {
				if ctx.Err() == nil {
					continue
				}
			}
			return c.gen, c.res, c.err
		}
		c := &loginCall{done: make(chan struct{})}
		s.inflight = c
		s.loginMu.Unlock()

		c.res, c.err = s.login(ctx)

		s.loginMu.Lock()
		if c.err == nil {
			s.gen++
			s.lastLogin = c.res
		}
		c.gen = s.gen
		s.inflight = nil
		s.loginMu.Unlock()
		close(c.done)
		return c.gen, c.res, c.err
	}
}

func (s *Session) login(ctx context.Context) (*Result, error) {
	if s.prof.Login != nil {
		s.logins.Add(1)
	}
	var last *Result
	for _, st := range []*profile.Step{s.prof.Prelogin, s.prof.Login} {
		if st == nil {
			continue
		}
		res, err := s.Do(ctx, st.Name, &profile.Data{})
		if res != nil {
			if last != nil {
				res.Before = append(append(res.Before, last.Before...), last)
				last.Before = nil
			}
			last = res
		}
		if err != nil {
			return last, err
		}
		if res.Class != profile.ClassSuccess {
			return res, &LoginError{Class: res.Class, Status: res.Status, Step: st.Name}
		}
	}
	return last, nil
}

// PreWarm logs in if the session never did, then visits the pages the
// site insists on before a submit, in order (logging in again once if the
// site says the session expired). The connection stays open, so the first
// submit at the opening instant costs one round trip.
func (s *Session) PreWarm(ctx context.Context, data *profile.Data) ([]*Result, error) {
	var out []*Result
	keep := func(res *Result) {
		if res != nil {
			out = append(append(out, res.Before...), res)
		}
	}
	gen := s.Generation()
	if gen == 0 {
		g, res, err := s.Login(ctx, 0)
		keep(res)
		if err != nil {
			return out, err
		}
		gen = g
	}
	for attempt := 0; ; attempt++ {
		var res *Result
		var err error
		for _, pg := range s.prof.Pages {
			res, err = s.Do(ctx, pg.Name, data)
			keep(res)
			if err != nil || res.Class != profile.ClassSuccess {
				break
			}
		}
		if err != nil {
			return out, err
		}
		if res == nil || res.Class == profile.ClassSuccess {
			return out, nil
		}
		if res.Class != profile.ClassSessionExpired || attempt > 0 {
			return out, fmt.Errorf("session: %s answered %s (status %d)", res.Step, res.Class, res.Status)
		}
		g, lres, err := s.Login(ctx, gen)
		if lres != nil && g != gen {
			keep(lres)
		}
		if err != nil {
			return out, err
		}
		gen = g
	}
}

// Do renders the named step with data, sends it, reads at most MaxBody
// bytes of the answer, decodes it from the site charset, runs the step's
// extractions (merging them into the session's) and classifies it.
//
// The templates see data with Account set to the session's account and X
// set to the session's extractions overlaid with data.X. When the request
// was sent, Do returns a Result even on error; the error is then Result.Err.
// A nil Result means nothing was sent (unknown step, render error).
func (s *Session) Do(ctx context.Context, step string, data *profile.Data) (*Result, error) {
	p, err := s.Prepare(step, data)
	if err != nil {
		return nil, err
	}
	return s.Send(ctx, p)
}

// Prepared is a step rendered ahead of its sending: its templates were
// executed, its body encoded in the site's charset and its headers set, so
// that sending it only builds the HTTP request and writes it. It is sent
// once.
type Prepared struct {
	step *profile.Step
	req  *profile.Request
	r    *resty.Request
	// Generation is the session's login generation when it was rendered:
	// a prepared request of an older login carries the old login's values.
	Generation uint64
	sent       atomic.Bool
}

// ErrPreparedSent: a prepared step was given to Send a second time.
var ErrPreparedSent = errors.New("session: a prepared request is sent once")

// Prepare renders the named step with data for a later Send (see Do for
// what the templates see). The extractions and cookies it uses are those
// of the moment it is called.
func (s *Session) Prepare(step string, data *profile.Data) (*Prepared, error) {
	st := s.prof.Step(step)
	if st == nil {
		return nil, fmt.Errorf("%w: %q", profile.ErrUnknownStep, step)
	}
	gen := s.Generation()
	d := s.renderData(data)
	if st.UsesCookies {
		d.Cookies = s.cookies()
	}
	req, err := s.prof.Render(st, d)
	if err != nil {
		return nil, err
	}
	r := s.client.R()
	for k, v := range req.Header {
		r.SetHeaderMultiValues(map[string][]string{k: v})
	}
	if req.Body != nil {
		r.SetHeader("Content-Type", req.ContentType).SetBody(req.Body)
	}
	return &Prepared{step: st, req: req, r: r, Generation: gen}, nil
}

// Send sends a prepared step and reads, decodes, extracts and classifies
// its answer as Do does.
func (s *Session) Send(ctx context.Context, p *Prepared) (*Result, error) {
	if p.sent.Swap(true) {
		return nil, ErrPreparedSent
	}
	st, req := p.step, p.req
	res := &Result{Step: st.Name, Method: req.Method, Path: req.Path}

	ctx, cancel := context.WithTimeout(ctx, s.prof.Timeout)
	defer cancel()
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				wrote.Store(true)
			}
		},
	}
	ctx = httptrace.WithClientTrace(context.WithValue(ctx, followKey{}, st.FollowRedirects), trace)
	r := p.r.SetContext(ctx)
	res.SentAt = s.clock.Now()
	resp, err := r.Execute(req.Method, req.URL)
	var raw *http.Response
	if resp != nil {
		raw = resp.RawResponse
	}
	if err != nil || raw == nil {
		if raw != nil && raw.Body != nil {
			raw.Body.Close()
		}
		res.Latency = s.clock.Now().Sub(res.SentAt)
		res.Err = cmp.Or(err, errors.New("session: no response"))
		res.Ambiguous = wrote.Load()
		res.Class = profile.ClassUnknown
		return res, res.Err
	}
	body, truncated, readErr := readBounded(raw, s.maxBody)
	res.Latency = s.clock.Now().Sub(res.SentAt)
	res.Status = raw.StatusCode
	res.Location = raw.Header.Get("Location")
	res.Truncated = truncated
	if t, err := http.ParseTime(raw.Header.Get("Date")); err == nil {
		res.SiteDate = t
	}
	text := decode(s.prof.StepEncoding(st), body)
	presp := req.Response(raw.StatusCode, res.Location, raw.Header, text)
	out := profile.Evaluate(st, presp)
	res.Class, res.Reservation = out.Class, out.Reservation
	if len(st.Extract) > 0 {
		res.Extracted = make(map[string]string, len(st.Extract))
		st.ExtractInto(presp, res.Extracted)
		if len(res.Extracted) > 0 {
			s.xMu.Lock()
			maps.Copy(s.x, res.Extracted)
			s.xMu.Unlock()
		}
	}
	secrets := req.Secrets
	for k, v := range res.Extracted {
		if profile.Sensitive(k) {
			secrets = append(secrets, v)
		}
	}
	res.Excerpt = excerptWith(st.Message(presp), text, secretForms(s.prof, secrets))
	if readErr != nil {
		res.Err = readErr
	}
	res.Ambiguous = raw.StatusCode >= 500 || (readErr != nil && wrote.Load())
	return res, res.Err
}

func (s *Session) renderData(data *profile.Data) *profile.Data {
	var d profile.Data
	if data != nil {
		d = *data
	}
	d.Account = s.account()
	s.xMu.RLock()
	x := make(map[string]string, len(s.x)+len(d.X))
	maps.Copy(x, s.x)
	s.xMu.RUnlock()
	maps.Copy(x, d.X)
	d.X = x
	if d.Now.IsZero() {
		d.Now = s.clock.Now()
	}
	d.Now = d.Now.In(s.prof.Location)
	return &d
}

// readBounded reads at most max bytes of the body. A longer body is cut:
// up to maxDiscardOnTail more bytes are drained so the connection can be
// reused, and beyond that the connection is simply closed, so a huge page
// never costs more than max bytes of memory.
func readBounded(resp *http.Response, max int64) ([]byte, bool, error) {
	defer resp.Body.Close()
	size := int64(32 << 10) // grown as needed when the length is unknown
	if resp.ContentLength >= 0 {
		size = min(resp.ContentLength, max)
	}
	buf := bytes.NewBuffer(make([]byte, 0, size+bytes.MinRead))
	_, err := buf.ReadFrom(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return buf.Bytes(), false, fmt.Errorf("session: reading the answer: %w", err)
	}
	if int64(buf.Len()) <= max {
		return buf.Bytes(), false, nil
	}
	_, _ = io.CopyN(io.Discard, resp.Body, maxDiscardOnTail)
	return buf.Bytes()[:max], true, nil
}

// cookies returns the cookies the jar would send to the base URL, by name.
func (s *Session) cookies() map[string]string {
	u, err := url.Parse(s.prof.BaseURL + "/")
	if err != nil {
		return map[string]string{}
	}
	cs := s.jar.Cookies(u)
	out := make(map[string]string, len(cs))
	for _, c := range cs {
		out[c.Name] = c.Value
	}
	return out
}

// decode turns a body in enc (nil: UTF-8) into text.
func decode(enc encoding.Encoding, b []byte) string {
	if enc == nil {
		return string(b)
	}
	out, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		return string(bytes.ToValidUTF8(b, []byte("\uFFFD")))
	}
	return string(out)
}
