package sitesim

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Public paths of the simulated site.
const (
	PathLogin     = "/login.do"
	PathLoginProc = "/loginProc.do"
	PathMain      = "/main.do"
	PathLogout    = "/logout.do"
	PathForm      = "/rent/form.do"
	PathApply     = "/rent/apply.do"
	PathRentList  = "/mypage/rentList.do"
	PathLedger    = "/_sim/ledger"
	PathReset     = "/_sim/reset"
	// PathOpenAt moves the opening (POST, form field at: RFC 3339 on the
	// sim clock; empty: always open), so that one simulator can serve
	// openings one after another.
	PathOpenAt = "/_sim/open-at"
	// PathReserve pre-takes a slot as Site.Reserve does (POST, form fields
	// account, facility, date YYYY-MM-DD and slot), for a process that
	// cannot call Site.Reserve: 200 {"number": "..."}, or 400 (bad
	// fields, unknown account, no such slot) / 409 (taken) with the error
	// text.
	PathReserve = "/_sim/reserve"
)

// SessionCookie is the name of the session cookie.
const SessionCookie = "JSESSIONID"

const maxFormBytes = 64 << 10

// response is what a route decided; it is written after the latency.
type response struct {
	status     int
	location   string // redirect target (302)
	retryAfter time.Duration
	cookie     *http.Cookie
	tmpl       string
	data       pageData
	reset      bool // hijack and reset the connection instead of answering
}

func redirect(to string) response { return response{status: http.StatusFound, location: to} }

func message(title, msg, back string) response {
	return response{status: http.StatusOK, tmpl: "message", data: pageData{Title: title, Message: msg, Back: back}}
}

func faultResponse(f fault) response {
	if f == fault503 {
		r := message("오류", MsgUnavailable, PathMain)
		r.status = http.StatusServiceUnavailable
		return r
	}
	r := message("오류", MsgServerError, PathMain)
	r.status = http.StatusInternalServerError
	return r
}

func (s *Site) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		w.Header().Set("Date", httpDate(s.Now()))
		http.Error(w, "closing", http.StatusServiceUnavailable)
		return
	}
	defer s.leave()
	if s.requests != nil {
		s.requests.add(r, s.Now())
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/_sim/"):
		s.serveSim(w, r)
	case s.cart != nil:
		s.serveCart(w, r)
	default:
		s.servePublic(w, r)
	}
}

// servePublic answers a page of the "real" site. Half of the injected
// latency is spent before the request is handled and half after, like a
// symmetric network path, so RTT/2 is a fair one-way estimate for clients.
func (s *Site) servePublic(w http.ResponseWriter, r *http.Request) {
	lat := s.faults.latency()
	if !s.pause(r.Context(), lat/2) {
		return
	}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	}
	parseErr := r.ParseForm()
	now := s.Now() // the instant the handler has the parsed request
	resp := s.route(r, now, clientIP(r), parseErr)
	if !s.pause(r.Context(), lat-lat/2) {
		return
	}
	s.write(w, resp, now)
}

func (s *Site) route(r *http.Request, now time.Time, ip string, parseErr error) response {
	submit := r.URL.Path == PathApply
	if wait := s.blocker.admit(ip, now); wait > 0 {
		if submit {
			sub, _, _ := s.newSubmit(r, now, ip)
			sub.Result = ResultBlocked
			s.book.record(sub)
		}
		return blockedResponse(wait)
	}
	if submit {
		return s.apply(r, now, ip, parseErr)
	}
	if f := s.faults.decide(false); f != faultNone {
		return faultResponse(f)
	}
	switch r.URL.Path {
	case "/", "/index.do":
		return redirect(PathMain)
	case PathLogin:
		return response{status: http.StatusOK, tmpl: "login", data: pageData{Title: "로그인"}}
	case PathLoginProc:
		return s.login(r, now)
	case PathMain:
		sess := s.session(r, now)
		if sess == nil {
			return redirect(PathLogin)
		}
		return response{status: http.StatusOK, tmpl: "main", data: pageData{Title: "메인", Data: s.mainPage(sess.account, now)}}
	case PathLogout:
		if sess := s.session(r, now); sess != nil {
			s.sessions.logout(sess)
		}
		return redirect(PathLogin)
	case PathForm:
		return s.form(r, now)
	case PathRentList:
		sess := s.session(r, now)
		if sess == nil {
			return redirect(PathLogin)
		}
		return response{status: http.StatusOK, tmpl: "list", data: pageData{Title: "나의 예약 현황", Data: s.book.byAccount(sess.account)}}
	}
	r404 := message("오류", MsgNotFound, PathMain)
	r404.status = http.StatusNotFound
	return r404
}

func (s *Site) login(r *http.Request, now time.Time) response {
	if r.Method != http.MethodPost {
		return redirect(PathLogin)
	}
	id := s.value(r, "userId")
	pw := s.value(r, "userPw")
	okPw := subtle.ConstantTimeCompare([]byte(pw), []byte(s.opts.Password)) == 1
	if !s.names.valid(id) || !okPw {
		return message("로그인", MsgLoginFailed, PathLogin)
	}
	sess := s.sessions.login(id, now)
	resp := redirect(PathMain)
	resp.cookie = &http.Cookie{Name: SessionCookie, Value: sess.id, Path: "/", HttpOnly: true}
	return resp
}

