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
	f.Add([]byte(`{"choices": [{"court": 5}, {"courts": "1-3", "start": "12:00", "end": "13:00"}], "priority": 3}`))
	f.Add([]byte(`{"choices": [{"court": 2}, {"courts": "any"}, {"date": "2026-12-11", "court": 1}], "priority": null}`))
	f.Add([]byte(`{"choices": null, "court": 3}`))
	lim := Limits{DefaultRate: 2, MaxRate: 2, DefaultWindow: 300, MinWindow: 10, MaxWindow: 3600}
	site, _ := choiceSites(f).Site("courtsim")
	b := &booking.Booking{Site: "courtsim", Court: "3", PlayDate: "2026-12-10", StartTime: "10:00", EndTime: "11:00",
		OpensAt: time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, probs, slotProbs := decodePatch(body, b, site, lim)
		if len(probs) > 0 || len(slotProbs) > 0 {
			probs = append(probs, slotProbs...)
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
		if p.Priority != nil && (*p.Priority < 0 || *p.Priority > 100) {
			t.Fatalf("accepted priority %d", *p.Priority)
		}
		if p.Choices != nil {
			cs := *p.Choices
			if len(cs) < 1 || len(cs) > booking.MaxChoices {
				t.Fatalf("accepted %d choices", len(cs))
			}
			seen := map[booking.Choice]bool{}
			for _, c := range cs {
				if _, err := time.Parse(time.DateOnly, c.Date); err != nil || c.Court == "" || c.End <= c.Start || seen[c] {
					t.Fatalf("accepted choice %+v of %v", c, cs)
				}
				seen[c] = true
			}
		}
	})
}

// choiceBookingIn creates a booking at courtsim (choiceSites) of court on
// 2026-12-10 10:00-11:00, opening at opensAt, and moves it to state as the
// daemon would; it returns its path.
func (b *bundle) choiceBookingIn(t *testing.T, court int, opensAt time.Time, state booking.State) string {
	t.Helper()
	r := b.do(t, "POST", "/v1/bookings", b.alice, choiceBody("courtsim", fmt.Sprintf(`"court": %d`, court)))
	id := idOf(t, r)
	require.NoError(t, b.db.Table("bookings").Where("id = ?", id).Update("opens_at", opensAt.UTC()).Error)
	ctx := context.Background()
	now := time.Now()
	switch state {
	case booking.Queued:
	case booking.Cancelled:
		require.Equal(t, 200, b.do(t, "DELETE", bookingPath(id), b.alice, "").status)
	default:
		_, err := b.store.Claim(ctx, id, "i1", now, now.Add(time.Hour))
		require.NoError(t, err)
		if state == booking.Armed {
			break
		}
		require.NoError(t, b.store.Transition(ctx, id, booking.Armed, booking.Running, booking.Change{Instance: "i1"}))
		switch state {
		case booking.Succeeded:
			require.NoError(t, b.store.Succeed(ctx, id, booking.Running, "i1", booking.Reserved{No: "R-1"}, nil, now))
		case booking.Failed:
			require.NoError(t, b.store.Fail(ctx, id, booking.Running, "i1", booking.ReasonSoldOut, nil, now))
		}
	}
	return bookingPath(id)
}

// PATCH choices in every state: queued, armed, and running until 10 s
// before it opens take them (expanded, the date and times defaulting to
// the current first choice's, the first becoming the booking's slot);
// later, or once finished, 409 /problems/state-forbids and nothing
// changes. The priority changes while queued or armed.
func TestPatchChoicesInEveryState(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setupChoices(t, db)
		ct := []string{"Content-Type", "application/merge-patch+json"}
		later := time.Now().Add(time.Hour)
		tests := []struct {
			name     string
			state    booking.State
			opensAt  time.Time
			choices  bool
			priority bool
		}{
			{"queued", booking.Queued, later, true, true},
			{"armed", booking.Armed, later, true, true},
			{"running, more than 10 s before it opens", booking.Running, time.Now().Add(time.Minute), true, false},
			{"running, less than 10 s before it opens", booking.Running, time.Now().Add(5 * time.Second), false, false},
			{"succeeded", booking.Succeeded, later, false, false},
			{"failed", booking.Failed, later, false, false},
			{"cancelled", booking.Cancelled, later, false, false},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				court := i + 1
				path := b.choiceBookingIn(t, court, tt.opensAt, tt.state)
				before := b.do(t, "GET", path, b.alice, "")
				body := fmt.Sprintf(`{"choices": [{"court": %d, "start": "12:00", "end": "13:00"}, {"courts": "1-2"}]}`, court)
				r := b.do(t, "PATCH", path, b.alice, body, ct...)
				if tt.choices {
					require.Equal(t, 200, r.status, r.raw)
					require.Equal(t, []booking.Choice{slot(fmt.Sprint(court), "2026-12-10", "12:00", "13:00"),
						slot("1", "2026-12-10", "10:00", "11:00"), slot("2", "2026-12-10", "10:00", "11:00")}, choicesOf(t, r.body["choices"]))
					require.Equal(t, fmt.Sprint(court), r.body["court"])
					require.Equal(t, "12:00", r.body["start"], "the first choice is the booking's slot")
					require.Equal(t, string(tt.state), r.body["state"])
				} else {
					require.Equal(t, 409, r.status, r.raw)
					require.Equal(t, typeStateForbids, r.body["type"])
					require.Contains(t, r.raw, `"field":"choices"`)
					if tt.state == booking.Running {
						require.Contains(t, r.raw, "opens in less than 10s")
					}
					after := b.do(t, "GET", path, b.alice, "")
					require.Equal(t, before.body["choices"], after.body["choices"], "nothing changed")
					require.Equal(t, before.body["updated_at"], after.body["updated_at"])
				}

				r = b.do(t, "PATCH", path, b.alice, `{"priority": 5}`, ct...)
				if tt.priority {
					require.Equal(t, 200, r.status, r.raw)
					require.Equal(t, 5.0, r.body["priority"])
				} else {
					require.Equal(t, 409, r.status, r.raw)
					require.Contains(t, r.raw, `"field":"priority"`)
				}
			})
		}
	})
}

