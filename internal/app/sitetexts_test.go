package app

import (
	"testing"

	"github.com/stretchr/testify/require"

	"reserver/internal/notify"
	"reserver/internal/profile"
)

// The relay gets the templates of the sites that have their own, by site
// name, and a site without them is left to the configuration's and the
// built-in texts.
func TestSiteTextsFromProfiles(t *testing.T) {
	t.Parallel()
	got, err := siteTexts(map[string]*profile.Profile{
		"lanes":    {Name: "lanes", SMS: &profile.SMS{Language: "en", Templates: map[string]map[string]string{"en": {notify.KindBooked: "{{.Noun}} {{.Court}} booked"}}}},
		"courtsim": {Name: "courtsim"},
		"rooms":    {Name: "rooms", SMS: &profile.SMS{Language: "en"}},
	})
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.NotNil(t, got["lanes"])

	_, err = siteTexts(map[string]*profile.Profile{
		"broken": {Name: "broken", SMS: &profile.SMS{Templates: map[string]map[string]string{"en": {notify.KindBooked: "{{.Room}}"}}}},
	})
	require.ErrorIs(t, err, notify.ErrConfig)
	require.ErrorContains(t, err, "site broken: ")
}
