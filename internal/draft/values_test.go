package draft

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Values of the booking in whichever spelling a site uses become templates;
// a short value is taken on its field's name, and said to be a guess when
// the name says nothing.
func TestParametrize(t *testing.T) {
	t.Parallel()
	loc, err := time.LoadLocation("Asia/Seoul")
	require.NoError(t, err)
	ps := Sample{Court: "3", Date: "2026-12-24", Start: "10:00", End: "11:00", Name: "홍길동", Phone: "010-1234-5678",
		Username: "user001", Password: "s3cret!", Fields: map[string]string{"people": "2"}}.params(loc)
	tests := []struct {
		value, name, want string
		guess             bool
	}{
		{"20261224", "useDate", "{{ yyyymmdd .Booking.Date }}", false},
		{"2026-12-24", "date", `{{ date "2006-01-02" .Booking.Date }}`, false},
		{"2026.12.24", "d", `{{ date "2006.01.02" .Booking.Date }}`, false},
		{"2026/12/24", "d", `{{ date "2006/01/02" .Booking.Date }}`, false},
		{"2026-12-24T10:00:00+09:00", "start", "{{ iso .Booking.StartAt }}", false},
		{"2026-12-24T11:00:00+09:00", "end", "{{ iso .Booking.EndAt }}", false},
		{"2026-12-24 10:00", "from", `{{ date "2006-01-02 15:04" .Booking.StartAt }}`, false},
		{"10:00", "time", "{{ .Booking.Start }}", false},
		{"10:00 AM", "t", `{{ date "3:04 PM" .Booking.StartAt }}`, false},
		{"1000", "stime", `{{ date "1504" .Booking.StartAt }}`, true},
		{"10시", "hour", "{{ hour .Booking.Start }}시", true},
		{"3", "facilityNo", "{{ .Booking.Court }}", false},
		{"3", "resource_id", "{{ .Booking.Court }}", false},
		{"03", "courtNo", `{{ printf "%02s" .Booking.Court }}`, false},
		{"3", "x", "{{ .Booking.Court }}", true},
		{"2", "people", "{{ .Booking.Fields.people }}", false},
		{"010-1234-5678", "tel", "{{ dashphone .Booking.Phone }}", false},
		{"01012345678", "tel", "{{ localphone .Booking.Phone }}", false},
		{"+821012345678", "tel", "{{ .Booking.Phone }}", false},
		{"홍길동", "userName", "{{ .Booking.Name }}", false},
		{"s3cret!", "pw", "{{ .Account.Password }}", false},
		{"/facility/2026-12-24/slots", "url", `/facility/{{ date "2006-01-02" .Booking.Date }}/slots`, false},
		{"4", "timeNo", "4", false},
		{"13", "x", "13", false},
	}
	for _, tc := range tests {
		got, _, guess := parametrize(tc.value, tc.name, ps)
		require.Equal(t, tc.want, got, "%s=%s", tc.name, tc.value)
		require.Equal(t, tc.guess, guess, "%s=%s: a guess?", tc.name, tc.value)
	}
}
