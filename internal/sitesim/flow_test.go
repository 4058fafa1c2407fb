package sitesim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFlowBooksAndLedgers(t *testing.T) {
	t.Parallel()
	srv := startSite(t, Options{})
	c := newClient(t, srv)

	r := c.get(PathLogin)
	require.Equal(t, http.StatusOK, r.status)
	require.Contains(t, r.body, `name="userId"`)
	require.Contains(t, r.body, `name="userPw"`)
	require.Contains(t, r.body, `action="/loginProc.do"`)

	r = c.login("user007", PasswordDefault)
	require.Equal(t, http.StatusFound, r.status)
	require.Equal(t, PathMain, r.header.Get("Location"))
	setCookie := r.header.Get("Set-Cookie")
	require.Contains(t, setCookie, SessionCookie+"=")
	require.Contains(t, setCookie, "Path=/")
	require.Contains(t, setCookie, "HttpOnly")

	r = c.get(PathMain)
	require.Equal(t, http.StatusOK, r.status)
	require.Contains(t, r.body, "user007님")

	tok := c.visit(3, testUseDate, 5)
	require.Len(t, tok, 32)
	before := srv.Now()
	r = c.submit(3, testUseDate, 5, tok)
	require.Equal(t, http.StatusOK, r.status)
	require.Contains(t, r.body, MsgSuccess)
	m := numberRE.FindStringSubmatch(r.body)
	require.NotNil(t, m, r.body)
	number := m[1]
	require.True(t, strings.HasPrefix(number, "R"+testUseDate+"-"), number)

	r = c.get(PathRentList)
	require.Equal(t, http.StatusOK, r.status)
	require.Contains(t, r.body, number)
	require.Contains(t, r.body, testISODate)

	l := srv.Ledger()
	require.True(t, l.OpenAt.IsZero())
	require.Len(t, l.Reservations, 1)
	rsv := l.Reservations[0]
	require.Equal(t, Reservation{
		Number: number, Account: "user007", Facility: 3, Date: testISODate, Slot: 5,
		UserName: "홍길동", UserTel: "010-1234-5678", People: 2, At: rsv.At,
	}, rsv)
	require.WithinDuration(t, before, rsv.At, 2*time.Second)
	require.Len(t, l.Submits, 1)
	sub := l.Submits[0]
	require.Equal(t, Submit{
		Account: "user007", Facility: 3, Date: testISODate, Slot: 5, At: rsv.At,
		OffsetMS: 0, Result: ResultSuccess, IP: "127.0.0.1", Reservation: number,
	}, sub)
}

func TestLoginRejects(t *testing.T) {
	t.Parallel()
	srv := startSite(t, Options{Accounts: 20})
	tests := []struct {
		name, user, password string
	}{
		{"wrong password", "user001", "pass12345"},
		{"empty password", "user001", ""},
		{"unknown user", "admin", PasswordDefault},
		{"beyond the last account", "user021", PasswordDefault},
		{"user zero", "user000", PasswordDefault},
		{"unpadded", "user1", PasswordDefault},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newClient(t, srv)
			r := c.login(tt.user, tt.password)
			require.Equal(t, http.StatusOK, r.status)
			require.Contains(t, r.body, MsgLoginFailed)
			require.Empty(t, r.header.Values("Set-Cookie"))
			if tt.password != "" {
				require.NotContains(t, r.body, tt.password, "the password must not be echoed")
			}
		})
	}
	c := newClient(t, srv)
	c.mustLogin("user020")
}

