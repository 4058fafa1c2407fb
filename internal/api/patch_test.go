package api

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
	"reserver/internal/database"
	"reserver/internal/database/dbtest"
)

// bookIn creates a booking of court (by the API) and moves it to state
// as the daemon would; it returns the booking's path.
func (b *bundle) bookIn(t *testing.T, court int, state booking.State) string {
	t.Helper()
	r := b.do(t, "POST", "/v1/bookings", b.alice, strings.Replace(validBody, `"court": 3`, fmt.Sprintf(`"court": %d`, court), 1))
	require.Equal(t, 201, r.status, r.raw)
	id := int64(r.body["id"].(float64))
	path := fmt.Sprintf("/v1/bookings/%d", id)
	ctx := context.Background()
	now := time.Now()
	if state == booking.Queued {
		return path
	}
	if state == booking.Cancelled {
		require.Equal(t, 200, b.do(t, "DELETE", path, b.alice, "").status)
		return path
	}
	_, err := b.store.Claim(ctx, id, "i1", now, now.Add(time.Hour))
	require.NoError(t, err)
	if state == booking.Armed {
		return path
	}
	require.NoError(t, b.store.Transition(ctx, id, booking.Armed, booking.Running, booking.Change{Instance: "i1"}))
	switch state {
	case booking.Succeeded:
		require.NoError(t, b.store.Succeed(ctx, id, booking.Running, "i1", booking.Reserved{No: "R-1"}, nil, now))
	case booking.Failed:
		require.NoError(t, b.store.Fail(ctx, id, booking.Running, "i1", booking.ReasonSoldOut, nil, now))
	}
	return path
}

// PATCH in every state answers as documented: phone, name and notify
// change until the booking finishes; the password until its run starts
// (queued, armed), the rate only while it is queued; nothing changes on a
// finished booking, and a refused patch changes nothing of itself.
func TestPatchInEveryState(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		const contact = `{"phone": "010-9999-8888", "name": "김철수", "notify": {"on": "always", "language": "en"}}`
		const creds = `{"account": {"password": "N3w-Pa55!"}, "rate_per_second": 1.5}`
		for i, state := range booking.States {
			t.Run(string(state), func(t *testing.T) {
				path := b.bookIn(t, i+1, state)
				before := b.do(t, "GET", path, b.alice, "")
				require.Equal(t, string(state), before.body["state"])

				r := b.do(t, "PATCH", path, b.alice, contact, "Content-Type", "application/merge-patch+json")
				if state.Terminal() {
					require.Equal(t, 409, r.status, r.raw)
					require.Equal(t, typeStateForbids, r.body["type"])
					require.Contains(t, r.body["detail"], "the booking is "+string(state)+": nothing of it changes any more")
					require.Len(t, r.body["errors"], 4, r.raw)
					require.Equal(t, "+821012345678", r.body["booking"].(map[string]any)["phone"])
				} else {
					require.Equal(t, 200, r.status, r.raw)
					require.Equal(t, "+821099998888", r.body["phone"])
					require.Equal(t, "김철수", r.body["name"])
					require.Equal(t, map[string]any{"on": "always", "language": "en"}, r.body["notify"])
					require.Equal(t, string(state), r.body["state"], "a patch does not move the booking")
				}

				r = b.do(t, "PATCH", path, b.alice, creds, "Content-Type", "application/merge-patch+json")
				if state == booking.Queued {
					require.Equal(t, 200, r.status, r.raw)
					require.Equal(t, 1.5, r.body["rate_per_second"])
				} else {
					require.Equal(t, 409, r.status, r.raw)
					require.Equal(t, typeStateForbids, r.body["type"])
					require.Contains(t, r.raw, `"field":"rate_per_second"`)
					if state == booking.Armed {
						require.NotContains(t, r.raw, `"field":"account.password"`, "the password changes until the run starts")
						require.Contains(t, r.body["detail"], "the booking is armed: rate_per_second no longer changes")
					} else {
						require.Contains(t, r.raw, `"field":"account.password"`)
					}
					if state == booking.Running {
						require.Contains(t, r.body["detail"], "the booking is running: account.password and rate_per_second no longer change")
					}
					require.Equal(t, 2.0, r.body["booking"].(map[string]any)["rate_per_second"], "nothing of a refused patch is applied")
				}
				if state == booking.Armed {
					r = b.do(t, "PATCH", path, b.alice, `{"account": {"password": "N3w-Pa55!"}}`, "Content-Type", "application/merge-patch+json")
					require.Equal(t, 200, r.status, r.raw)
				}
				require.NotContains(t, r.raw, "N3w-Pa55!")
				after := b.do(t, "GET", path, b.alice, "")
				require.Equal(t, string(state), after.body["state"])
			})
		}
		require.NotContains(t, b.logText(), "N3w-Pa55!")
	})
}

