package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
	"reserver/internal/database"
	"reserver/internal/database/dbtest"
	"reserver/internal/secret"
	"reserver/internal/sitetime"
	"reserver/internal/tenant"
)

var seoul = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		panic(err)
	}
	return loc
}()

var testKey = bytes.Repeat([]byte{7}, secret.KeySize)

// reviewEnv is a migrated database the commands open through the
// environment, as an operator's shell would.
type reviewEnv struct {
	dsn    string
	store  *booking.Store
	tenant int64
}

func newReviewEnv(t *testing.T, dialect database.Dialect) reviewEnv {
	t.Helper()
	dsn := dbtest.DSN(t, dialect)
	db, err := database.Open(dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	box, err := secret.NewBox(testKey)
	require.NoError(t, err)
	ts := tenant.NewStore(db)
	tok, err := ts.CreateToken(context.Background(), "acme", tenant.RoleUser)
	require.NoError(t, err)
	p, err := ts.Authenticate(context.Background(), tok)
	require.NoError(t, err)
	return reviewEnv{dsn: dsn, store: booking.NewStore(db, box), tenant: p.TenantID}
}

func (e reviewEnv) run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	env := map[string]string{
		"RESERVER_DB_DSN":     e.dsn,
		"RESERVER_SECRET_KEY": base64.StdEncoding.EncodeToString(testKey),
		"RESERVER_LOG_LEVEL":  "error",
		// The profiles give the sites' zones: courtsim is Asia/Seoul; "other"
		// has none and is shown in UTC.
		"RESERVER_SITES_DIR": "../../configs/sites",
	}
	var out, errOut bytes.Buffer
	code := Reserver(context.Background(), args, IO{Out: &out, Err: &errOut, Getenv: func(k string) string { return env[k] }})
	return out.String(), errOut.String(), code
}

// seed stores a booking that opened at opens and plays classes as submits
// 500 ms apart after a login at T-60s; final Failed records reason.
func (e reviewEnv) seed(t *testing.T, site, court string, opens time.Time, final booking.State, reason booking.Reason, classes ...string) int64 {
	t.Helper()
	ctx := context.Background()
	b, _, err := e.store.Create(ctx, booking.NewBooking{
		TenantID: e.tenant, Site: site, Username: "user-" + court, Password: "Pw-" + court + "-secret",
		Court: court, PlayDate: "2026-12-01", StartTime: "10:00", EndTime: "11:00",
		OpensAt: opens, WindowSeconds: 300, RatePerSecond: 2,
	})
	require.NoError(t, err)
	if final == booking.Queued {
		return b.ID
	}
	_, err = e.store.Claim(ctx, b.ID, "inst-a", time.Now(), time.Now().Add(time.Hour))
	require.NoError(t, err)
	rows := []booking.Attempt{{BookingID: b.ID, Instance: "inst-a", Seq: 1, Step: "login", SentAt: opens.Add(-time.Minute), Status: 302, Class: "success", LatencyUS: 40500, Egress: "direct"}}
	for i, c := range classes {
		rows = append(rows, booking.Attempt{BookingID: b.ID, Instance: "inst-a", Seq: 2 + i, Step: "submit",
			SentAt: opens.Add(time.Duration(i)*500*time.Millisecond + 1500*time.Microsecond), Status: 200, Class: c,
			LatencyUS: 35250, Egress: "direct", Excerpt: "page   says\n" + c})
	}
	require.NoError(t, e.store.AddAttempts(ctx, rows))
	if final == booking.Failed {
		require.NoError(t, e.store.Fail(ctx, b.ID, booking.Armed, "inst-a", reason, nil, time.Now()))
	}
	return b.ID
}

