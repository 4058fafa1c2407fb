package session_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/korean"

	"reserver/internal/profile"
	"reserver/internal/session"
)

// siteState is the little state both fake sites share: sessions, one
// single-use token per session, and the booked slots.
type siteState struct {
	mu       sync.Mutex
	open     bool
	sessions map[string]string // session id → user
	tokens   map[string]string // session id → current token
	booked   map[string]string // slot → user
	seq      int
	received []map[string]string // decoded submits, for assertions
}

func newSiteState() *siteState {
	return &siteState{sessions: map[string]string{}, tokens: map[string]string{}, booked: map[string]string{}}
}

func (s *siteState) user(r *http.Request, cookie string) (sid, user string) {
	c, err := r.Cookie(cookie)
	if err != nil {
		return "", ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return c.Value, s.sessions[c.Value]
}

func (s *siteState) login(w http.ResponseWriter, cookie, user string) {
	s.mu.Lock()
	s.seq++
	sid := fmt.Sprintf("S%d", s.seq)
	s.sessions[sid] = user
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: cookie, Value: sid, Path: "/"})
}

func (s *siteState) newToken(sid string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	t := fmt.Sprintf("tok-%d-%d", s.seq, time.Now().UnixNano()%1000)
	s.tokens[sid] = t
	return t
}

// useToken consumes the session's token and reports whether it matched.
func (s *siteState) useToken(sid, got string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	want, ok := s.tokens[sid]
	delete(s.tokens, sid)
	return ok && want == got
}

// book returns "", "mine" or "taken" and the reservation number.
func (s *siteState) book(slot, user, prefix string) (string, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if holder, ok := s.booked[slot]; ok {
		if holder == user {
			return "mine", ""
		}
		return "taken", ""
	}
	s.booked[slot] = user
	s.seq++
	return "", fmt.Sprintf("%s-%d", prefix, s.seq)
}

func (s *siteState) setOpen(v bool) { s.mu.Lock(); s.open = v; s.mu.Unlock() }
func (s *siteState) isOpen() bool   { s.mu.Lock(); defer s.mu.Unlock(); return s.open }
func (s *siteState) kick()          { s.mu.Lock(); clear(s.sessions); s.mu.Unlock() }
func (s *siteState) record(m map[string]string) {
	s.mu.Lock()
	s.received = append(s.received, m)
	s.mu.Unlock()
}