func (s *Site) form(r *http.Request, now time.Time) response {
	sess := s.session(r, now)
	if sess == nil {
		return redirect(PathLogin)
	}
	k, ok := s.parseSlot(r)
	if !ok {
		return message("시설 예약", MsgBadRequest, PathMain)
	}
	status := statusAvailable
	if _, taken := s.book.holder(k); taken {
		status = statusClosed
	}
	return response{status: http.StatusOK, tmpl: "form", data: pageData{Title: "시설 예약 신청", Data: formData{
		Facility:  k.facility,
		Date:      k.isoDate(),
		UseDate:   strconv.Itoa(k.date),
		Slot:      k.slot,
		TimeLabel: timeLabel(k.slot),
		Status:    status,
		Token:     sess.visit(k),
	}}}
}

// apply handles one submit. The checks run in the order of the legacy site:
// IP block (in route), session, opening gate, page trace and token, slot.
// Injected faults are decided first: a 5xx or an unapplied reset never
// touches the state; an applied reset is processed in full, then the
// connection is reset.
func (s *Site) apply(r *http.Request, now time.Time, ip string, parseErr error) response {
	sub, k, slotOK := s.newSubmit(r, now, ip)
	if parseErr != nil {
		slotOK = false
	}
	sess := s.session(r, now)
	if sess != nil {
		sub.Account = sess.account
		if slotOK {
			holder, held := s.book.holder(k)
			sub.Repeat = held && holder == sess.account
		}
	}
	var resp response
	switch f := s.faults.decide(true); f {
	case fault500, fault503:
		sub.Result, resp = ResultError5xx, faultResponse(f)
	case faultResetNotApplied:
		sub.Result, resp = ResultResetNotApplied, response{reset: true}
	case faultResetApplied:
		sub.Outcome, sub.Reservation, _ = s.process(r, sess, k, slotOK, now)
		sub.Result, resp = ResultResetApplied, response{reset: true}
	default:
		sub.Result, sub.Reservation, resp = s.process(r, sess, k, slotOK, now)
	}
	// A concurrent submit of the same account may have won between the
	// holder check and the claim: that one is a repeat too.
	sub.Repeat = sub.Repeat || sub.Result == ResultAlreadyMine || sub.Outcome == ResultAlreadyMine
	s.book.record(sub)
	return resp
}

func (s *Site) process(r *http.Request, sess *session, k slotKey, slotOK bool, now time.Time) (Result, string, response) {
	const title = "예약 신청"
	back := PathMain
	if sess == nil {
		return ResultNoSession, "", redirect(PathLogin)
	}
	if !slotOK {
		return ResultBadRequest, "", message(title, MsgBadRequest, back)
	}
	traced, tokenOK := sess.useToken(k, s.value(r, "rentToken"), s.opts.TokenReuse)
	if open := s.OpenAt(); !open.IsZero() && now.Before(open.Add(s.opts.OpenLag)) {
		return ResultNotOpen, "", message(title, MsgNotOpen, back)
	}
	if !traced || !tokenOK {
		return ResultBadPath, "", message(title, MsgBadPath, back)
	}
	name := strings.TrimSpace(s.value(r, "userName"))
	tel := strings.TrimSpace(s.value(r, "userTel"))
	people, err := strconv.Atoi(strings.TrimSpace(s.value(r, "people")))
	if name == "" || tel == "" || err != nil || people < 1 || people > 99 {
		return ResultBadRequest, "", message(title, MsgMissingField, back)
	}
	rsv, res := s.book.claim(k, Reservation{Account: sess.account, UserName: name, UserTel: tel, People: people, At: now}, true)
	switch res {
	case ResultSuccess:
		resp := message(title, MsgSuccess, PathRentList)
		resp.data.Data = rsv.Number
		return res, rsv.Number, resp
	case ResultLimit:
		return res, "", message(title, MsgLimitReached, back)
	case ResultAlreadyMine:
		if s.opts.Strict {
			// Exactly the answer of a slot taken by someone else.
			return res, "", message(title, MsgTaken, back)
		}
		return res, "", message(title, MsgAlreadyMine, back)
	default:
		return res, "", message(title, MsgTaken, back)
	}
}

// newSubmit starts the ledger entry of a submit from whatever the form
// holds; ok reports whether it names a valid slot.
func (s *Site) newSubmit(r *http.Request, now time.Time, ip string) (Submit, slotKey, bool) {
	sub := Submit{At: now, IP: ip}
	if open := s.OpenAt(); !open.IsZero() {
		sub.OffsetMS = float64(now.Sub(open)) / float64(time.Millisecond)
	}
	sub.Facility, _ = strconv.Atoi(s.value(r, "facilityNo"))
	sub.Slot, _ = strconv.Atoi(s.value(r, "timeNo"))
	raw := s.value(r, "useDate")
	sub.Date = raw
	k, ok := s.parseSlot(r)
	if ok {
		sub.Date = k.isoDate()
	}
	return sub, k, ok
}