func TestFailuresCommand(t *testing.T) {
	t.Parallel()
	e := newReviewEnv(t, database.SQLite)
	opens := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	sold := e.seed(t, "courtsim", "1", opens, booking.Failed, booking.ReasonSoldOut, "not_open", "not_open", "sold_out")
	win := e.seed(t, "other", "2", opens, booking.Failed, booking.ReasonWindow, "retry", "blocked")
	e.seed(t, "courtsim", "3", opens, booking.Armed, "", "not_open")

	out, errOut, code := e.run(t, "failures")
	require.Equal(t, 0, code, errOut)
	out0 := out
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3, out)
	require.Regexp(t, `^ID\s+FAILED AT\s+SITE\s+ACCOUNT\s+COURT\s+SLOT\s+CHOICES\s+REASON\s+ATTEMPTS\s+BY CLASS\s+LAST ANSWER$`, lines[0])
	require.Regexp(t, fmt.Sprintf(`^%d\s.*\sother\s+user-2\s+2\s+2026-12-01 10:00-11:00\s+1\s+window_closed\s+3\s+submit: blocked×1 retry×1; other: login success×1\s+submit → blocked 200: page says blocked$`, win), lines[1])
	require.Regexp(t, fmt.Sprintf(`^%d\s.*\scourtsim\s.*sold_out\s+4\s+submit: not_open×2 sold_out×1; other: login success×1\s`, sold), lines[2])
	require.NotContains(t, out, "secret")

	out, _, code = e.run(t, "failures", "--site", "courtsim", "--json")
	require.Equal(t, 0, code)
	var items []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &items))
	require.Len(t, items, 1)
	require.Equal(t, float64(sold), items[0]["id"])
	require.Equal(t, "sold_out", items[0]["reason"])
	require.Equal(t, map[string]any{"success": 1.0, "not_open": 2.0, "sold_out": 1.0}, items[0]["classes"])
	require.Equal(t, map[string]any{"login": map[string]any{"success": 1.0}, "submit": map[string]any{"not_open": 2.0, "sold_out": 1.0}}, items[0]["steps"])
	require.Equal(t, "sold_out", items[0]["last_attempt"].(map[string]any)["class"])
	require.Equal(t, 1001.5, items[0]["last_attempt"].(map[string]any)["offset_ms"])
	require.Equal(t, "T+1.00 s", items[0]["last_attempt"].(map[string]any)["offset"])
	require.Equal(t, sitetime.Format(opens, seoul), items[0]["opens_at_local"])
	require.Regexp(t, `\+09:00 KST$`, items[0]["finished_at_local"])
	require.Regexp(t, fmt.Sprintf(`(?m)^%d\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+09:00 KST\s+courtsim\s`, sold), out0, "FAILED AT in the site's zone")
	require.Regexp(t, fmt.Sprintf(`(?m)^%d\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+00:00 UTC\s+other\s`, win), out0, "a site without a profile: UTC, said so")

	tests := []struct {
		args []string
		want string
	}{
		{[]string{"failures", "--reason", "missed"}, "no failed bookings match\n"},
		{[]string{"failures", "--since", "2h", "--until", "90m"}, "no failed bookings match\n"},
		{[]string{"failures", "--json", "--reason", "missed"}, "[]\n"},
	}
	for _, tt := range tests {
		out, errOut, code := e.run(t, tt.args...)
		require.Equal(t, 0, code, errOut)
		require.Equal(t, tt.want, out, tt.args)
	}
	_, errOut, code = e.run(t, "failures", "--since", "last week")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `--since "last week": expected an RFC 3339 instant`)
	// An unknown reason is an error naming the known ones, not "no match".
	out, errOut, code = e.run(t, "failures", "--reason", "nope")
	require.Equal(t, 1, code, out)
	require.Empty(t, out)
	require.Contains(t, errOut, `--reason: unknown reason "nope": expected one of window_closed, sold_out,`)
	require.Contains(t, errOut, "site_rejected")
	_, errOut, code = e.run(t, "failures", "--review", "nope")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `--review: unknown review "nope": expected one of late_success,`)
	out, errOut, code = e.run(t, "failures", "--reason", "site_rejected")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "no failed bookings match\n", out)
}

