package notify

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
	"reserver/internal/notify/smstext"
)

// payloadOf is an outbox payload of court 3 at courtsim with the given
// extra keys (language, noun, reason, site, reservation_no).
func payloadOf(extra string) string {
	p := `{"site":"courtsim","court":"3","date":"2030-05-01","start":"10:00","end":"11:00","reservation_no":"R-9","name":"홍길동"`
	if extra != "" {
		p += "," + extra
	}
	return p + "}"
}

// A message's text is the site's own template in the message's language,
// else the configuration's (Korean messages only), else the built-in one
// of the language; the language and the noun come from the payload, and a
// payload without them (an older version wrote it) is Korean, about a
// court.
func TestTextsPickByLanguage(t *testing.T) {
	t.Parallel()
	sites, err := NewSiteTexts(map[string]map[string]string{
		"en": {KindBooked: "site en: {{.Noun}} {{.Court}} ok {{.ReservationNo}}"},
		"ko": {KindFailed: "site ko: {{.Court}}번 {{.Noun}} 실패 ({{.ReasonText}})"},
	})
	require.NoError(t, err)
	global := map[string]string{
		KindBooked: "config: {{.Court}}번 {{.Noun}} 완료 {{.ReservationNo}}",
		KindFailed: "config failed {{.Court}}",
	}
	tests := []struct {
		name     string
		global   map[string]string
		sites    map[string]*SiteTexts
		kind     string
		payload  string
		want     string
		wantFrom string
	}{
		// Built-in texts, per language.
		{"old payload: Korean, court", nil, nil, KindBooked, payloadOf(""),
			"[reserver] 2030-05-01 10:00-11:00 3번 코트 예약 완료. 예약번호 R-9", "builtin"},
		{"Korean with the site's noun", nil, nil, KindBooked, payloadOf(`"language":"ko","noun":"방"`),
			"[reserver] 2030-05-01 10:00-11:00 3번 방 예약 완료. 예약번호 R-9", "builtin"},
		{"English booked", nil, nil, KindBooked, payloadOf(`"language":"en","noun":"lane"`),
			"[reserver] 2030-05-01 10:00-11:00 lane 3 booked. Reservation no. R-9", "builtin"},
		{"English booked, no number", nil, nil, KindBooked, `{"site":"courtsim","court":"3","date":"2030-05-01","start":"10:00","end":"11:00","language":"en"}`,
			"[reserver] 2030-05-01 10:00-11:00 court 3 booked. See the site's reservation list for the number.", "builtin"},
		{"English login failed", nil, nil, KindLoginFailed, payloadOf(`"language":"en","noun":"court"`),
			"[reserver] courtsim login failed: the password was refused. Check it now, before booking court 3 on 2030-05-01 10:00 opens.", "builtin"},
		{"English failed, reason in English", nil, nil, KindFailed, payloadOf(`"language":"en","noun":"room","reason":"sold_out"`),
			"[reserver] 2030-05-01 10:00-11:00 room 3 not booked: someone else booked it first", "builtin"},
		{"a language this version has no texts for is Korean", nil, nil, KindFailed, payloadOf(`"language":"ja","reason":"sold_out"`),
			"[reserver] 2030-05-01 10:00-11:00 3번 코트 예약 실패: 이미 다른 사람이 예약했습니다", "builtin"},

		// The configuration's templates: Korean messages only.
		{"config overrides Korean", global, nil, KindBooked, payloadOf(`"language":"ko","noun":"코트"`),
			"config: 3번 코트 완료 R-9", "config"},
		{"config overrides an old payload", global, nil, KindBooked, payloadOf(""),
			"config: 3번 코트 완료 R-9", "config"},
		{"config does not touch English", global, nil, KindBooked, payloadOf(`"language":"en","noun":"court"`),
			"[reserver] 2030-05-01 10:00-11:00 court 3 booked. Reservation no. R-9", "builtin"},

		// The site's own templates come first.
		{"site overrides English", global, map[string]*SiteTexts{"courtsim": sites}, KindBooked, payloadOf(`"language":"en","noun":"court"`),
			"site en: court 3 ok R-9", "site"},
		{"site overrides the config in Korean", global, map[string]*SiteTexts{"courtsim": sites}, KindFailed, payloadOf(`"language":"ko","noun":"코트","reason":"sold_out"`),
			"site ko: 3번 코트 실패 (이미 다른 사람이 예약했습니다)", "site"},
		{"a kind the site leaves out falls back to the config", global, map[string]*SiteTexts{"courtsim": sites}, KindBooked, payloadOf(`"language":"ko","noun":"코트"`),
			"config: 3번 코트 완료 R-9", "config"},
		{"a language the site leaves out falls back to the built-in", nil, map[string]*SiteTexts{"courtsim": sites}, KindFailed, payloadOf(`"language":"en","noun":"court","reason":"window_closed"`),
			"[reserver] 2030-05-01 10:00-11:00 court 3 not booked: no success within the booking window", "builtin"},
		{"another site's templates do not apply", nil, map[string]*SiteTexts{"othersite": sites}, KindBooked, payloadOf(`"language":"en","noun":"court"`),
			"[reserver] 2030-05-01 10:00-11:00 court 3 booked. Reservation no. R-9", "builtin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tx, err := parseTexts(tt.global, tt.sites)
			require.NoError(t, err)
			d, err := payloadData(tt.payload)
			require.NoError(t, err)
			d.Kind = tt.kind
			d.ReasonText = smstext.ReasonText(d.Language, d.Reason)
			got, err := tx.render(tt.kind, d)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			_, from := tx.pick(d.Site, d.Language, tt.kind)
			require.Equal(t, tt.wantFrom, from)
		})
	}
}

func TestNewSiteTextsValidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  map[string]map[string]string
		want string
	}{
		{"unknown language", map[string]map[string]string{"ja": {KindBooked: "x"}}, `unknown language "ja"`},
		{"unknown field", map[string]map[string]string{"en": {KindBooked: "{{.Room}}"}}, "templates.en.booked: template: booked:1:2: executing \"booked\" at <.Room>: can't evaluate field Room"},
		{"bad syntax", map[string]map[string]string{"ko": {KindFailed: "{{.Court"}}, "templates.ko.failed"},
		{"empty text", map[string]map[string]string{"en": {KindFailed: "{{if false}}x{{end}}"}}, "renders an empty text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewSiteTexts(tt.src)
			require.ErrorIs(t, err, ErrConfig)
			require.ErrorContains(t, err, tt.want)
		})
	}
	s, err := NewSiteTexts(nil)
	require.NoError(t, err)
	require.NotNil(t, s)
}

// Through the relay and the outbox: each row is rendered in its own
// language, and a row written by an older version (no language, no noun)
// reads as it always did.
func TestRelayRendersEachRowInItsLanguage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := sqliteFixture(t)
		old := f.row(t, KindBooked, testPhone, payloadOf(""))
		ko := f.row(t, KindBooked, testPhone, payloadOf(`"language":"ko","noun":"레인"`))
		en := f.row(t, KindBooked, testPhone, payloadOf(`"language":"en","noun":"lane"`))
		enFailed := f.row(t, KindFailed, testPhone, payloadOf(`"language":"en","noun":"lane"`))
		// The relay reads the reason of a failed booking from its row.
		require.NoError(t, f.db.Model(&booking.Booking{}).Where("id = ?", enFailed.BookingID).Update("reason", "window_closed").Error)

		site, err := NewSiteTexts(map[string]map[string]string{"en": {KindBooked: "[reserver] {{.Noun}} {{.Court}} is yours: {{.ReservationNo}}"}})
		require.NoError(t, err)
		rec := newRecorder()
		r := f.relay(t, "r1", Config{Sender: rec, SiteTexts: map[string]*SiteTexts{"courtsim": site}})
		require.NoError(t, r.Start(t.Context()))
		for _, row := range []booking.Outbox{old, ko, en, enFailed} {
			require.Equal(t, StateSent, f.waitDone(t, row.ID, time.Minute).State)
		}
		r.Stop()
		texts := map[int64]string{}
		for _, ms := range rec.applied {
			for _, m := range ms {
				texts[m.BookingID] = m.Text
			}
		}
		require.Equal(t, "[reserver] 2030-05-01 10:00-11:00 3번 코트 예약 완료. 예약번호 R-9", texts[old.BookingID])
		require.Equal(t, "[reserver] 2030-05-01 10:00-11:00 3번 레인 예약 완료. 예약번호 R-9", texts[ko.BookingID])
		require.Equal(t, "[reserver] lane 3 is yours: R-9", texts[en.BookingID], "the site's English template")
		require.Equal(t, "[reserver] 2030-05-01 10:00-11:00 lane 3 not booked: no success within the booking window", texts[enFailed.BookingID])
	})
}
