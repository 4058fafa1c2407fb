package draft

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/har"
	"reserver/internal/sitesim"
	"reserver/internal/sitesim/simbrowser"
)

// A person books one slot in a real Chromium on each flavour while the
// browser records; the draft of that recording, unchanged, books another
// court, day and time on a fresh simulator.
func TestDraftFromARealBrowserBooks(t *testing.T) {
	ctx := simbrowser.StartForTest(t)
	day := time.Now().In(seoul).AddDate(0, 0, 1)
	for _, tc := range []struct {
		name string
		opts sitesim.Options
		book func(context.Context, string, simbrowser.Booking) (*har.HAR, error)
		// the rehearsal: another court and time, an account of the recorded one's language
		court, start, end, user string
		slot                    int
	}{
		{"egov", sitesim.Options{}, simbrowser.BookEgov, "6", "13:00", "14:00", "user007", 8},
		{"egov-euc-kr", sitesim.Options{Charset: sitesim.CharsetEUCKR}, simbrowser.BookEgov, "2", "08:00", "09:00", "user004", 3},
		{"cart", sitesim.Options{Flavor: sitesim.FlavorCart}, simbrowser.BookCart, "4", "14:00", "15:00", "user003", 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := sitesim.Start(tc.opts)
			require.NoError(t, err)
			defer rec.Close()
			b := simbrowser.Booking{Account: "user001", Password: "pass1234", Court: 3, Date: day.Format(time.DateOnly),
				Start: "10:00", End: "11:00", Name: "홍길동", Phone: "010-1234-5678"}
			bctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			h, err := tc.book(bctx, rec.URL(), b)
			require.NoError(t, err)
			sample := Sample{Court: "3", Date: b.Date, Start: b.Start, End: b.End, Name: b.Name, Phone: b.Phone,
				Username: b.Account, Password: b.Password}
			if tc.opts.Flavor != sitesim.FlavorCart {
				sample.Fields = map[string]string{"people": "2"}
			}
			res, err := Draft(h, Options{Name: "browserdraft", Sample: sample})
			require.NoError(t, err)
			t.Logf("report:\n  %s", joinLines(res.Report))

			fresh, err := sitesim.Start(tc.opts)
			require.NoError(t, err)
			defer fresh.Close()
			bk := booking(res.Profile, day, tc.court, tc.start, tc.end)
			ok, out := rehearse(t, res.Profile, fresh, tc.user, bk)
			require.True(t, ok, "%s\n%s", out, res.YAML)
			led := fresh.Ledger()
			require.Len(t, led.Reservations, 1)
			require.Equal(t, tc.slot, led.Reservations[0].Slot)
		})
	}
}

func joinLines(ls []string) string {
	out := ""
	for i, l := range ls {
		if i > 0 {
			out += "\n  "
		}
		out += l
	}
	return out
}