func TestAttemptsCommand(t *testing.T) {
	t.Parallel()
	e := newReviewEnv(t, database.SQLite)
	opens := time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)
	id := e.seed(t, "courtsim", "1", opens, booking.Failed, booking.ReasonSoldOut, "not_open", "sold_out")

	out, errOut, code := e.run(t, "attempts", fmt.Sprint(id))
	require.Equal(t, 0, code, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 7, out)
	require.Equal(t, fmt.Sprintf("booking %d on courtsim, court 1, 2026-12-01 10:00-11:00: failed (sold_out)", id), lines[0])
	require.Equal(t, "opening instant T = 2026-11-25 10:00:00.000 +09:00 KST on the site's clock (2026-11-25T01:00:00.000Z); 3 attempts", lines[1])
	require.Equal(t, "site clock unknown (no Date headers): times are on the local clock", lines[2])
	require.Regexp(t, `^SEQ\s+T\+MS\s+STEP\s+CHOICE\s+STATUS\s+CLASS\s+LATENCY MS\s+WAITED\s+EGRESS\s+INSTANCE\s+EXCERPT$`, lines[3])
	require.Regexp(t, `^1\s+-60000\.0\s+login\s+302\s+success\s+40\.5\s+-\s+direct\s+inst-a\s*$`, lines[4])
	require.Regexp(t, `^2\s+\+1\.5\s+submit\s+200\s+not_open\s+35\.2\s+-\s+direct\s+inst-a\s+page says not_open$`, lines[5])
	require.Regexp(t, `^3\s+\+501\.5\s+submit\s+200\s+sold_out\s`, lines[6])

	out, _, code = e.run(t, "attempts", "--json", fmt.Sprint(id))
	require.Equal(t, 0, code)
	var rows []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &rows))
	require.Len(t, rows, 3)
	require.Equal(t, -60000.0, rows[0]["offset_ms"])
	require.Equal(t, "T−60.00 s", rows[0]["offset"])
	require.Equal(t, "2026-11-25 09:59:00.000 +09:00 KST", rows[0]["sent_at_local"])
	require.Equal(t, 0.0, rows[0]["waited_ms"])

	for _, bad := range []struct{ arg, want string }{{"x", "expected a positive integer"}, {"999", "booking not found"}} {
		_, errOut, code := e.run(t, "attempts", bad.arg)
		require.Equal(t, 1, code)
		require.Contains(t, errOut, bad.want)
	}
}

// TestAttemptsOnTheSiteClock: the site's clock is 0.3 s ahead of ours, so
// a submit sent 297 ms before the opening on our clock was sent 3 ms after
// it on the site's, which is the clock opens_at is on.
func TestAttemptsOnTheSiteClock(t *testing.T) {
	t.Parallel()
	e := newReviewEnv(t, database.SQLite)
	ctx := context.Background()
	opens := time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)
	const ahead = 300 * time.Millisecond
	b, _, err := e.store.Create(ctx, booking.NewBooking{
		TenantID: e.tenant, Site: "courtsim", Username: "u", Password: "p", Court: "1",
		PlayDate: "2026-12-01", StartTime: "10:00", EndTime: "11:00", OpensAt: opens, WindowSeconds: 300, RatePerSecond: 5,
	})
	require.NoError(t, err)
	_, err = e.store.Claim(ctx, b.ID, "inst-a", time.Now(), time.Now().Add(time.Hour))
	require.NoError(t, err)
	var rows []booking.Attempt
	for i := range 12 {
		sent := opens.Add(-297*time.Millisecond + time.Duration(i)*173*time.Millisecond)
		date := sent.Add(5 * time.Millisecond).Add(ahead).Truncate(time.Second) // the site wrote it halfway
		class := "not_open"
		if i == 11 {
			class = "sold_out"
		}
		rows = append(rows, booking.Attempt{BookingID: b.ID, Instance: "inst-a", Seq: i + 1, Step: "submit",
			SentAt: sent, SiteDate: &date, LatencyUS: 10000, Status: 200, Class: class, Egress: "direct"})
	}
	require.NoError(t, e.store.AddAttempts(ctx, rows))
	require.NoError(t, e.store.Fail(ctx, b.ID, booking.Armed, "inst-a", booking.ReasonSoldOut, nil, time.Now()))

	out, errOut, code := e.run(t, "attempts", fmt.Sprint(b.ID))
	require.Equal(t, 0, code, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	clock := regexp.MustCompile(`^site clock ≈ local \+(0\.\d+) s ±(0\.0\d+) s \(from 12 Date headers\)$`).FindStringSubmatch(lines[2])
	require.NotNil(t, clock, out)
	est, within := parseFloat(t, clock[1]), parseFloat(t, clock[2])
	require.InDelta(t, 0.3, est, within, "the true offset is inside the bound")
	first := regexp.MustCompile(`^1\s+([-+][0-9.]+)\s+submit\s`).FindStringSubmatch(lines[4])
	require.NotNil(t, first, out)
	require.InDelta(t, 3, parseFloat(t, first[1]), within*1000, "sent 3 ms after the opening on the site's clock:\n%s", out)

	out, _, code = e.run(t, "failures", "--json")
	require.Equal(t, 0, code)
	var items []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &items))
	require.Len(t, items, 1)
	require.Equal(t, lines[2], items[0]["site_clock"], "the same estimate from the latest 12 rows")
	last := items[0]["last_attempt"].(map[string]any)["offset_ms"].(float64)
	require.InDelta(t, 11*173+3, last, within*1000, "the last submit on the site's clock")
}

