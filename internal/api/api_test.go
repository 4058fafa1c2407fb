package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"gopkg.in/yaml.v3"

	"reserver/internal/booking"
	"reserver/internal/database"
	"reserver/internal/database/dbtest"
	"reserver/internal/secret"
	"reserver/internal/tenant"
)

var seoul = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		panic(err)
	}
	return loc
}()

// fixedNow is the API's clock in tests: the play dates below are after it.
var fixedNow = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// testSite is a site with an optional rule set, standing in for a profile.
type testSite struct {
	needPeople bool
	opensRule  bool
}

func (testSite) Location() *time.Location { return seoul }
func (s testSite) CheckFields(f map[string]string) []FieldProblem {
	if !s.needPeople {
		return nil
	}
	if _, err := strconv.Atoi(f["people"]); err != nil {
		return []FieldProblem{{Field: "people", Detail: "required: an integer"}}
	}
	return nil
}
func (s testSite) OpensAt(d time.Time, _, _ string) (time.Time, bool) {
	if !s.opensRule {
		return time.Time{}, false
	}
	return time.Date(d.Year(), d.Month(), d.Day()-7, 9, 0, 0, 0, seoul), true
}

type testSites map[string]testSite

func (t testSites) Site(name string) (Site, bool) {
	s, ok := t[name]
	return s, ok
}

var sites = testSites{"courtsim": {}, "ruled": {needPeople: true, opensRule: true}}

type bundle struct {
	url            string
	db             *database.DB
	store          *booking.Store
	alice, bob, op string
	logs           *bytes.Buffer
	logMu          *sync.Mutex
}

type lockedBuffer struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (l lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}
func (l lockedBuffer) Sync() error { return nil }

// setup serves the API on db; opts adjust its options.
func setup(t *testing.T, db *database.DB, opts ...func(*Options)) *bundle {
	t.Helper()
	ctx := context.Background()
	box, err := secret.NewBox(bytes.Repeat([]byte{9}, secret.KeySize))
	require.NoError(t, err)
	ts := tenant.NewStore(db)
	b := &bundle{db: db, logs: &bytes.Buffer{}, logMu: &sync.Mutex{}}
	b.alice, err = ts.CreateToken(ctx, "alice", tenant.RoleUser)
	require.NoError(t, err)
	b.bob, err = ts.CreateToken(ctx, "bob", tenant.RoleUser)
	require.NoError(t, err)
	b.op, err = ts.CreateToken(ctx, "ops", tenant.RoleOperator)
	require.NoError(t, err)

	core := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), lockedBuffer{b.logMu, b.logs}, zap.DebugLevel)
	b.store = booking.NewStore(db, box)
	o := Options{
		DB: db, Bookings: b.store, Tenants: ts, Sites: sites,
		Limits:       Limits{DefaultRate: 2, MaxRate: 2, DefaultWindow: 300, MinWindow: 10, MaxWindow: 3600},
		MaxBodyBytes: 4096, Logger: zap.New(core), Now: func() time.Time { return fixedNow },
	}
	for _, opt := range opts {
		opt(&o)
	}
	srv, err := New(o)
	require.NoError(t, err)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	b.url = hs.URL
	return b
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (b *bundle) do(t *testing.T, method, path, token string, body string, headers ...string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, b.url+path, rd)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

// bobsBody is validBody for another tenant's own site account: a site
// account belongs to the tenant that registered it first.
var bobsBody = strings.Replace(validBody, `"username": "user001"`, `"username": "user002"`, 1)

const validBody = `{
  "site": "courtsim",
  "account": {"username": "user001", "password": "S3cr3t-Pa55!"},
  "court": 3,
  "date": "2026-12-01",
  "start": "10:00",
  "end": "11:00",
  "opens_at": "2026-11-25T10:00:00+09:00",
  "phone": "010-1234-5678",
  "name": "홍길동",
  "fields": {"people": 4}
}`

func (b *bundle) counts(t *testing.T) [2]int64 {
	t.Helper()
	var n [2]int64
	require.NoError(t, b.db.Table("bookings").Count(&n[0]).Error)
	require.NoError(t, b.db.Table("site_accounts").Count(&n[1]).Error)
	return n
}

