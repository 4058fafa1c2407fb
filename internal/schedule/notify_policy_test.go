package schedule

import (
	"encoding/json"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
)

// The daemon writes the outbox rows a booking asks for (notify.on), on
// success and on failure (sold out), and none when it asks for nothing;
// left empty, today's default: the confirmation, failures too only with
// the daemon's notify_failed.
func TestNotifyPolicyWritesTheRowsAsked(t *testing.T) {
	tests := []struct {
		on           string
		notifyFailed bool
		success      []string // kinds written when it books
		failure      []string // kinds written when it is sold out
	}{
		{on: "", success: []string{KindBooked}, failure: nil},
		{on: "", notifyFailed: true, success: []string{KindBooked}, failure: []string{KindFailed}},
		{on: booking.NotifySuccess, notifyFailed: true, success: []string{KindBooked}, failure: nil},
		{on: booking.NotifyAlways, success: []string{KindBooked}, failure: []string{KindFailed}},
		{on: booking.NotifyNever, notifyFailed: true, success: nil, failure: nil},
	}
	for _, tt := range tests {
		for _, soldOut := range []bool{false, true} {
			name := fmt.Sprintf("on=%q/notify_failed=%v/sold_out=%v", tt.on, tt.notifyFailed, soldOut)
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					b := setup(t, setupOpts{})
					opensAt := b.site.Now().Add(65 * time.Second).Truncate(time.Second)
					b.site.SetOpenAt(opensAt)
					bk := b.book(t, opensAt, bookingOpts{notifyOn: tt.on})
					if soldOut {
						_, err := b.site.Reserve("user002", 3, bk.PlayDate, 5)
						require.NoError(t, err)
					}
					d := b.daemon(t, "i1", func(c *Config) { c.NotifyFailed = tt.notifyFailed })
					require.NoError(t, d.Start(t.Context()))
					got := b.waitTerminal(t, bk.ID, 3*time.Minute)
					d.Stop()
					want := tt.success
					if soldOut {
						require.Equal(t, booking.Failed, got.State)
						require.Equal(t, booking.ReasonSoldOut, got.Reason)
						want = tt.failure
					} else {
						require.Equal(t, booking.Succeeded, got.State)
					}
					var rows []booking.Outbox
					require.NoError(t, b.db.Where("booking_id = ?", bk.ID).Order("kind").Find(&rows).Error)
					kinds := []string{}
					for _, r := range rows {
						kinds = append(kinds, r.Kind)
						require.Equal(t, "+821012345678", r.Phone)
					}
					require.Equal(t, append([]string{}, want...), kinds)
				})
			})
		}
	}
}

// The booking's own language wins over the site's: its rows carry it.
func TestNotifyLanguageOfTheBooking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		opensAt := b.site.Now().Add(65 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt)
		bk := b.book(t, opensAt, bookingOpts{language: "en", notifyOn: booking.NotifyAlways})
		_, err := b.site.Reserve("user002", 3, bk.PlayDate, 5)
		require.NoError(t, err)
		d := b.daemon(t, "i1", nil)
		require.NoError(t, d.Start(t.Context()))
		got := b.waitTerminal(t, bk.ID, 3*time.Minute)
		d.Stop()
		require.Equal(t, booking.Failed, got.State)
		var row booking.Outbox
		require.NoError(t, b.db.Where("booking_id = ? AND kind = ?", bk.ID, KindFailed).Take(&row).Error)
		var payload map[string]any
		require.NoError(t, json.Unmarshal([]byte(row.Payload), &payload))
		require.Equal(t, "en", payload["language"])
		require.Equal(t, "court", payload["noun"], "the site's noun in the booking's language")
	})
}

// A phone, name and notify settings patched while the booking runs are
// what its outcome's message goes by: the daemon reads them when it
// writes the outcome.
func TestPatchedPhoneGetsTheConfirmation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		opensAt := b.site.Now().Add(65 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt)
		bk := b.book(t, opensAt, bookingOpts{})
		d := b.daemon(t, "i1", nil)
		require.NoError(t, d.Start(t.Context()))
		// After the pre-warm (T − 60 s): the run has read the booking.
		time.Sleep(time.Until(opensAt.Add(-20 * time.Second)))
		require.Equal(t, booking.Running, b.get(t, bk.ID).State)
		phone, name, lang := "+821099998888", "김철수", "en"
		_, err := b.store.Apply(t.Context(), booking.Scope{All: true}, bk.ID,
			booking.Patch{Phone: &phone, Name: &name, NotifyLanguage: &lang}, time.Now())
		require.NoError(t, err)
		got := b.waitTerminal(t, bk.ID, 3*time.Minute)
		d.Stop()
		require.Equal(t, booking.Succeeded, got.State)
		var rows []booking.Outbox
		require.NoError(t, b.db.Where("booking_id = ?", bk.ID).Find(&rows).Error)
		require.Len(t, rows, 1)
		require.Equal(t, KindBooked, rows[0].Kind)
		require.Equal(t, phone, rows[0].Phone, "the patched phone")
		var payload map[string]any
		require.NoError(t, json.Unmarshal([]byte(rows[0].Payload), &payload))
		require.Equal(t, name, payload["name"])
		require.Equal(t, "en", payload["language"])
	})
}

// A password patched while the booking is armed (before its run starts)
// is the one its run logs in with from its first login: a mistyped
// password fixed in time books, and the site never sees the old one.
func TestPasswordPatchedWhileArmedLogsIn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		opensAt := b.site.Now().Add(100 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt)
		bk := b.book(t, opensAt, bookingOpts{password: "wrong"})
		d := b.daemon(t, "i1", nil)
		require.NoError(t, d.Start(t.Context()))
		// Armed, the pre-warm (T − 60 s) still to come.
		require.True(t, eventually(time.Minute, 100*time.Millisecond, func() bool { return b.get(t, bk.ID).State == booking.Armed }))
		t.Logf("armed at T%v", time.Since(opensAt))
		require.True(t, time.Now().Before(opensAt.Add(-61*time.Second)))
		pw := "pass1234"
		_, err := b.store.Apply(t.Context(), booking.Scope{All: true}, bk.ID, booking.Patch{Password: &pw}, time.Now())
		require.NoError(t, err)
		got := b.waitTerminal(t, bk.ID, 3*time.Minute)
		d.Stop()
		require.Equal(t, booking.Succeeded, got.State, "reason %s", got.Reason)
		require.Len(t, b.site.Ledger().Reservations, 1)
		// The first login already has the new password: the site never
		// sees the wrong one (a refused login may lock an account).
		var logins []string
		for _, a := range b.attempts(t, bk.ID) {
			if a.Step == "login" {
				logins = append(logins, a.Class)
			}
		}
		require.Equal(t, []string{"success"}, logins)
	})
}