func parseFloat(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	require.NoError(t, err)
	return v
}

func TestStatusCommand(t *testing.T) {
	t.Parallel()
	e := newReviewEnv(t, database.SQLite)
	soon := time.Now().Add(10 * time.Minute)
	armed := e.seed(t, "courtsim", "1", soon, booking.Armed, "")
	q1 := e.seed(t, "courtsim", "2", soon.Add(2*time.Hour), booking.Queued, "")
	q2 := e.seed(t, "other", "3", soon.Add(time.Hour), booking.Queued, "")

	out, errOut, code := e.run(t, "status")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "instances alive: 1\n")
	// inst-a has no heartbeat row (the seed only claimed): alive by its lease.
	require.Regexp(t, `(?m)^  inst-a\s+1\s+-\s+-\s+no heartbeat row \(alive by its lease\)\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+09:00 KST \(in (60 min|1 h)\)$`, out)
	require.Contains(t, out, "armed or running: 1\n")
	require.Regexp(t, fmt.Sprintf(`(?m)^  %d\s+armed\s+courtsim\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+09:00 KST \(in 10 min\)\s+inst-a$`, armed), out)
	require.Regexp(t, fmt.Sprintf(`(?m)^  %d\s+other\s+3\s+.*\+00:00 UTC \(in 1 h 10 min\)$`, q2), out)
	require.NotRegexp(t, `\d+h\d+m`, out, "no Go durations")
	require.Contains(t, out, "next openings (queued): 2 shown\n")
	i1 := strings.Index(out, fmt.Sprintf("  %d  ", q2))
	i2 := strings.Index(out, fmt.Sprintf("  %d  ", q1))
	require.True(t, i1 > 0 && i2 > i1, "soonest first:\n%s", out)

	out, _, code = e.run(t, "status", "--next", "1")
	require.Equal(t, 0, code)
	require.Contains(t, out, "next openings (queued): 1 shown\n")
	require.NotContains(t, out, fmt.Sprintf("  %d  ", q1))
}

