package api

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/database"
	"reserver/internal/database/dbtest"
	"reserver/internal/tenant"
)

// from makes the browser connect from a loopback address of its own
// (127.0.0.2, ...), so that tests can sign in from several addresses.
func (b *browser) from(ip string) *browser {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: d.DialContext}
	b.t.Cleanup(tr.CloseIdleConnections)
	b.c.Transport = tr
	return b
}

// After a logout the server refuses the session even to a client that
// kept a copy of the cookie.
func TestUILogoutEndsSessionOnServer(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		br := newBrowser(t, b.url)
		require.Equal(t, 303, br.login(b.op).status)
		p := br.get("/ui/failures")
		require.Equal(t, 200, p.status)
		csrf := csrfOf(t, p)
		stolen := *br.cookie(sessionCookie)

		thief := newBrowser(t, b.url)
		u, _ := url.Parse(b.url + "/ui/")
		thief.c.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: stolen.Value, Path: "/ui/"}})
		require.Equal(t, 200, thief.get("/ui/failures").status, "before the logout the copy works: it is the same cookie")

		require.Equal(t, 303, br.post("/ui/logout", url.Values{"csrf": {csrf}}).status)
		r := thief.get("/ui/failures")
		require.Equal(t, 303, r.status, "the copied cookie no longer signs anyone in")
		require.True(t, strings.HasPrefix(r.header.Get("Location"), "/ui/login"))
		require.Equal(t, 403, thief.post("/ui/logout", url.Values{"csrf": {csrf}}).status)

		require.Equal(t, 303, br.login(b.op).status, "signing in again opens a new session")
		require.Equal(t, 200, br.get("/ui/failures").status)
		require.Equal(t, 303, thief.get("/ui/failures").status, "and the old one stays dead")
	})
}

// Revoking or expiring an operator's token signs its page sessions out at
// their next request; other operators' sessions stand.
func TestUIRevokedOrExpiredTokenEndsSession(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		op2, err := tenant.NewStore(db).CreateToken(context.Background(), "ops2", tenant.RoleOperator)
		require.NoError(t, err)
		one, two := newBrowser(t, b.url), newBrowser(t, b.url)
		require.Equal(t, 303, one.login(b.op).status)
		require.Equal(t, 303, two.login(op2).status)
		p1 := one.get("/ui/failures")
		require.Equal(t, 200, p1.status)
		require.Equal(t, 200, two.get("/ui/failures").status)

		now := time.Now().UTC()
		require.NoError(t, db.Exec("UPDATE api_tokens SET revoked_at = ? WHERE prefix = ?", now, b.op[:tenant.PrefixLen]).Error)
		require.Equal(t, 303, one.get("/ui/failures").status, "revoked: signed out at once")
		require.Equal(t, 403, one.post("/ui/logout", url.Values{"csrf": {csrfOf(t, p1)}}).status)
		require.Equal(t, 200, two.get("/ui/failures").status, "the other operator is still signed in")
		r := newBrowser(t, b.url).login(b.op)
		require.Equal(t, 401, r.status)
		require.Equal(t, "This token was revoked.", r.doc.Find(".error").Text())

		require.NoError(t, db.Exec("UPDATE api_tokens SET expires_at = ? WHERE prefix = ?", now.Add(-time.Second), op2[:tenant.PrefixLen]).Error)
		require.Equal(t, 303, two.get("/ui/failures").status, "expired: signed out at once")
		r = newBrowser(t, b.url).login(op2)
		require.Equal(t, 401, r.status)
		require.Equal(t, "This token has expired.", r.doc.Find(".error").Text())
	})
}

// Failed sign-ins are throttled per address and per token prefix: 429
// with Retry-After and a message that says so.
func TestUILoginThrottled(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.SQLite(t))
	throttled := func(t *testing.T, r page, wait string) {
		t.Helper()
		require.Equal(t, 429, r.status)
		require.Equal(t, wait, r.header.Get("Retry-After"))
		require.Equal(t, "Too many failed sign-ins from this address or with this token. Wait "+wait+" seconds, then try again.",
			r.doc.Find(".error").Text())
		require.Equal(t, 1, r.doc.Find(`input[name=token]`).Length(), "the form is still there")
	}

	t.Run("per address", func(t *testing.T) {
		br := newBrowser(t, b.url).from("127.0.0.2")
		for i := range tenant.ThrottleAddrBurstDefault {
			require.Equal(t, 401, br.login(fmt.Sprintf("rsv_%02dguessxxxxx", i)).status, "try %d", i)
		}
		throttled(t, br.login("rsv_guess99xxxxxxx"), "6")
		throttled(t, br.login(b.op), "6")
		require.Nil(t, br.cookie(sessionCookie), "not even the right token gets through from here")
		other := newBrowser(t, b.url).from("127.0.0.3")
		require.Equal(t, 303, other.login(b.op).status, "another address is not throttled")
	})

	t.Run("per token prefix", func(t *testing.T) {
		prefix := b.alice[:tenant.PrefixLen] // a user token's prefix: its sign-ins fail anyway
		for i := range tenant.ThrottlePrefixBurstDefault {
			br := newBrowser(t, b.url).from(fmt.Sprintf("127.0.1.%d", i+1))
			require.Equal(t, 401, br.login(prefix+fmt.Sprintf("guess%02d", i)).status, "try %d", i)
		}
		br := newBrowser(t, b.url).from("127.0.1.100")
		throttled(t, br.login(prefix+"guess99"), "12")
		throttled(t, br.login(b.alice), "12")
		require.Equal(t, 303, br.login(b.op).status, "another prefix from the same address is let through")
	})

	t.Run("successes do not count", func(t *testing.T) {
		br := newBrowser(t, b.url).from("127.0.2.1")
		for range tenant.ThrottleAddrBurstDefault + 2 {
			require.Equal(t, 303, br.login(b.op).status)
		}
	})

	var refused int64
	require.NoError(t, b.db.Table("audit_log").Where("action = ?", tenant.ActionLoginRefused).Count(&refused).Error)
	require.EqualValues(t, tenant.ThrottleAddrBurstDefault+tenant.ThrottlePrefixBurstDefault, refused,
		"every refused sign-in is audited; throttled ones are not (they would let a flood fill the table)")
	b.logMu.Lock()
	logs := b.logs.String()
	b.logMu.Unlock()
	require.True(t, strings.Contains(logs, "sign-in throttled"), "a throttled sign-in is logged")
	require.False(t, strings.Contains(logs, "guess99"), "only the prefix of what was typed is logged")
}