// newJSAPISite hides the CSRF token in inline JavaScript, takes a JSON
// document in a form field and always answers 200 JSON.
func newJSAPISite(t *testing.T) (*httptest.Server, *siteState) {
	st := newSiteState()
	mux := http.NewServeMux()
	js := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	fail := func(w http.ResponseWriter, msg string) { js(w, map[string]string{"result": "FAIL", "msg": msg}) }
	mux.HandleFunc("POST /auth", func(w http.ResponseWriter, r *http.Request) {
		if r.PostFormValue("pass") != "s3cret!" {
			fail(w, "BAD_CREDENTIALS")
			return
		}
		st.login(w, "sid", r.PostFormValue("user"))
		js(w, map[string]string{"result": "OK"})
	})
	mux.HandleFunc("GET /book", func(w http.ResponseWriter, r *http.Request) {
		sid, user := st.user(r, "sid")
		if user == "" {
			fail(w, "LOGIN_REQUIRED")
			return
		}
		fmt.Fprintf(w, "<html><head><script>\nvar csrf = %q;\nvar court = %q;\n</script></head><body>Court booking</body></html>",
			st.newToken(sid), r.URL.Query().Get("court"))
	})
	mux.HandleFunc("POST /api/reserve", func(w http.ResponseWriter, r *http.Request) {
		sid, user := st.user(r, "sid")
		if user == "" {
			fail(w, "LOGIN_REQUIRED")
			return
		}
		if !st.useToken(sid, r.PostFormValue("csrf_token")) {
			fail(w, "CSRF_MISMATCH")
			return
		}
		var p map[string]string
		if err := json.Unmarshal([]byte(r.PostFormValue("payload")), &p); err != nil {
			fail(w, "BAD_JSON")
			return
		}
		st.record(p)
		if !st.isOpen() {
			fail(w, "NOT_OPEN")
			return
		}
		switch res, no := st.book(p["court"]+"|"+p["date"]+"|"+p["time"], user, "J"); res {
		case "mine":
			fail(w, "DUPLICATE")
		case "taken":
			fail(w, "SOLD_OUT")
		default:
			js(w, map[string]string{"result": "OK", "rsvNo": no})
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, st
}

// newLegacySite speaks EUC-KR, shows a 200 login page when the session is
// gone and redirects after login.
func newLegacySite(t *testing.T) (*httptest.Server, *siteState) {
	st := newSiteState()
	enc := korean.EUCKR.NewEncoder()
	page := func(w http.ResponseWriter, body string) {
		b, err := enc.String("<html><head><meta charset=\"euc-kr\"></head><body>" + body + "</body></html>")
		if err != nil {
			panic(err)
		}
		w.Header().Set("Content-Type", "text/html; charset=euc-kr")
		_, _ = w.Write([]byte(b))
	}
	loginPage := func(w http.ResponseWriter, msg string) {
		page(w, `<p>`+msg+`</p><form id="loginForm" method="post" action="/member/login"><input name="mb_id"></form>`)
	}
	dec := func(s string) string {
		out, err := korean.EUCKR.NewDecoder().String(s)
		if err != nil {
			return "!" + s
		}
		return out
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /member/login", func(w http.ResponseWriter, r *http.Request) {
		if r.PostFormValue("mb_password") != "비번1234" && dec(r.PostFormValue("mb_password")) != "비번1234" {
			loginPage(w, "비밀번호가 틀렸습니다")
			return
		}
		st.login(w, "PHPSESSID", r.PostFormValue("mb_id"))
		http.Redirect(w, r, "/member/home", http.StatusFound)
	})
	mux.HandleFunc("GET /member/home", func(w http.ResponseWriter, r *http.Request) {
		if _, user := st.user(r, "PHPSESSID"); user == "" {
			loginPage(w, "로그인이 필요합니다")
			return
		}
		page(w, `<div id="welcome"><b>홍길동</b>님 환영합니다</div><a href="/logout">로그아웃</a>`)
	})
	mux.HandleFunc("GET /reserve/step1", func(w http.ResponseWriter, r *http.Request) {
		sid, user := st.user(r, "PHPSESSID")
		if user == "" {
			loginPage(w, "로그인이 필요합니다")
			return
		}
		page(w, `<form id="other"><input id="tkn" value="decoy"></form><form id="rsv"><input type="hidden" id="tkn" name="tkn" value="`+
			st.newToken(sid)+`"></form><a href="/logout">로그아웃</a>`)
	})
	mux.HandleFunc("POST /reserve/step2", func(w http.ResponseWriter, r *http.Request) {
		sid, user := st.user(r, "PHPSESSID")
		if user == "" {
			loginPage(w, "로그인이 필요합니다")
			return
		}
		if !st.useToken(sid, r.PostFormValue("tkn")) {
			page(w, `<div class="result fail">토큰이 만료되었습니다</div>`)
			return
		}
		st.record(map[string]string{"nm": dec(r.PostFormValue("nm")), "hp": r.PostFormValue("hp"), "who": dec(r.PostFormValue("who"))})
		if !st.isOpen() {
			page(w, `<div class="result fail">접수 기간이 아닙니다</div>`)
			return
		}
		switch res, no := st.book(r.PostFormValue("cno")+"|"+r.PostFormValue("ymd"), user, "L"); res {
		case "":
			page(w, `<div class="result ok">예약번호 <span class="rsv">`+no+`</span></div>`)
		default:
			page(w, `<div class="result fail">이미 마감되었습니다</div>`)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, st
}

func loadTestProfile(t *testing.T, file, baseURL string) *profile.Profile {
	t.Helper()
	p, err := profile.Load("testdata/" + file)
	require.NoError(t, err)
	p, err = p.WithBaseURL(baseURL)
	require.NoError(t, err)
	return p
}

func newSession(t *testing.T, p *profile.Profile, user, pw string) *session.Session {
	t.Helper()
	s, err := session.New(session.Config{Profile: p, Transport: newTransport(t),
		Account: profile.AccountData{Username: user, Password: pw}})
	require.NoError(t, err)
	return s
}

func TestJSAPISite(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv, st := newJSAPISite(t)
	p := loadTestProfile(t, "jsapi.yaml", srv.URL)
	d := booking(p, "3", "09:00", `홍 "JJ" 길동`)
	d.Booking.Fields = map[string]string{"pin": "4321"}
	require.Empty(t, p.ValidateFields(d.Booking.Fields))

	bad := newSession(t, p, "alice", "nope")
	_, lr, err := bad.Login(ctx, 0)
	require.ErrorIs(t, err, session.ErrLoginFailed)
	require.Equal(t, profile.ClassFatal, lr.Class)

	s := newSession(t, p, "alice", "s3cret!")
	_, _, err = s.Login(ctx, 0)
	require.NoError(t, err)

	res := attempt(ctx, t, s, d)
	require.Equal(t, profile.ClassNotOpen, res.Class, res.Excerpt)
	require.Equal(t, 200, res.Status)
	require.Len(t, st.received, 1)
	require.Equal(t, map[string]string{"court": "3", "date": "2026-12-01", "time": "09:00",
		"name": `홍 "JJ" 길동`, "memo": "", "pin": "4321"}, st.received[0], "the JSON document arrives intact")

	st.setOpen(true)
	res = attempt(ctx, t, s, d)
	require.Equal(t, profile.ClassSuccess, res.Class, res.Excerpt)
	require.Regexp(t, `^J-\d+$`, res.Reservation)

	// The token was consumed by the submit.
	res, err = s.Do(ctx, profile.StepSubmit, d)
	require.NoError(t, err)
	require.Equal(t, profile.ClassRetry, res.Class)

	res = attempt(ctx, t, s, d)
	require.Equal(t, profile.ClassAlreadyMine, res.Class)

	bob := newSession(t, p, "bob", "s3cret!")
	_, _, err = bob.Login(ctx, 0)
	require.NoError(t, err)
	res = attempt(ctx, t, bob, d)
	require.Equal(t, profile.ClassSoldOut, res.Class)

	st.kick()
	tr, err := s.Do(ctx, profile.StepTrace, d)
	require.NoError(t, err)
	require.Equal(t, profile.ClassSessionExpired, tr.Class)
	res, err = s.Do(ctx, profile.StepSubmit, d)
	require.NoError(t, err)
	require.Equal(t, profile.ClassSessionExpired, res.Class)
}

func TestLegacySite(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv, st := newLegacySite(t)
	p := loadTestProfile(t, "legacy.yaml", srv.URL)
	d := booking(p, "2", "07:00", "김철수")

	bad := newSession(t, p, "kim", "wrong")
	_, lr, err := bad.Login(ctx, 0)
	require.ErrorIs(t, err, session.ErrLoginFailed)
	require.Equal(t, profile.ClassFatal, lr.Class)
	require.Contains(t, lr.Excerpt, "비밀번호가 틀렸습니다")

	s := newSession(t, p, "kim", "비번1234")
	_, lres, err := s.Login(ctx, 0)
	require.NoError(t, err)
	require.Equal(t, 200, lres.Status, "the login redirect was followed")
	require.Equal(t, "홍길동", lres.Extracted["member"])

	res := attempt(ctx, t, s, d)
	require.Equal(t, profile.ClassNotOpen, res.Class, res.Excerpt)
	require.Equal(t, map[string]string{"nm": "김철수", "hp": "01012345678", "who": "홍길동"}, st.received[0])

	st.setOpen(true)
	res = attempt(ctx, t, s, d)
	require.Equal(t, profile.ClassSuccess, res.Class, res.Excerpt)
	require.Regexp(t, `^L-\d+$`, res.Reservation)

	res, err = s.Do(ctx, profile.StepSubmit, d)
	require.NoError(t, err)
	require.Equal(t, profile.ClassRetry, res.Class, res.Excerpt)

	lee := newSession(t, p, "lee", "비번1234")
	_, _, err = lee.Login(ctx, 0)
	require.NoError(t, err)
	res = attempt(ctx, t, lee, d)
	require.Equal(t, profile.ClassSoldOut, res.Class, res.Excerpt)

	// Expiry is a 200 login page, not a redirect.
	st.kick()
	tr, err := s.Do(ctx, profile.StepTrace, d)
	require.NoError(t, err)
	require.Equal(t, 200, tr.Status)
	require.Equal(t, profile.ClassSessionExpired, tr.Class)
	res, err = s.Do(ctx, profile.StepSubmit, d)
	require.NoError(t, err)
	require.Equal(t, profile.ClassSessionExpired, res.Class)
}