// A patched password is sealed as the booking's own: the next login
// uses it, even after a login proved the account's earlier password.
func TestPatchPasswordIsTheBookingsNext(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		path := b.bookIn(t, 3, booking.Queued)
		var id int64
		fmt.Sscanf(path, "/v1/bookings/%d", &id)
		ctx := context.Background()
		got, err := b.store.Get(ctx, booking.Scope{All: true}, id)
		require.NoError(t, err)
		// The user changed the password on the site since, and a login of
		// another booking proved it: it is this booking's next one now.
		require.NoError(t, b.store.ProvePassword(ctx, got.AccountID, "Changed-1!", time.Now()))
		got, err = b.store.Get(ctx, booking.Scope{All: true}, id)
		require.NoError(t, err)
		pw, err := b.store.LoginPassword(got)
		require.NoError(t, err)
		require.Equal(t, "Changed-1!", pw)

		r := b.do(t, "PATCH", path, b.alice, `{"account": {"password": "N3w-Pa55!"}}`, "Content-Type", "application/merge-patch+json")
		require.Equal(t, 200, r.status, r.raw)
		require.NotContains(t, r.raw, "N3w-Pa55!")
		got, err = b.store.Get(ctx, booking.Scope{All: true}, id)
		require.NoError(t, err)
		pw, err = b.store.LoginPassword(got)
		require.NoError(t, err)
		require.Equal(t, "N3w-Pa55!", pw, "the patched password, newer than the proven one")
		var raw [][]byte
		require.NoError(t, db.Table("bookings").Where("id = ?", id).Pluck("password_enc", &raw).Error)
		require.Len(t, raw, 1)
		require.NotContains(t, string(raw[0]), "N3w-Pa55!", "sealed")
	})
}

// A bad patch is refused with every problem at once, and changes nothing;
// another tenant's booking is not found; another media type is a 415.
func TestPatchValidation(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.SQLite(t))
	path := b.bookIn(t, 3, booking.Queued)
	before := b.do(t, "GET", path, b.alice, "")
	r := b.do(t, "PATCH", path, b.alice, `{"court": 4, "colour": "red", "phone": "12345", "notify": {"on": "sometimes", "x": 1},
		"account": {"username": "other"}, "rate_per_second": 9}`, "Content-Type", "application/merge-patch+json")
	require.Equal(t, 400, r.status, r.raw)
	errs := map[string]string{}
	for _, e := range r.body["errors"].([]any) {
		m := e.(map[string]any)
		errs[m["field"].(string)] = m["detail"].(string)
	}
	require.Len(t, errs, 7, r.raw)
	require.Contains(t, errs["court"], "cannot be changed")
	require.Contains(t, errs["colour"], "unknown field")
	require.Contains(t, errs, "phone")
	require.Contains(t, errs["notify.on"], "expected one of success, always, never")
	require.Equal(t, "unknown field", errs["notify.x"])
	require.Contains(t, errs["account.username"], "cannot be changed")
	require.Contains(t, errs["rate_per_second"], "at most 2")
	after := b.do(t, "GET", path, b.alice, "")
	require.Equal(t, before.raw, after.raw, "nothing changed")

	r = b.do(t, "PATCH", path, b.alice, `{"phone": null, "name": null, "notify": null}`)
	require.Equal(t, 200, r.status, r.raw)
	require.NotContains(t, r.body, "phone", "null removes it")
	require.NotContains(t, r.body, "notify")

	require.Equal(t, 404, b.do(t, "PATCH", path, b.bob, `{"name": "x"}`).status, "another tenant's booking")
	require.Equal(t, 415, b.do(t, "PATCH", path, b.alice, `{"name": "x"}`, "Content-Type", "text/plain").status)
	require.Equal(t, 400, b.do(t, "PATCH", path, b.alice, `{"name": `).status)
}

