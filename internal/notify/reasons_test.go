package notify

import (
	"testing"

	"github.com/stretchr/testify/require"

	"reserver/internal/notify/smstext"
)

// The failure text of each language says why, in words a person
// understands: the built-in template with the booking's reason.
func TestFailureTextNamesItsCause(t *testing.T) {
	t.Parallel()
	tx, err := parseTexts(nil, nil)
	require.NoError(t, err)
	tests := []struct {
		lang, reason, want string
	}{
		{"en", "sold_out", "[reserver] 2030-05-01 10:00-11:00 court 3 not booked: someone else booked it first"},
		{"ko", "sold_out", "[reserver] 2030-05-01 10:00-11:00 3번 코트 예약 실패: 이미 다른 사람이 예약했습니다"},
		{"en", "login_failed", "[reserver] 2030-05-01 10:00-11:00 court 3 not booked: the site refused the login: wrong password?"},
		{"ko", "login_failed", "[reserver] 2030-05-01 10:00-11:00 3번 코트 예약 실패: 사이트가 로그인을 거부했습니다. 비밀번호가 틀렸을 수 있습니다"},
		{"en", "site_blocked", "[reserver] 2030-05-01 10:00-11:00 court 3 not booked: the site was blocking our requests until the booking window closed"},
		{"ko", "site_blocked", "[reserver] 2030-05-01 10:00-11:00 3번 코트 예약 실패: 사이트가 우리 요청을 차단하는 동안 예약 시간이 끝났습니다"},
		{"en", "window_closed", "[reserver] 2030-05-01 10:00-11:00 court 3 not booked: no success within the booking window"},
		{"ko", "window_closed", "[reserver] 2030-05-01 10:00-11:00 3번 코트 예약 실패: 예약 시간 안에 성공하지 못했습니다"},
		{"en", "site_rejected", "[reserver] 2030-05-01 10:00-11:00 court 3 not booked: the site refused the request as invalid (a court or time it does not have?)"},
		{"ko", "site_rejected", "[reserver] 2030-05-01 10:00-11:00 3번 코트 예약 실패: 사이트가 요청을 거부했습니다(없는 코트나 시간일 수 있습니다)"},
	}
	for _, tt := range tests {
		t.Run(tt.lang+"/"+tt.reason, func(t *testing.T) {
			t.Parallel()
			d, err := payloadData(payloadOf(`"language":"` + tt.lang + `","reason":"` + tt.reason + `"`))
			require.NoError(t, err)
			d.Kind = KindFailed
			d.ReasonText = smstext.ReasonText(d.Language, d.Reason)
			got, err := tx.render(KindFailed, d)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}