func TestNotLoggedInRedirectsToLogin(t *testing.T) {
	t.Parallel()
	srv := startSite(t, Options{})
	c := newClient(t, srv)
	tests := []struct {
		method, path string
		form         url.Values
	}{
		{http.MethodGet, PathMain, nil},
		{http.MethodGet, formPath(1, testUseDate, 1), nil},
		{http.MethodGet, PathRentList, nil},
		{http.MethodPost, PathApply, c.applyForm(1, testUseDate, 1, "deadbeef", "홍길동")},
	}
	for _, tt := range tests {
		r := c.do(tt.method, tt.path, tt.form)
		require.Equal(t, http.StatusFound, r.status, tt.path)
		require.Equal(t, PathLogin, r.header.Get("Location"), tt.path)
	}
	sub := lastSubmit(t, srv.Site)
	require.Equal(t, ResultNoSession, sub.Result)
	require.Empty(t, sub.Account)
	require.Equal(t, 1, sub.Facility)
}

func TestSecondLoginKicksFirst(t *testing.T) {
	t.Parallel()
	srv := startSite(t, Options{})
	first := newClient(t, srv)
	first.mustLogin("user001")
	tok := first.visit(1, testUseDate, 1)

	second := newClient(t, srv)
	second.mustLogin("user001")

	r := first.submit(1, testUseDate, 1, tok)
	require.Equal(t, http.StatusFound, r.status)
	require.Equal(t, PathLogin, r.header.Get("Location"))
	require.Equal(t, ResultNoSession, lastSubmit(t, srv.Site).Result)
	require.Equal(t, http.StatusFound, first.get(PathMain).status)

	r = second.book(1, testUseDate, 1)
	require.Contains(t, r.body, MsgSuccess)

	// KickSessions does the same as a newer login.
	srv.KickSessions("user001")
	r = second.get(PathMain)
	require.Equal(t, http.StatusFound, r.status)
	require.Equal(t, PathLogin, r.header.Get("Location"))

	// Another account's session is untouched.
	other := newClient(t, srv)
	other.mustLogin("user002")
	srv.KickSessions("user001")
	require.Equal(t, http.StatusOK, other.get(PathMain).status)
}

func TestSubmitRequiresTraceAndToken(t *testing.T) {
	t.Parallel()
	srv := startSite(t, Options{})
	a := newClient(t, srv)
	a.mustLogin("user001")
	b := newClient(t, srv)
	b.mustLogin("user002")

	otherSlot := a.visit(2, testUseDate, 2)
	foreign := b.visit(2, testUseDate, 3)
	tests := []struct {
		name  string
		slot  int
		token func() string
	}{
		{"no page visit", 1, func() string { return "0123456789abcdef0123456789abcdef" }},
		{"empty token", 3, func() string { a.visit(2, testUseDate, 3); return "" }},
		{"token of another slot", 3, func() string { a.visit(2, testUseDate, 3); return otherSlot }},
		{"token of another session", 3, func() string { a.visit(2, testUseDate, 3); return foreign }},
		{"superseded token", 4, func() string {
			old := a.visit(2, testUseDate, 4)
			a.visit(2, testUseDate, 4)
			return old
		}},
		{"used token", 5, func() string {
			tok := a.visit(2, testUseDate, 5)
			r := a.do(http.MethodPost, PathApply, url.Values{ // incomplete form: consumed anyway
				"facilityNo": {"2"}, "useDate": {testUseDate}, "timeNo": {"5"}, "rentToken": {tok},
			})
			require.Contains(t, r.body, MsgMissingField)
			return tok
		}},
	}
	for _, tt := range tests {
		r := a.submit(2, testUseDate, tt.slot, tt.token())
		require.Equal(t, http.StatusOK, r.status, tt.name)
		require.Contains(t, r.body, MsgBadPath, tt.name)
		require.Equal(t, ResultBadPath, lastSubmit(t, srv.Site).Result, tt.name)
	}
	require.Empty(t, srv.Ledger().Reservations)
}

