package notify

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"reserver/internal/booking"
	"reserver/internal/profile"
)

// courtsimWithSMS is the shipped courtsim profile plus a booking field
// lang (ko or en) and an sms: section naming it, built from the shipped
// file rather than copied, so that it follows the site's profile.
func courtsimWithSMS(t *testing.T) *profile.Profile {
	t.Helper()
	src, err := os.ReadFile("../../configs/sites/courtsim.yaml")
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(src, &doc))
	var extra yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte(`
field: {name: lang, values: [ko, en], description: language of the booking's text messages}
sms:
  language: ko
  language_field: lang
  noun: {ko: 테니스장, en: tennis court}
`), &extra))
	root, add := doc.Content[0], extra.Content[0]
	for i := 0; i < len(root.Content); i += 2 {
		if root.Content[i].Value == "fields" {
			root.Content[i+1].Content = append(root.Content[i+1].Content, add.Content[1])
		}
	}
	root.Content = append(root.Content, add.Content[2], add.Content[3])
	out, err := yaml.Marshal(&doc)
	require.NoError(t, err)
	p, err := profile.Parse("courtsim-sms.yaml", out)
	require.NoError(t, err)
	require.NotNil(t, p.SMS)
	p, err = p.WithBaseURL("http://courtsim.test")
	require.NoError(t, err)
	return p
}

// A booking whose language field says en gets its confirmation in
// English, with the site's noun; one beside it whose field says ko gets
// it in Korean. The daemon writes the language into the outbox row, and
// the relay renders it: it reads no profile.
func TestEndToEndBookedInTheBookingsLanguage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t)
		s.prof = courtsimWithSMS(t)
		opensAt := s.site.Now().Add(90 * time.Second).Truncate(time.Second)
		s.site.SetOpenAt(opensAt)
		playDate := opensAt.In(s.prof.Location).AddDate(0, 0, 7).Format("2006-01-02")
		book := func(user, court, lang string) *booking.Booking {
			bk, _, err := s.f.store.Create(context.Background(), booking.NewBooking{
				TenantID: s.f.tenant, Site: "courtsim", Username: user, Password: "pass1234", Court: court,
				PlayDate: playDate, StartTime: "10:00", EndTime: "11:00",
				OpensAt: opensAt, WindowSeconds: 60, RatePerSecond: 2, Phone: testPhone, BookerName: "홍길동",
				Fields: map[string]string{"people": "2", "lang": lang},
			})
			require.NoError(t, err)
			return bk
		}
		en := book("user001", "3", "en")
		ko := book("user002", "4", "ko")

		fake := newFakeSolapi(testSolapiKey, testSolapiSecret)
		d := s.daemon(t, "i1")
		relay := s.f.relay(t, "i1", solapiRelayConfig(fake))
		require.NoError(t, d.Start(t.Context()))
		require.NoError(t, relay.Start(t.Context()))
		enRow := s.outboxRow(t, en.ID, KindBooked, 5*time.Minute)
		koRow := s.outboxRow(t, ko.ID, KindBooked, 5*time.Minute)
		d.Stop()
		relay.Stop()

		require.Equal(t, StateSent, enRow.State, enRow.LastError)
		require.Equal(t, StateSent, koRow.State, koRow.LastError)
		var payload map[string]any
		require.NoError(t, json.Unmarshal([]byte(enRow.Payload), &payload))
		require.Equal(t, "en", payload["language"])
		require.Equal(t, "tennis court", payload["noun"])

		numbers := map[int]string{} // court → reservation number
		for _, r := range s.site.Ledger().Reservations {
			numbers[r.Facility] = r.Number
		}
		require.Len(t, numbers, 2)
		texts := map[string]string{}
		for _, m := range fake.messages() {
			texts[m.Msg.CustomFields[SolapiKeyField]] = m.Msg.Text
		}
		require.Len(t, texts, 2, "one message per booking")
		require.Equal(t, "[reserver] "+playDate+" 10:00-11:00 tennis court 3 booked. Reservation no. "+numbers[3], texts[Key(en.ID, KindBooked)])
		require.Equal(t, "[reserver] "+playDate+" 10:00-11:00 4번 테니스장 예약 완료. 예약번호 "+numbers[4], texts[Key(ko.ID, KindBooked)])
	})
}