// parseSlot reads facilityNo, useDate (YYYYMMDD) and timeNo.
func (s *Site) parseSlot(r *http.Request) (slotKey, bool) {
	facility, err1 := strconv.Atoi(s.value(r, "facilityNo"))
	slot, err2 := strconv.Atoi(s.value(r, "timeNo"))
	raw := s.value(r, "useDate")
	d, err3 := time.Parse("20060102", raw)
	if err1 != nil || err2 != nil || err3 != nil || d.Format("20060102") != raw {
		return slotKey{}, false
	}
	return s.slotKey(facility, d, slot)
}

// value returns a form value decoded from the site's charset.
func (s *Site) value(r *http.Request, key string) string {
	return decodeValue(s.opts.Charset, r.Form.Get(key))
}

func (s *Site) session(r *http.Request, now time.Time) *session {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return nil
	}
	return s.sessions.get(c.Value, now)
}

func blockedResponse(wait time.Duration) response {
	minutes := int(math.Ceil(wait.Minutes()))
	return response{
		status:     http.StatusForbidden,
		retryAfter: wait,
		tmpl:       "blocked",
		data:       pageData{Title: "접근 차단", Data: max(minutes, 1)},
	}
}

// write sends resp with the Date header of the instant it was decided.
func (s *Site) write(w http.ResponseWriter, resp response, now time.Time) {
	h := w.Header()
	h.Set("Date", httpDate(now))
	if resp.reset {
		resetConn(w)
		return
	}
	if resp.cookie != nil {
		http.SetCookie(w, resp.cookie)
	}
	if resp.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(resp.retryAfter.Seconds()))))
	}
	h.Set("Cache-Control", "no-cache, no-store")
	if resp.location != "" {
		h.Set("Location", resp.location)
		w.WriteHeader(resp.status)
		return
	}
	body, err := render(s.opts.Charset, resp.tmpl, resp.data)
	if err != nil {
		http.Error(w, "template error", http.StatusInternalServerError)
		return
	}
	h.Set("Content-Type", "text/html; charset="+charsetLabel(s.opts.Charset))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.status)
	_, _ = w.Write(body)
}

// resetConn drops the connection without an answer: SO_LINGER 0 makes the
// close send an RST, so the client sees "connection reset by peer" after
// its request was fully read.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // closes the connection without a response
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// pause sleeps d unless the request is cancelled or the site stops; it
// reports whether the request should still be answered.
func (s *Site) pause(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.stopCh:
		return false
	}
}

// serveSim answers the ground-truth routes; they are never blocked, delayed
// or faulted.
func (s *Site) serveSim(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Date", httpDate(s.Now()))
	switch r.URL.Path {
	case PathLedger:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(s.Ledger())
	case PathReset:
		if r.Method != http.MethodPost {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		s.Reset()
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write([]byte("{\"ok\":true}\n"))
	case PathOpenAt:
		if r.Method != http.MethodPost {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		var at time.Time
		if v := r.FormValue("at"); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				http.Error(w, "at: expected an RFC 3339 instant on the sim clock, or empty for always open: "+err.Error(), http.StatusBadRequest)
				return
			}
			at = t
		}
		if s.cart != nil && !at.IsZero() {
			http.Error(w, "open at does not apply to the cart flavor", http.StatusBadRequest)
			return
		}
		s.SetOpenAt(at)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(map[string]time.Time{"open_at": s.OpenAt()})
	case PathReserve:
		s.serveReserve(w, r)
	default:
		http.NotFound(w, r)
	}
}

// serveReserve answers POST /_sim/reserve: Site.Reserve over HTTP.
func (s *Site) serveReserve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed: POST a form with account, facility, date (YYYY-MM-DD) and slot", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "reserve: unreadable form: "+err.Error(), http.StatusBadRequest)
		return
	}
	var problems []string
	number := func(field string) int {
		v := strings.TrimSpace(r.PostForm.Get(field))
		n, err := strconv.Atoi(v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: expected a whole number, got %q", field, v))
		}
		return n
	}
	account := strings.TrimSpace(r.PostForm.Get("account"))
	if account == "" {
		problems = append(problems, "account: required, e.g. user001")
	}
	facility := number("facility")
	date := strings.TrimSpace(r.PostForm.Get("date"))
	if date == "" {
		problems = append(problems, "date: required, YYYY-MM-DD")
	}
	slot := number("slot")
	if len(problems) > 0 {
		http.Error(w, "reserve: "+strings.Join(problems, "; "), http.StatusBadRequest)
		return
	}
	n, err := s.Reserve(account, facility, date, slot)
	switch {
	case errors.Is(err, ErrSlotTaken):
		http.Error(w, err.Error(), http.StatusConflict)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]string{"number": n})
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func httpDate(t time.Time) string { return t.UTC().Format(http.TimeFormat) }