func TestBookingLifecycle(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)

		r := b.do(t, "POST", "/v1/bookings", b.alice, validBody)
		require.Equal(t, 201, r.status, r.raw)
		require.Equal(t, "queued", r.body["state"])
		require.Equal(t, "+821012345678", r.body["phone"])
		require.Equal(t, "3", r.body["court"])
		require.Equal(t, 300.0, r.body["window_seconds"])
		require.Equal(t, 2.0, r.body["rate_per_second"])
		require.Equal(t, map[string]any{"username": "user001"}, r.body["account"])
		require.NotContains(t, r.raw, "S3cr3t")
		id := int64(r.body["id"].(float64))
		require.Equal(t, fmt.Sprintf("/v1/bookings/%d", id), r.header.Get("Location"))

		got := b.do(t, "GET", fmt.Sprintf("/v1/bookings/%d", id), b.alice, "")
		require.Equal(t, 200, got.status)
		require.Equal(t, "2026-11-25T01:00:00Z", got.body["opens_at"])

		require.Equal(t, 404, b.do(t, "GET", fmt.Sprintf("/v1/bookings/%d", id), b.bob, "").status, "another tenant's booking is 404")
		require.Equal(t, 404, b.do(t, "DELETE", fmt.Sprintf("/v1/bookings/%d", id), b.bob, "").status)
		opView := b.do(t, "GET", fmt.Sprintf("/v1/bookings/%d", id), b.op, "")
		require.Equal(t, 200, opView.status, "operators see every tenant")
		require.NotNil(t, opView.body["tenant_id"])

		att := b.do(t, "GET", fmt.Sprintf("/v1/bookings/%d/attempts", id), b.alice, "")
		require.Equal(t, 200, att.status)
		require.Equal(t, []any{}, att.body["items"])

		c := b.do(t, "DELETE", fmt.Sprintf("/v1/bookings/%d", id), b.alice, "")
		require.Equal(t, 200, c.status, c.raw)
		require.Equal(t, "cancelled", c.body["state"])
		require.Equal(t, "user_cancelled", c.body["reason"])
		again := b.do(t, "DELETE", fmt.Sprintf("/v1/bookings/%d", id), b.alice, "")
		require.Equal(t, 409, again.status)
		require.Equal(t, "application/problem+json", again.header.Get("Content-Type"))

		// The slot is free again after cancelling.
		require.Equal(t, 201, b.do(t, "POST", "/v1/bookings", b.alice, validBody).status)
	})
}

func TestListPaging(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.SQLite(t))
	for court := 1; court <= 5; court++ {
		body := strings.Replace(validBody, `"court": 3`, fmt.Sprintf(`"court": %d`, court), 1)
		require.Equal(t, 201, b.do(t, "POST", "/v1/bookings", b.alice, body).status)
	}
	require.Equal(t, 201, b.do(t, "POST", "/v1/bookings", b.bob, bobsBody).status)

	var seen []any
	cursor := ""
	for page := 0; page < 5; page++ {
		r := b.do(t, "GET", "/v1/bookings?limit=2&cursor="+cursor, b.alice, "")
		require.Equal(t, 200, r.status, r.raw)
		seen = append(seen, r.body["items"].([]any)...)
		next, _ := r.body["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	require.Len(t, seen, 5, "alice sees her five bookings, not bob's")

	r := b.do(t, "GET", "/v1/bookings?state=queued&limit=100", b.op, "")
	require.Len(t, r.body["items"], 6, "the operator sees all")
	require.Empty(t, b.do(t, "GET", "/v1/bookings?state=succeeded", b.alice, "").body["items"])

	bad := b.do(t, "GET", "/v1/bookings?state=done&limit=0", b.alice, "")
	require.Equal(t, 400, bad.status)
	require.Contains(t, bad.raw, `"field":"state"`)
	require.Contains(t, bad.raw, `"field":"limit"`)
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		first := b.do(t, "POST", "/v1/bookings", b.alice, validBody, "Idempotency-Key", "k-1")
		require.Equal(t, 201, first.status, first.raw)
		second := b.do(t, "POST", "/v1/bookings", b.alice, validBody, "Idempotency-Key", "k-1")
		require.Equal(t, 201, second.status, second.raw)
		require.Equal(t, first.body["id"], second.body["id"])
		require.Equal(t, "true", second.header.Get("Idempotent-Replayed"))

		other := strings.Replace(validBody, `"court": 3`, `"court": 4`, 1)
		mismatch := b.do(t, "POST", "/v1/bookings", b.alice, other, "Idempotency-Key", "k-1")
		require.Equal(t, 422, mismatch.status)

		// The same key of another tenant is another key.
		bobs := b.do(t, "POST", "/v1/bookings", b.bob, bobsBody, "Idempotency-Key", "k-1")
		require.Equal(t, 201, bobs.status)
		require.NotEqual(t, first.body["id"], bobs.body["id"])
		require.Equal(t, [2]int64{2, 2}, b.counts(t))
	})
}

