package ippool

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseWaitText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		// Waits, in the phrases block pages use.
		{"비정상적인 접근이 감지되어 차단되었습니다 1분 후 다시 시도해 주십시오.", time.Minute, true},
		{"10분 후 다시 시도", 10 * time.Minute, true},
		{"10분 뒤에 이용하세요", 10 * time.Minute, true},
		{"30초 후에 다시 접속해 주세요", 30 * time.Second, true},
		{"30초 후 재시도", 30 * time.Second, true},
		{"2시간 후", 2 * time.Hour, true},
		{"1시간 30분 이후에 이용 가능합니다", 90 * time.Minute, true},
		{"5분이 지나면 자동으로 해제됩니다", 5 * time.Minute, true},
		{"과도한 요청으로 10분간 접속이 차단됩니다", 10 * time.Minute, true},
		{"3분 동안 이용이 제한됩니다", 3 * time.Minute, true},
		{"잠시 후 다시 시도해 주십시오 (약 5분)", 5 * time.Minute, true},
		{"남은 시간: 7분", 7 * time.Minute, true},
		{"please try again in 5 minutes", 5 * time.Minute, true},
		{"Try again after 2 hours", 2 * time.Hour, true},
		{"retry after 30 seconds", 30 * time.Second, true},
		{"retry after 45 seconds", 45 * time.Second, true},
		{"Please wait 2 minutes before your next request", 2 * time.Minute, true},
		{"Please wait for 90s.", 90 * time.Second, true},
		{"You have been blocked for 10 minutes.", 10 * time.Minute, true},
		{"Your IP is rate-limited for 1 hour and 30 minutes", 90 * time.Minute, true},
		{"Access will be restored in 15 mins", 15 * time.Minute, true},
		{"try again 5 minutes later", 5 * time.Minute, true},
		{"blocked for 99999 hours", maxWait, true},

		// The wait among other numbers: only the wait phrase counts.
		{"고객센터 24시간 운영 (02-1234-5678). 차단되었습니다. 10분 후 다시 시도해 주세요.", 10 * time.Minute, true},
		{"운영시간 09:00~18:00 · 2026-12-01 · 접속이 차단되었습니다. 30초 후에 다시 시도", 30 * time.Second, true},
		{"Open 24 hours, call 1588-1234. Blocked: try again in 3 minutes.", 3 * time.Minute, true},

		// Numbers that are not a wait.
		{"접속이 차단되었습니다. 고객센터는 24시간 운영합니다.", 0, false},
		{"24시간 운영", 0, false},
		{"잠시 후 다시 시도해 주세요. 고객센터는 24시간 운영합니다.", 0, false},
		{"운영시간 09:00 ~ 18:00", 0, false},
		{"문의 02-1234-5678, 1588-1234", 0, false},
		{"2026-12-01 예약 현황", 0, false},
		{"예약 시간 10시 30분", 0, false},
		{"예약 30분 전까지 취소 가능", 0, false},
		{"We are open 24 hours a day, 7 days a week.", 0, false},
		{"Session lasts 30 minutes", 0, false},
		{"Access denied. Call 555-0100.", 0, false},
		{"1234567분 후", 0, false},
		{"차단되었습니다", 0, false},
		{"잠시 후 다시 시도해 주세요", 0, false},
		{"try again in a few minutes", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, ok := ParseWaitText(tt.in)
			require.Equal(t, tt.ok, ok, "found a wait")
			require.Equal(t, tt.want, got)
		})
	}
}
