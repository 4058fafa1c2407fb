package schedule

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
	"reserver/internal/profile"
)

// The outbox payload names the language of the booking's messages and
// what was booked in it: the booking's language field, else the site's
// language, else Korean, about a court.
func TestNotesCarryLanguageAndNoun(t *testing.T) {
	t.Parallel()
	sms := &profile.SMS{Language: "en", LanguageField: "lang", Noun: map[string]string{"ko": "방", "en": "room"}}
	tests := []struct {
		name       string
		sms        *profile.SMS
		fields     string
		lang, noun string
	}{
		{"the booking's field", sms, `{"lang":"ko"}`, "ko", "방"},
		{"the site's language", sms, `{}`, "en", "room"},
		{"a field value that is no language", sms, `{"lang":"xx"}`, "en", "room"},
		{"a site without sms", nil, `{"lang":"en"}`, "ko", "코트"},
		{"a language without a noun", &profile.SMS{Language: "en"}, ``, "en", "court"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &run{
				d:    &Daemon{},
				prof: &profile.Profile{Name: "courtsim", SMS: tt.sms},
				b: &booking.Booking{ID: 7, Site: "courtsim", Court: "3", PlayDate: "2030-05-01", StartTime: "10:00",
					EndTime: "11:00", Phone: "+821012345678", BookerName: "홍길동", Fields: tt.fields},
			}
			notes := r.notesFor(r.b.Notice(), KindBooked, "R-1")
			require.Len(t, notes, 1)
			var p map[string]any
			require.NoError(t, json.Unmarshal([]byte(notes[0].Payload), &p))
			require.Equal(t, tt.lang, p["language"])
			require.Equal(t, tt.noun, p["noun"])
			require.Equal(t, "R-1", p["reservation_no"])
		})
	}
}

// The payload carries the opening and the site's zone, so that the SMS
// says when the booking opened in the site's time (notify shows them).
func TestNotesCarryTheOpeningInTheSitesZone(t *testing.T) {
	t.Parallel()
	seoul, err := time.LoadLocation("Asia/Seoul")
	require.NoError(t, err)
	opens := time.Date(2030, 4, 24, 0, 0, 0, 0, time.UTC)
	r := &run{
		d:    &Daemon{},
		prof: &profile.Profile{Name: "courtsim", Location: seoul},
		b:    &booking.Booking{ID: 7, Site: "courtsim", Court: "3", PlayDate: "2030-05-01", OpensAt: opens, Phone: "+821012345678"},
	}
	notes := r.notesFor(r.b.Notice(), KindBooked, "R-1")
	require.Len(t, notes, 1)
	var p map[string]any
	require.NoError(t, json.Unmarshal([]byte(notes[0].Payload), &p))
	require.Equal(t, "2030-04-24T00:00:00Z", p["opens_at"])
	require.Equal(t, "Asia/Seoul", p["time_zone"])
}