func TestTokenIsSingleUse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		reuse      bool
		second     string
		secondWant Result
	}{
		{"consumed by default", false, MsgBadPath, ResultBadPath},
		{"reusable when relaxed", true, MsgAlreadyMine, ResultAlreadyMine},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startSite(t, Options{TokenReuse: tt.reuse})
			c := newClient(t, srv)
			c.mustLogin("user001")
			tok := c.visit(1, testUseDate, 1)
			require.Contains(t, c.submit(1, testUseDate, 1, tok).body, MsgSuccess)
			r := c.submit(1, testUseDate, 1, tok)
			require.Contains(t, r.body, tt.second)
			require.Equal(t, tt.secondWant, lastSubmit(t, srv.Site).Result)
		})
	}
}

func TestOpeningGate(t *testing.T) {
	t.Parallel()
	srv := startSite(t, Options{OpenAt: time.Now().Add(time.Hour)})
	c := newClient(t, srv)
	c.mustLogin("user001")

	tok := c.visit(1, testUseDate, 1)
	r := c.submit(1, testUseDate, 1, tok)
	require.Equal(t, http.StatusOK, r.status)
	require.Contains(t, r.body, MsgNotOpen)
	sub := lastSubmit(t, srv.Site)
	require.Equal(t, ResultNotOpen, sub.Result)
	require.InDelta(t, -time.Hour.Seconds()*1000, sub.OffsetMS, 5000)

	// Opening now: the token spent on the early attempt is gone.
	open := srv.Now().Add(-50 * time.Millisecond)
	srv.SetOpenAt(open)
	require.Contains(t, c.submit(1, testUseDate, 1, tok).body, MsgBadPath)

	r = c.book(1, testUseDate, 1)
	require.Contains(t, r.body, MsgSuccess)
	sub = lastSubmit(t, srv.Site)
	require.Equal(t, ResultSuccess, sub.Result)
	require.Greater(t, sub.OffsetMS, 50.0)
	require.InDelta(t, float64(sub.At.Sub(open))/1e6, sub.OffsetMS, 0.001)
	require.True(t, srv.Ledger().OpenAt.Equal(open))
}

func TestTakenAndAlreadyMine(t *testing.T) {
	t.Parallel()
	srv := startSite(t, Options{})
	num, err := srv.Reserve("user002", 1, testISODate, 1)
	require.NoError(t, err)
	require.NotEmpty(t, num)

	c := newClient(t, srv)
	c.mustLogin("user001")
	r := c.get(formPath(1, testUseDate, 1))
	require.Contains(t, r.body, statusClosed)
	require.Contains(t, c.book(1, testUseDate, 1).body, MsgTaken)
	require.Equal(t, ResultTaken, lastSubmit(t, srv.Site).Result)

	require.Contains(t, c.get(formPath(1, testUseDate, 2)).body, statusAvailable)
	require.Contains(t, c.book(1, testUseDate, 2).body, MsgSuccess)
	require.Contains(t, c.book(1, testUseDate, 2).body, MsgAlreadyMine)
	require.Equal(t, ResultAlreadyMine, lastSubmit(t, srv.Site).Result)

	// Another account racing for the same slot is told it is taken.
	d := newClient(t, srv)
	d.mustLogin("user003")
	require.Contains(t, d.book(1, testUseDate, 2).body, MsgTaken)
	require.Len(t, srv.Ledger().Reservations, 2)
}

func TestEUCKRRoundTrip(t *testing.T) {
	t.Parallel()
	srv := startSite(t, Options{Charset: "EUC-KR"})
	c := newClient(t, srv)

	r := c.get(PathLogin)
	require.Equal(t, "text/html; charset=EUC-KR", r.header.Get("Content-Type"))
	require.Contains(t, r.body, "로그인") // decoded from EUC-KR by the test client

	c.mustLogin("user001")
	tok := c.visit(1, testUseDate, 1)
	const name = "김철수"
	form := c.applyForm(1, testUseDate, 1, tok, name)
	require.NotContains(t, form.Encode(), url.QueryEscape(name), "the form must carry EUC-KR bytes, not UTF-8")
	r = c.do(http.MethodPost, PathApply, form)
	require.Contains(t, r.body, MsgSuccess)

	l := srv.Ledger()
	require.Len(t, l.Reservations, 1)
	require.Equal(t, name, l.Reservations[0].UserName)

	// A wrong password page is EUC-KR too.
	other := newClient(t, srv)
	require.Contains(t, other.login("user002", "nope").body, MsgLoginFailed)
}