// status ends with each site's edge: where its recent openings were seen
// closed and open, as medians over the openings and opening by opening.
func TestStatusSiteEdges(t *testing.T) {
	t.Parallel()
	for _, dialect := range []database.Dialect{database.SQLite, database.MySQL} {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			e := newReviewEnv(t, dialect) // skips MySQL without a server
			out, errOut, code := e.run(t, "status")
			require.Equal(t, 0, code, errOut)
			require.True(t, strings.HasSuffix(out, "\nsite edges: none recorded yet\n"), out)

			ctx := context.Background()
			us := func(n int64) *time.Duration {
				d := time.Duration(n) * time.Microsecond
				return &d
			}
			t0 := time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)
			for _, ev := range []booking.EdgeEvidence{
				// Newest: two bookings, closed at -0.2 ms, open at +0.6 ms.
				{Site: "courtsim", OpensAt: t0, BookingID: 1, ClosedMax: us(-900), OpenMin: us(600), Within: 2 * time.Millisecond},
				{Site: "courtsim", OpensAt: t0, BookingID: 2, ClosedMax: us(-200), Within: 1500 * time.Microsecond},
				// Only not_open answers.
				{Site: "courtsim", OpensAt: t0.AddDate(0, 0, -7), BookingID: 3, ClosedMax: us(-800), Within: time.Millisecond},
				{Site: "courtsim", OpensAt: t0.AddDate(0, 0, -14), BookingID: 4, ClosedMax: us(-1500), OpenMin: us(1200), Within: 3 * time.Millisecond},
			} {
				require.NoError(t, e.store.RecordEdge(ctx, ev))
			}
			// Twelve openings of another site: the oldest two are not shown.
			for i := range 12 {
				require.NoError(t, e.store.RecordEdge(ctx, booking.EdgeEvidence{Site: "other", OpensAt: t0.AddDate(0, 0, -i),
					BookingID: int64(100 + i), ClosedMax: us(-int64(1000 * (i + 1))), OpenMin: us(int64(1000 * (i + 1))), Within: time.Millisecond}))
			}

			out, errOut, code = e.run(t, "status")
			require.Equal(t, 0, code, errOut)
			require.Contains(t, out, "armed or running: 0\n", "the other sections are still there")
			i := strings.Index(out, "\nsite edges (arrival on the site's clock − T, last 10 openings):\n")
			require.Positive(t, i, out)
			lines := strings.Split(strings.TrimSpace(out[i:]), "\n")
			require.Len(t, lines, 4, out)
			require.Regexp(t, `^  SITE\s+OPENINGS\s+CLOSED MEDIAN ms\s+OPEN MEDIAN ms\s+WITHIN ms\s+NEWEST FIRST closed/open ms$`, lines[1])
			// Closed maxima -0.2, -0.8, -1.5: median -0.8; open minima +0.6,
			// +1.2: median +0.6 (stats.Percentile's nearest rank).
			require.Regexp(t, `^  courtsim\s+3\s+-0\.8\s+\+0\.6\s+±3\.0\s+-0\.2/\+0\.6 -0\.8/\? -1\.5/\+1\.2$`, lines[2])
			// The newest ten of -1..-12 and +1..+12: medians (nearest rank)
			// -6 and +5.
			var pairs []string
			for i := 1; i <= 10; i++ {
				pairs = append(pairs, fmt.Sprintf("-%d\\.0/\\+%d\\.0", i, i))
			}
			require.Regexp(t, `^  other\s+10\s+-6\.0\s+\+5\.0\s+±1\.0\s+`+strings.Join(pairs, " ")+`$`, lines[3])
		})
	}
}

// An idle daemon (holding nothing) beats every heartbeat: status counts it
// alive with 0 bookings; one that stopped beating is listed as gone.
func TestStatusCountsIdleInstances(t *testing.T) {
	t.Parallel()
	e := newReviewEnv(t, database.SQLite)
	ctx := context.Background()
	now := time.Now()
	require.NoError(t, e.store.Beat(ctx, booking.Beat{Name: "idle-1", Boot: "b1", Host: "host-a", Every: 2 * time.Second, Now: now.Add(-10 * time.Minute)}))
	require.NoError(t, e.store.Beat(ctx, booking.Beat{Name: "idle-1", Boot: "b1", Host: "host-a", Every: 2 * time.Second, Now: now}))
	require.NoError(t, e.store.Beat(ctx, booking.Beat{Name: "old-1", Boot: "b9", Host: "host-b", Every: 2 * time.Second, Now: now.Add(-time.Minute)}))

	out, errOut, code := e.run(t, "status")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "instances alive: 1\n")
	require.Regexp(t, `(?m)^  INSTANCE\s+BOOKINGS\s+HOST\s+STARTED\s+LAST BEAT\s+LEASE UNTIL$`, out)
	require.Regexp(t, `(?m)^  idle-1\s+0\s+host-a\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+09:00 KST \(10 min ago\)\s+\d s ago\s+-$`, out)
	require.Contains(t, out, "instances gone (no heartbeat for 3 beats; last day): 1\n")
	require.Regexp(t, `(?m)^  old-1\s+host-b\s+.*\(1 min ago\)$`, out)
}