func TestAuth(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.SQLite(t))
	r := b.do(t, "GET", "/v1/bookings", "", "")
	require.Equal(t, 401, r.status)
	require.Contains(t, r.header.Get("WWW-Authenticate"), "Bearer")
	require.Equal(t, 401, b.do(t, "GET", "/v1/bookings", "rsv_nope", "").status)
	require.Equal(t, 401, b.do(t, "POST", "/v1/bookings", "", validBody).status)
	require.Equal(t, [2]int64{0, 0}, b.counts(t))

	require.Equal(t, 200, b.do(t, "GET", "/healthz", "", "").status)
	ready := b.do(t, "GET", "/readyz", "", "")
	require.Equal(t, 200, ready.status)
	require.Equal(t, "sqlite", ready.body["database"])
	require.Equal(t, 404, b.do(t, "GET", "/v1/nothing", b.alice, "").status)
}

func TestRejectsBadRequests(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.SQLite(t))
	require.Equal(t, 201, b.do(t, "POST", "/v1/bookings", b.alice, validBody).status)
	before := b.counts(t)

	set := func(field, value string) string {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(validBody), &m))
		if value == "" {
			delete(m, field)
		} else {
			var v any
			require.NoError(t, json.Unmarshal([]byte(value), &v))
			m[field] = v
		}
		out, err := json.Marshal(m)
		require.NoError(t, err)
		return string(out)
	}
	tests := []struct {
		name, body string
		status     int
		field      string
	}{
		{"malformed JSON", `{"site": "courtsim",`, 400, ""},
		{"not an object", `[1,2]`, 400, ""},
		{"empty body", ``, 400, ""},
		{"trailing data", validBody + `{}`, 400, ""},
		{"unknown field", set("colour", `"red"`), 400, "colour"},
		{"missing site", set("site", ""), 400, "site"},
		{"unknown site", set("site", `"nowhere"`), 400, "site"},
		{"missing account", set("account", ""), 400, "account"},
		{"missing password", set("account", `{"username":"u"}`), 400, "account.password"},
		{"wrong type", set("window_seconds", `"long"`), 400, "window_seconds"},
		{"court of the wrong type", set("court", `true`), 400, "court"},
		{"date that does not exist", set("date", `"2026-02-30"`), 400, "date"},
		{"time that does not exist", set("start", `"24:30"`), 400, "start"},
		{"end before start", set("end", `"09:00"`), 400, "end"},
		{"opens_at in the past", set("opens_at", `"2026-11-01T10:00:00+09:00"`), 400, "opens_at"},
		{"opens_at after the play date", set("opens_at", `"2026-12-02T10:00:00+09:00"`), 400, "opens_at"},
		{"opens_at without offset", set("opens_at", `"2026-11-25T10:00:00"`), 400, "opens_at"},
		{"missing opens_at without a rule", set("opens_at", ""), 400, "opens_at"},
		{"window too short", set("window_seconds", `5`), 400, "window_seconds"},
		{"rate above ceiling", set("rate_per_second", `2.5`), 400, "rate_per_second"},
		{"rate zero", set("rate_per_second", `0`), 400, "rate_per_second"},
		{"bad phone", set("phone", `"12345"`), 400, "phone"},
		{"nested field value", set("fields", `{"x":{"y":1}}`), 400, "fields.x"},
		{"duplicate active booking", validBody, 409, ""},
		{"too large", set("name", `"`+strings.Repeat("가", 2000)+`"`), 413, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.do(t, "POST", "/v1/bookings", b.alice, tt.body)
			require.Equal(t, tt.status, r.status, r.raw)
			require.Equal(t, "application/problem+json", r.header.Get("Content-Type"))
			require.NotEmpty(t, r.body["detail"])
			if tt.field != "" {
				require.Contains(t, r.raw, `"field":"`+tt.field+`"`)
			}
			require.NotContains(t, r.raw, "S3cr3t")
			require.Equal(t, before, b.counts(t), "a rejected request writes nothing")
		})
	}
}