func TestFormRejectsBadParams(t *testing.T) {
	t.Parallel()
	srv := startSite(t, Options{Facilities: 3, Slots: 4})
	c := newClient(t, srv)
	c.mustLogin("user001")
	tests := []struct {
		name  string
		query string
	}{
		{"facility zero", "facilityNo=0&useDate=20261125&timeNo=1"},
		{"facility too high", "facilityNo=4&useDate=20261125&timeNo=1"},
		{"slot too high", "facilityNo=1&useDate=20261125&timeNo=5"},
		{"slot missing", "facilityNo=1&useDate=20261125"},
		{"date with dashes", "facilityNo=1&useDate=2026-11-25&timeNo=1"},
		{"impossible date", "facilityNo=1&useDate=20260230&timeNo=1"},
		{"not a number", "facilityNo=one&useDate=20261125&timeNo=1"},
	}
	for _, tt := range tests {
		r := c.get(PathForm + "?" + tt.query)
		require.Equal(t, http.StatusOK, r.status, tt.name)
		require.Contains(t, r.body, MsgBadRequest, tt.name)
		require.NotContains(t, r.body, "rentToken", tt.name)
	}
	r := c.do(http.MethodPost, PathApply, c.applyForm(9, testUseDate, 1, "x", "홍길동"))
	require.Contains(t, r.body, MsgBadRequest)
	sub := lastSubmit(t, srv.Site)
	require.Equal(t, ResultBadRequest, sub.Result)
	require.Equal(t, 9, sub.Facility)
}

func TestDateHeaderFollowsSkew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		skew time.Duration
	}{
		{"ahead", 90 * time.Minute},
		{"behind", -47 * time.Second},
		{"none", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startSite(t, Options{Skew: tt.skew, BlockRPS: 4, BlockFor: time.Minute})
			c := newClient(t, srv)
			// A page, a redirect, a 404, then (over the rate) a 403.
			for _, path := range []string{PathLogin, PathMain, "/nope.do", PathLogin, PathLogin} {
				r := c.get(path)
				got, err := http.ParseTime(r.header.Get("Date"))
				require.NoError(t, err, path)
				require.WithinDuration(t, time.Now().Add(tt.skew), got, 2*time.Second, "%s (%d)", path, r.status)
			}
			require.Equal(t, http.StatusForbidden, c.get(PathLogin).status)
			got, err := http.ParseTime(c.get(PathLedger).header.Get("Date"))
			require.NoError(t, err)
			require.WithinDuration(t, time.Now().Add(tt.skew), got, 2*time.Second)
			require.WithinDuration(t, time.Now().Add(tt.skew), srv.Now(), time.Second)
		})
	}
}

func TestIPBlock(t *testing.T) {
	t.Parallel()
	srv := startSite(t, Options{BlockRPS: 3, BlockFor: 2 * time.Minute})
	c := newClient(t, srv)
	c.mustLogin("user001")
	tok := c.visit(1, testUseDate, 1)
	c.get(PathMain)

	r := c.submit(1, testUseDate, 1, tok) // the 4th request within a second
	require.Equal(t, http.StatusForbidden, r.status)
	require.Contains(t, r.body, MsgBlocked)
	require.Contains(t, r.body, "2분 후 다시 시도")
	require.Equal(t, "120", r.header.Get("Retry-After"))
	sub := lastSubmit(t, srv.Site)
	require.Equal(t, ResultBlocked, sub.Result)
	require.Equal(t, "127.0.0.1", sub.IP)
	require.Equal(t, 1, sub.Slot)
	require.Empty(t, srv.Ledger().Reservations)

	require.Equal(t, http.StatusForbidden, c.get(PathLogin).status)
	// Ground truth is never blocked.
	require.Equal(t, http.StatusOK, c.get(PathLedger).status)

	// Another loopback source address is another IP.
	other := newClientFrom(t, srv, "127.0.0.2")
	other.mustLogin("user002")
	require.Contains(t, other.book(1, testUseDate, 1).body, MsgSuccess)
	require.Equal(t, "127.0.0.2", lastSubmit(t, srv.Site).IP)
}