// Signing in, cancelling from the page and signing out are in the audit
// trail: who (tenant, role, token prefix), what, which booking, from where.
func TestUIAuditTrail(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		r := b.do(t, "POST", "/v1/bookings", b.alice, validBody)
		require.Equal(t, 201, r.status, r.raw)
		id := int64(r.body["id"].(float64))

		br := newBrowser(t, b.url)
		require.Equal(t, 303, br.login(b.op).status)
		path := fmt.Sprintf("/ui/bookings/%d", id)
		p := br.get(path)
		require.Equal(t, 200, p.status)
		c := br.post(path+"/cancel", url.Values{"csrf": {p.doc.Find("form.cancel input[name=csrf]").AttrOr("value", "")}})
		require.Equal(t, 303, c.status)
		require.Equal(t, path+"?cancel=cancelled", c.header.Get("Location"))
		require.Equal(t, 303, br.post("/ui/logout", url.Values{"csrf": {csrfOf(t, p)}}).status)
		require.Equal(t, 401, newBrowser(t, b.url).login(b.op[:tenant.PrefixLen]+"wrong").status)
		// An operator's cancel over the API is audited too; a tenant's own
		// cancel is not an operator action.
		r = b.do(t, "POST", "/v1/bookings", b.alice, strings.Replace(validBody, `"court": 3`, `"court": 5`, 1))
		require.Equal(t, 201, r.status, r.raw)
		byAPI := int64(r.body["id"].(float64))
		require.Equal(t, 200, b.do(t, "DELETE", fmt.Sprintf("/v1/bookings/%d", byAPI), b.op, "").status)
		r = b.do(t, "POST", "/v1/bookings", b.alice, strings.Replace(validBody, `"court": 3`, `"court": 6`, 1))
		require.Equal(t, 201, r.status, r.raw)
		own := int64(r.body["id"].(float64))
		require.Equal(t, 200, b.do(t, "DELETE", fmt.Sprintf("/v1/bookings/%d", own), b.alice, "").status)
		// An operator's PATCH is audited with the fields it changed, never
		// their values; the tenant's own is not an operator action.
		r = b.do(t, "POST", "/v1/bookings", b.alice, strings.Replace(validBody, `"court": 3`, `"court": 7`, 1))
		require.Equal(t, 201, r.status, r.raw)
		patched := int64(r.body["id"].(float64))
		pr := b.do(t, "PATCH", fmt.Sprintf("/v1/bookings/%d", patched), b.op, `{"phone": "010-9999-8888", "name": "김철수"}`)
		require.Equal(t, 200, pr.status, pr.raw)
		require.Equal(t, 200, b.do(t, "PATCH", fmt.Sprintf("/v1/bookings/%d", patched), b.alice, `{"name": "홍길동"}`).status)

		log, err := tenant.NewStore(db).AuditLog(context.Background(), time.Now().Add(-time.Hour), 100)
		require.NoError(t, err)
		ops := tenant.Actor{Name: "ops", Role: "operator", Prefix: b.op[:tenant.PrefixLen], Remote: "127.0.0.1"}
		type row struct {
			Who       tenant.Actor
			Action    tenant.Action
			BookingID int64
			Detail    string
		}
		var got []row
		for _, e := range log {
			if e.Action == tenant.ActionTokenCreate {
				continue // setup's tokens
			}
			r := row{Who: e.Actor, Action: e.Action, Detail: e.Detail}
			if e.BookingID != nil {
				r.BookingID = *e.BookingID
			}
			got = append(got, r)
			require.WithinDuration(t, time.Now(), e.At, time.Minute)
		}
		require.Equal(t, []row{
			{ops, tenant.ActionLogin, 0, ""},
			{ops, tenant.ActionCancel, id, "cancelled"},
			{ops, tenant.ActionLogout, 0, ""},
			{tenant.Actor{Prefix: b.op[:tenant.PrefixLen], Remote: "127.0.0.1"}, tenant.ActionLoginRefused, 0, "unknown token"},
			{ops, tenant.ActionCancel, byAPI, "api: cancelled"},
			{ops, tenant.ActionPatch, patched, "api: phone, name"},
		}, got)
		for _, e := range log {
			require.NotContains(t, e.Detail, "9999", "a patched value is never audited")
		}
	})
}