func TestSiteRules(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.SQLite(t))
	body := strings.Replace(strings.Replace(validBody, `"courtsim"`, `"ruled"`, 1),
		`"opens_at": "2026-11-25T10:00:00+09:00",`, "", 1)
	body = strings.Replace(body, `"2026-12-01"`, `"2026-12-02"`, 1)
	r := b.do(t, "POST", "/v1/bookings", b.alice, body)
	require.Equal(t, 201, r.status, r.raw)
	require.Equal(t, "2026-11-25T00:00:00Z", r.body["opens_at"], "computed from the opening rule: 7 days before at 09:00 KST")

	given := strings.Replace(strings.Replace(body, `"court": 3`, `"court": 5`, 1), `"start"`, `"opens_at": "2026-11-25T10:00:00+09:00", "start"`, 1)
	r = b.do(t, "POST", "/v1/bookings", b.alice, given)
	require.Equal(t, 201, r.status, r.raw)
	require.Equal(t, "2026-11-25T01:00:00Z", r.body["opens_at"], "a given opens_at wins")
	require.Contains(t, r.raw, "differs from the site's opening rule")

	noPeople := strings.Replace(body, `"fields": {"people": 4}`, `"fields": {}`, 1)
	noPeople = strings.Replace(noPeople, `"court": 3`, `"court": 4`, 1)
	r = b.do(t, "POST", "/v1/bookings", b.alice, noPeople)
	require.Equal(t, 400, r.status)
	require.Contains(t, r.raw, `"field":"fields.people"`)
}

// The site password must not be readable in the database file or the logs.
func TestPasswordNeverStoredOrLogged(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "reserver.db")
	db, err := database.Open("sqlite:" + path)
	require.NoError(t, err)
	_, err = db.Migrate(context.Background())
	require.NoError(t, err)
	b := setup(t, db)
	require.Equal(t, 201, b.do(t, "POST", "/v1/bookings", b.alice, validBody).status)
	require.Equal(t, 400, b.do(t, "POST", "/v1/bookings", b.alice, strings.Replace(validBody, `"court": 3`, `"court": "!!"`, 1)).status)
	require.NoError(t, db.Close())

	files, err := filepath.Glob(path + "*")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		require.False(t, bytes.Contains(data, []byte("S3cr3t-Pa55!")), "password found in %s", f)
		require.False(t, bytes.Contains(data, []byte("S3cr3t")), "password found in %s", f)
	}
	b.logMu.Lock()
	logs := b.logs.String()
	b.logMu.Unlock()
	require.Contains(t, logs, `"path":"/v1/bookings"`, "the requests were logged")
	require.NotContains(t, logs, "S3cr3t")
	require.NotContains(t, logs, b.alice, "tokens are not logged")
}

// openapi.yaml documents exactly the routes the server registers.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.SQLite(t))
	r := b.do(t, "GET", "/openapi.yaml", "", "")
	require.Equal(t, 200, r.status)
	var doc struct {
		OpenAPI string                          `yaml:"openapi"`
		Paths   map[string]map[string]yaml.Node `yaml:"paths"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(r.raw), &doc))
	require.True(t, strings.HasPrefix(doc.OpenAPI, "3."))

	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	served := map[string]bool{}
	for _, rt := range routes {
		served[rt.method+" "+rt.path] = true
	}
	require.Equal(t, served, documented)
}
