package notify

import (
	"testing"

	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
	"reserver/internal/notify/smstext"
)

// A payload that carries the opening instant and the site's zone shows it
// in that zone with its offset, as every other part of reserver does; the
// login-failed message says when the booking opens.
func TestPayloadOpensAtInTheSiteZone(t *testing.T) {
	t.Parallel()
	d, err := payloadData(`{"site":"courtsim","court":"3","date":"2026-12-09","start":"09:00","end":"10:00",
		"opens_at":"2026-12-02T00:00:00Z","time_zone":"Asia/Seoul","language":"ko"}`)
	require.NoError(t, err)
	require.Equal(t, "2026-12-02 09:00:00 +09:00 KST", d.OpensAt, "a 09:00 Seoul opening, not 00:00Z")
	tx, err := parseTexts(nil, nil)
	require.NoError(t, err)
	text, err := tx.render(KindLoginFailed, d)
	require.NoError(t, err)
	require.Contains(t, text, "열리기(2026-12-02 09:00:00 +09:00 KST) 전에")

	d.Language = smstext.English
	text, err = tx.render(KindLoginFailed, d)
	require.NoError(t, err)
	require.Contains(t, text, "opens at 2026-12-02 09:00:00 +09:00 KST.")

	d, err = payloadData(`{"opens_at":"2026-12-02T00:00:00Z"}`)
	require.NoError(t, err)
	require.Equal(t, "2026-12-02 00:00:00 +00:00 UTC", d.OpensAt, "without a zone: UTC, said so")
	d, err = payloadData(`{"court":"3"}`)
	require.NoError(t, err)
	require.Empty(t, d.OpensAt)
}

// Every reason a booking can end with has words in every language, the
// newest (site_rejected) too: an SMS never shows a bare code.
func TestEveryReasonHasWords(t *testing.T) {
	t.Parallel()
	for _, lang := range smstext.Languages {
		for _, r := range booking.Reasons {
			require.NotEqual(t, string(r), smstext.ReasonText(lang, string(r)), "%s: no words for reason %s", lang, r)
		}
	}
}