// PATCH and DELETE with an Idempotency-Key behave as create: a replay of
// the same request answers the first answer again, another request under
// the key is a 422.
func TestPatchAndDeleteIdempotency(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		path := b.bookIn(t, 3, booking.Queued)
		ct := []string{"Content-Type", "application/merge-patch+json"}
		first := b.do(t, "PATCH", path, b.alice, `{"name": "김철수"}`, append(ct, "Idempotency-Key", "p-1")...)
		require.Equal(t, 200, first.status, first.raw)
		require.Empty(t, first.header.Get("Idempotent-Replayed"))
		// The booking changes meanwhile; the replay answers what the first did.
		require.Equal(t, 200, b.do(t, "PATCH", path, b.alice, `{"name": "이영희"}`, ct...).status)
		again := b.do(t, "PATCH", path, b.alice, `{ "name" : "김철수" }`, append(ct, "Idempotency-Key", "p-1")...)
		require.Equal(t, 200, again.status, again.raw)
		require.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
		require.Equal(t, first.raw, again.raw)
		require.Equal(t, "이영희", b.do(t, "GET", path, b.alice, "").body["name"], "a replay applies nothing")

		other := b.do(t, "PATCH", path, b.alice, `{"name": "박민수"}`, append(ct, "Idempotency-Key", "p-1")...)
		require.Equal(t, 422, other.status, other.raw)
		require.Contains(t, other.body["detail"], "Idempotency-Key")
		require.Equal(t, 422, b.do(t, "DELETE", path, b.alice, "", "Idempotency-Key", "p-1").status, "another method under the key")
		// Another tenant's key of the same name is its own.
		require.Equal(t, 404, b.do(t, "PATCH", path, b.bob, `{"name": "김철수"}`, append(ct, "Idempotency-Key", "p-1")...).status)

		del := b.do(t, "DELETE", path, b.alice, "", "Idempotency-Key", "d-1")
		require.Equal(t, 200, del.status, del.raw)
		require.Equal(t, "cancelled", del.body["state"])
		delAgain := b.do(t, "DELETE", path, b.alice, "", "Idempotency-Key", "d-1")
		require.Equal(t, 200, delAgain.status, "a replayed cancel answers the cancel, not 409 finished: %s", delAgain.raw)
		require.Equal(t, "true", delAgain.header.Get("Idempotent-Replayed"))
		require.Equal(t, del.raw, delAgain.raw)
		require.Equal(t, 409, b.do(t, "DELETE", path, b.alice, "").status, "without the key: already finished")
	})
}

// logText is everything the server logged so far.
func (b *bundle) logText() string {
	b.logMu.Lock()
	defer b.logMu.Unlock()
	return b.logs.String()
}

// Any byte string as a PATCH body: never a panic; every problem says
// what is wrong; an accepted patch holds only valid values.
func FuzzDecodePatch(f *testing.F) {
	f.Add([]byte(`{"phone": "010-9999-8888", "name": null, "notify": {"on": "always", "language": "en"}}`))
	f.Add([]byte(`{"account": {"password": "x"}, "rate_per_second": 1.5}`))
	f.Add([]byte(`{"notify": null, "phone": null}`))
	f.Add([]byte(`{"court": 4, "account": {"username": "u"}, "rate_per_second": null}`))
	f.Add([]byte(`{"notify": "always"}`))
	f.Add([]byte("\xff\xfe"))
	lim := Limits{DefaultRate: 2, MaxRate: 2, DefaultWindow: 300, MinWindow: 10, MaxWindow: 3600}
	site, _ := sites.Site("courtsim")
	b := &booking.Booking{Site: "courtsim"}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, probs := decodePatch(body, b, site, lim)
		if len(probs) > 0 {
			for _, pr := range probs {
				if pr.Detail == "" {
					t.Fatalf("a problem without a detail: %+v", pr)
				}
			}
			return
		}
		if p.Rate != nil && (*p.Rate <= 0 || *p.Rate > lim.MaxRate) {
			t.Fatalf("accepted rate %v", *p.Rate)
		}
		if p.Password != nil && *p.Password == "" {
			t.Fatal("accepted an empty password")
		}
		if p.NotifyOn != nil && *p.NotifyOn != "" && !slices.Contains(booking.NotifyPolicies, *p.NotifyOn) {
			t.Fatalf("accepted notify.on %q", *p.NotifyOn)
		}
		if p.Phone != nil && *p.Phone != "" && !strings.HasPrefix(*p.Phone, "+") {
			t.Fatalf("accepted phone %q not in E.164", *p.Phone)
		}
	})
}