// Why a request waited before it was sent is a column of `attempts`, in
// the last answer of `failures` and in their JSON.
func TestAttemptsShowWhyTheyWaited(t *testing.T) {
	t.Parallel()
	e := newReviewEnv(t, database.SQLite)
	ctx := context.Background()
	opens := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	id := e.seed(t, "courtsim", "1", opens, booking.Armed, "", "not_open")
	require.NoError(t, e.store.AddAttempts(ctx, []booking.Attempt{{BookingID: id, Instance: "inst-a", Boot: "b2", Seq: 1, Step: "submit",
		SentAt: opens.Add(44 * time.Millisecond), Status: 200, Class: "sold_out", LatencyUS: 30000, Egress: "direct",
		WaitedFor: booking.WaitHostCeiling, WaitedUS: 20500, Excerpt: "taken"}}))
	require.NoError(t, e.store.Fail(ctx, id, booking.Armed, "inst-a", booking.ReasonSoldOut, nil, time.Now()))

	out, errOut, code := e.run(t, "attempts", fmt.Sprint(id))
	require.Equal(t, 0, code, errOut)
	require.Regexp(t, `(?m)^2\s+\+1\.5\s+submit\s+200\s+not_open\s+35\.2\s+-\s+direct\s`, out, "did not wait")
	require.Regexp(t, `(?m)^1\s+\+44\.0\s+submit\s+200\s+sold_out\s+30\.0\s+host_ceiling 20\.5\s+direct\s+inst-a\s+taken$`, out)

	out, errOut, code = e.run(t, "failures")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "submit → sold_out 200 (waited host_ceiling 20.5 ms): taken")

	out, _, code = e.run(t, "attempts", "--json", fmt.Sprint(id))
	require.Equal(t, 0, code)
	var rows []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &rows))
	require.Equal(t, "host_ceiling", rows[len(rows)-1]["waited_for"])
	require.Equal(t, 20.5, rows[len(rows)-1]["waited_ms"])
}

