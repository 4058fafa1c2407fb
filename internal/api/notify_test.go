package api

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
	"reserver/internal/database"
	"reserver/internal/database/dbtest"
)

// withNotify is validBody with a "notify" object.
func withNotify(obj string) string {
	return strings.Replace(validBody, `"fields": {"people": 4}`, `"fields": {"people": 4}, "notify": `+obj, 1)
}

// A booking's notify settings are stored and shown; a booking without
// them shows none (the defaults).
func TestNotifySettingsStoredAndShown(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		r := b.do(t, "POST", "/v1/bookings", b.alice, withNotify(`{"on": "always", "language": "en"}`))
		require.Equal(t, 201, r.status, r.raw)
		require.Equal(t, map[string]any{"on": "always", "language": "en"}, r.body["notify"])
		id := int64(r.body["id"].(float64))
		got := b.do(t, "GET", fmt.Sprintf("/v1/bookings/%d", id), b.alice, "")
		require.Equal(t, map[string]any{"on": "always", "language": "en"}, got.body["notify"])
		var stored booking.Booking
		require.NoError(t, db.Where("id = ?", id).Take(&stored).Error)
		require.Equal(t, booking.NotifyAlways, stored.NotifyOn)
		require.Equal(t, "en", stored.NotifyLanguage)

		r = b.do(t, "POST", "/v1/bookings", b.alice, strings.Replace(withNotify(`{"on": "never"}`), `"court": 3`, `"court": 4`, 1))
		require.Equal(t, 201, r.status, r.raw)
		require.Equal(t, map[string]any{"on": "never"}, r.body["notify"], "the language left to the site")

		r = b.do(t, "POST", "/v1/bookings", b.alice, strings.Replace(validBody, `"court": 3`, `"court": 5`, 1))
		require.Equal(t, 201, r.status, r.raw)
		require.NotContains(t, r.body, "notify", "the defaults")
	})
}

// Bad notify values are refused all at once, each naming what is
// allowed, and nothing is stored.
func TestNotifySettingsValidated(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.SQLite(t))
	before := b.counts(t)
	r := b.do(t, "POST", "/v1/bookings", b.alice, withNotify(`{"on": "sometimes", "language": "ja", "colour": "red"}`))
	require.Equal(t, 400, r.status, r.raw)
	require.Equal(t, "application/problem+json", r.header.Get("Content-Type"))
	errs := map[string]string{}
	for _, e := range r.body["errors"].([]any) {
		m := e.(map[string]any)
		errs[m["field"].(string)] = m["detail"].(string)
	}
	require.Len(t, errs, 3, r.raw)
	require.Contains(t, errs["notify.on"], "expected one of success, always, never")
	require.Contains(t, errs["notify.language"], "expected one of ko, en")
	require.Equal(t, "unknown field", errs["notify.colour"])
	r = b.do(t, "POST", "/v1/bookings", b.alice, withNotify(`"always"`))
	require.Equal(t, 400, r.status, r.raw)
	require.Contains(t, r.raw, `"field":"notify"`)
	require.Equal(t, before, b.counts(t), "a refused request writes nothing")
}