func TestRentListShowsOnlyOwnReservations(t *testing.T) {
	t.Parallel()
	srv := startSite(t, Options{})
	mine, err := srv.Reserve("user001", 4, testISODate, 7)
	require.NoError(t, err)
	theirs, err := srv.Reserve("user002", 4, testISODate, 8)
	require.NoError(t, err)

	c := newClient(t, srv)
	c.mustLogin("user001")
	r := c.get(PathRentList)
	require.Contains(t, r.body, mine)
	require.Contains(t, r.body, `data-facility="4"`)
	require.Contains(t, r.body, `data-slot="7"`)
	require.NotContains(t, r.body, theirs)
}

func TestSimEndpoints(t *testing.T) {
	t.Parallel()
	open := time.Date(2026, 10, 25, 10, 0, 0, 0, time.FixedZone("KST", 9*3600))
	srv := startSite(t, Options{OpenAt: open, BlockRPS: 1, BlockFor: time.Hour})
	srv.SetOpenAt(time.Time{})
	c := newClient(t, srv)
	c.mustLogin("user001")
	c.get(PathMain) // blocked from now on; /_sim/ must still answer

	_, err := srv.Reserve("user003", 2, testISODate, 2)
	require.NoError(t, err)

	r := c.get(PathLedger)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, "application/json; charset=utf-8", r.header.Get("Content-Type"))
	var raw map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.body), &raw))
	for _, key := range []string{"open_at", "now", "reservations", "submits"} {
		require.Contains(t, raw, key)
	}
	var l Ledger
	require.NoError(t, json.Unmarshal([]byte(r.body), &l))
	require.Len(t, l.Reservations, 1)
	require.Equal(t, "user003", l.Reservations[0].Account)
	require.Equal(t, testISODate, l.Reservations[0].Date)
	require.Contains(t, r.body, `"facility":2`)

	require.Equal(t, http.StatusMethodNotAllowed, c.get(PathReset).status)
	r = c.do(http.MethodPost, PathReset, url.Values{})
	require.Equal(t, http.StatusOK, r.status)
	l = srv.Ledger()
	require.Empty(t, l.Reservations)
	require.Empty(t, l.Submits)
	_, err = srv.Reserve("user004", 2, testISODate, 2)
	require.NoError(t, err, "a reset frees the slots")
}

func TestReserveErrors(t *testing.T) {
	t.Parallel()
	s, err := New(Options{Facilities: 2, Slots: 3, Accounts: 10})
	require.NoError(t, err)
	_, err = s.Reserve("user001", 1, testISODate, 1)
	require.NoError(t, err)
	tests := []struct {
		name     string
		account  string
		facility int
		date     string
		slot     int
		want     error
	}{
		{"unknown account", "user011", 1, testISODate, 2, ErrUnknownAccount},
		{"bad facility", "user001", 3, testISODate, 2, ErrBadSlot},
		{"bad slot", "user001", 1, testISODate, 4, ErrBadSlot},
		{"compact date", "user001", 1, testUseDate, 2, ErrBadSlot},
		{"taken", "user002", 1, testISODate, 1, ErrSlotTaken},
		{"taken by the same account", "user001", 1, testISODate, 1, ErrSlotTaken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := s.Reserve(tt.account, tt.facility, tt.date, tt.slot)
			require.ErrorIs(t, err, tt.want)
		})
	}
}