// New choices pass the create's checks: the shape, the site's courts and
// slots (422), one opening, the account's limits (409 account-limit) and
// no duplicate of another active booking (409); nothing changes then. A
// replay under an Idempotency-Key answers the first answer.
func TestPatchChoicesChecks(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setupChoices(t, db)
		ct := []string{"Content-Type", "application/merge-patch+json"}
		later := time.Now().Add(time.Hour)
		path := b.choiceBookingIn(t, 3, later, booking.Queued)
		b.choiceBookingIn(t, 4, later, booking.Queued)
		before := b.do(t, "GET", path, b.alice, "")

		for _, tt := range []struct {
			name, body string
			status     int
			field      string
			detail     string
		}{
			{"null", `{"choices": null}`, 400, "choices", "cannot be removed"},
			{"empty", `{"choices": []}`, 400, "choices", "at least one choice"},
			{"a duplicate", `{"choices": [{"court": 2}, {"courts": "1-3"}]}`, 400, "choices[1]", "is the same slot as choices[0]"},
			{"17", `{"choices": [{"courts": "any"}, {"courts": "1-7", "start": "12:00", "end": "13:00"}]}`, 400, "choices", "17 choices"},
			{"another opening", `{"choices": [{"court": 3}, {"court": 5, "date": "2026-12-11"}]}`, 400, "choices[1]", "make it a separate booking"},
			{"a new first choice on another date", `{"choices": [{"court": 3, "date": "2026-12-11"}]}`, 400, "choices[0]", "opens at 2026-12-04 09:00:00"},
			{"a court the site lacks", `{"choices": [{"court": 3}, {"court": 11}]}`, 422, "choices[1].court", `the site has no court \"11\"`},
			{"a top-level court", `{"court": 5}`, 400, "court", "send choices"},
			{"a bad priority", `{"priority": 1.5}`, 400, "priority", "an integer from 0 to 100"},
			{"the slot of another booking", `{"choices": [{"court": 4}]}`, 409, "", "other active booking has court 4, 2026-12-10 10:00-11:00"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				r := b.do(t, "PATCH", path, b.alice, tt.body, ct...)
				require.Equal(t, tt.status, r.status, r.raw)
				if tt.field != "" {
					require.Contains(t, r.raw, `"field":"`+tt.field+`"`)
				}
				require.Contains(t, r.raw, tt.detail)
				require.Equal(t, before.raw, b.do(t, "GET", path, b.alice, "").raw, "nothing changed")
			})
		}

		// The account's limits: "limited" allows 2 a day.
		one := idOf(t, b.do(t, "POST", "/v1/bookings", b.alice, limitBody("2026-12-10", 1, "")))
		two := idOf(t, b.do(t, "POST", "/v1/bookings", b.alice, limitBody("2026-12-11", 2, "")))
		other := idOf(t, b.do(t, "POST", "/v1/bookings", b.alice, limitBody("2026-12-11", 3, "")))
		r := b.do(t, "PATCH", bookingPath(one), b.alice, `{"choices": [{"court": 1}, {"court": 1, "date": "2026-12-11"}]}`, ct...)
		requireLimit(t, r, "day", "2026-12-11", 2, two, other)
		r = b.do(t, "PATCH", bookingPath(one), b.alice, `{"choices": [{"court": 1}, {"court": 1, "date": "2026-12-12"}]}`, ct...)
		require.Equal(t, 200, r.status, "within the limits: %s", r.raw)

		// Idempotent: the replay answers the first answer and applies nothing.
		body := `{"choices": [{"court": 6}], "priority": 2}`
		first := b.do(t, "PATCH", path, b.alice, body, append(ct, "Idempotency-Key", "pc-1")...)
		require.Equal(t, 200, first.status, first.raw)
		require.Equal(t, 200, b.do(t, "PATCH", path, b.alice, `{"choices": [{"court": 7}]}`, ct...).status)
		again := b.do(t, "PATCH", path, b.alice, body, append(ct, "Idempotency-Key", "pc-1")...)
		require.Equal(t, 200, again.status, again.raw)
		require.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
		require.Equal(t, first.raw, again.raw)
		require.Equal(t, "7", b.do(t, "GET", path, b.alice, "").body["court"], "a replay applies nothing")
	})
}