// A booking of several choices in the commands: attempts lists the
// choices, marks the one booked and says which choice each request was
// for (CHOICE, blank for a login); status and failures count the choices
// and show the slot the site booked.
func TestCommandsShowChoices(t *testing.T) {
	t.Parallel()
	for _, dialect := range []database.Dialect{database.SQLite, database.MySQL} {
		t.Run(string(dialect), func(t *testing.T) {
			e := newReviewEnv(t, dialect)
			ctx := context.Background()
			choices := []booking.Choice{
				{Court: "3", Date: "2026-12-10", Start: "10:00", End: "11:00"},
				{Court: "4", Date: "2026-12-10", Start: "10:00", End: "11:00"},
				{Court: "1", Date: "2026-12-11", Start: "12:00", End: "13:00"},
			}
			create := func(user string, opens time.Time) int64 {
				b, _, err := e.store.Create(ctx, booking.NewBooking{
					TenantID: e.tenant, Site: "courtsim", Username: user, Password: "Pw-secret", Choices: choices,
					OpensAt: opens, WindowSeconds: 300, RatePerSecond: 2,
				})
				require.NoError(t, err)
				if opens.Before(time.Now()) {
					_, err = e.store.Claim(ctx, b.ID, "inst-a", time.Now(), time.Now().Add(time.Hour))
					require.NoError(t, err)
				}
				return b.ID
			}
			opens := time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)
			won := create("u-won", opens)
			rows := []booking.Attempt{
				{BookingID: won, Instance: "inst-a", Seq: 1, Step: "login", SentAt: opens.Add(-time.Minute), Status: 302, Class: "success", Egress: "direct"},
				{BookingID: won, Instance: "inst-a", Seq: 2, Step: "submit", SentAt: opens.Add(3 * time.Millisecond), Status: 200, Class: "sold_out", Egress: "direct", Choice: 1},
				{BookingID: won, Instance: "inst-a", Seq: 3, Step: "submit", SentAt: opens.Add(503 * time.Millisecond), Status: 200, Class: "success", Egress: "direct", Choice: 2},
			}
			require.NoError(t, e.store.AddAttempts(ctx, rows))
			require.NoError(t, e.store.Succeed(ctx, won, booking.Armed, "inst-a", booking.Reserved{No: "R-1", Choice: 2}, nil, time.Now()))

			out, errOut, code := e.run(t, "attempts", fmt.Sprint(won))
			require.Equal(t, 0, code, errOut)
			lines := strings.Split(strings.TrimSpace(out), "\n")
			require.Equal(t, []string{
				fmt.Sprintf("booking %d on courtsim, 3 choices: succeeded, reservation R-1, booked choice 2", won),
				"  choice 1: court 3, 2026-12-10 10:00-11:00",
				"  choice 2: court 4, 2026-12-10 10:00-11:00 (booked)",
				"  choice 3: court 1, 2026-12-11 12:00-13:00",
			}, lines[:4], out)
			require.Regexp(t, `^SEQ\s+T\+MS\s+STEP\s+CHOICE\s+STATUS\s+CLASS\s`, lines[6])
			require.Regexp(t, `^1\s+-60000\.0\s+login\s+302\s+success\s`, lines[7], "no choice for the login")
			require.Regexp(t, `^2\s+\+3\.0\s+submit\s+1\s+200\s+sold_out\s`, lines[8])
			require.Regexp(t, `^3\s+\+503\.0\s+submit\s+2\s+200\s+success\s`, lines[9])
			header := strings.Index(lines[6], "CHOICE")
			require.Equal(t, "2", lines[9][header:header+1], "the choice under its heading")
			require.Equal(t, " ", lines[7][header:header+1], "blank for none")

			out, _, code = e.run(t, "attempts", "--json", fmt.Sprint(won))
			require.Equal(t, 0, code)
			var items []map[string]any
			require.NoError(t, json.Unmarshal([]byte(out), &items))
			require.NotContains(t, items[0], "choice")
			require.Equal(t, 2.0, items[2]["choice"])

			// A queued booking of three choices, in status.
			queued := create("u-queued", time.Now().Add(time.Hour))
			out, errOut, code = e.run(t, "status")
			require.Equal(t, 0, code, errOut)
			require.Regexp(t, `(?m)^  ID\s+SITE\s+COURT\s+SLOT\s+CHOICES\s+OPENS AT$`, out)
			require.Regexp(t, fmt.Sprintf(`(?m)^  %d\s+courtsim\s+3\s+2026-12-10 10:00-11:00\s+3\s+\d{4}-`, queued), out)

			// A failed one, and one the site booked (its 2nd choice) after it
			// had failed: flagged for review, listed with the slot booked.
			sold := create("u-sold", opens)
			require.NoError(t, e.store.Fail(ctx, sold, booking.Armed, "inst-a", booking.ReasonSoldOut, nil, time.Now()))
			late := create("u-late", opens)
			require.NoError(t, e.store.Fail(ctx, late, booking.Armed, "inst-a", booking.ReasonWindow, nil, time.Now()))
			_, err := e.store.RecordLateReservation(ctx, late, booking.Reserved{No: "R-9", Choice: 2}, nil, time.Now())
			require.NoError(t, err)
			out, errOut, code = e.run(t, "failures")
			require.Equal(t, 0, code, errOut)
			require.Regexp(t, `(?m)^ID\s+FAILED AT\s+SITE\s+ACCOUNT\s+COURT\s+SLOT\s+CHOICES\s+REASON\s`, out)
			require.Regexp(t, fmt.Sprintf(`(?m)^%d\s.*\su-sold\s+3\s+2026-12-10 10:00-11:00\s+3\s+sold_out\s`, sold), out, "the first choice, and how many")
			require.Regexp(t, fmt.Sprintf(`(?m)^%d\s.*\su-late\s+4\s+2026-12-10 10:00-11:00\s+2 of 3\s+window_closed\s`, late), out, "the slot the site booked")
			out, _, code = e.run(t, "failures", "--json")
			require.Equal(t, 0, code)
			items = nil
			require.NoError(t, json.Unmarshal([]byte(out), &items))
			byID := map[float64]map[string]any{}
			for _, it := range items {
				byID[it["id"].(float64)] = it
			}
			require.Len(t, byID[float64(sold)]["choices"], 3)
			require.NotContains(t, byID[float64(sold)], "booked")
			require.Equal(t, 2.0, byID[float64(late)]["won_choice"])
			require.Equal(t, map[string]any{"court": "4", "date": "2026-12-10", "start": "10:00", "end": "11:00"}, byID[float64(late)]["booked"])
		})
	}
}
