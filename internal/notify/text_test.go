package notify

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"reserver/internal/notify/smstext"
)

func TestSMSLength(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in    string
		bytes int
	}{
		{"", 0},
		{"abc", 3},
		{"예약", 4},
		{"[reserver] 3번 코트", 19},
		{"😀", 2},
	}
	for _, c := range cases {
		require.Equal(t, c.bytes, smsBytes(c.in), c.in)
	}
	for _, c := range []struct {
		in    string
		limit int
	}{
		{strings.Repeat("가", 100), 90},
		{strings.Repeat("a", 100), 90},
		{"a" + strings.Repeat("가", 100), 90},
		{strings.Repeat("가", 10), 90},
	} {
		got := cutBytes(c.in, c.limit)
		require.LessOrEqual(t, smsBytes(got), c.limit)
		require.True(t, utf8.ValidString(got))
		if smsBytes(c.in) > c.limit {
			require.True(t, strings.HasSuffix(got, "…"))
			require.GreaterOrEqual(t, smsBytes(got), c.limit-2, "cut no more than needed")
		} else {
			require.Equal(t, c.in, got)
		}
	}
	require.Equal(t, "가나…", cutRunes("가나다라", 3))
	require.Equal(t, "가나다", cutRunes("가나다", 3))
}

func TestMaskPhone(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"+821012345678": "+82******5678",
		"01012345678":   "01*****5678",
		"+1555":         "*****",
	}
	for in, want := range cases {
		require.Equal(t, want, maskPhone(in))
	}
}

func TestPayloadData(t *testing.T) {
	t.Parallel()
	d, err := payloadData(`{"site":"courtsim","court":"3","date":"2030-05-01","start":"10:00","end":"11:00","reservation_no":"R-9","name":"홍길동","extra":1}`)
	require.NoError(t, err)
	require.Equal(t, Data{Site: "courtsim", Court: "3", Date: "2030-05-01", Start: "10:00", End: "11:00", ReservationNo: "R-9", Name: "홍길동",
		Language: "ko", Noun: "코트"}, d, "a payload written before languages existed is Korean, about a court")
	d, err = payloadData(`{"court":3}`)
	require.NoError(t, err)
	require.Equal(t, "3", d.Court, "numbers are shown as text")
	_, err = payloadData(`not json`)
	require.Error(t, err)
}

func TestDefaultTemplates(t *testing.T) {
	t.Parallel()
	tx, err := parseTexts(nil, nil)
	require.NoError(t, err)
	d := Data{Site: "courtsim", Court: "3", Date: "2030-05-01", Start: "10:00", End: "11:00", ReservationNo: "R-9", Reason: "window_closed",
		Language: "ko", Noun: "코트"}
	d.ReasonText = smstext.ReasonText("ko", d.Reason)
	cases := map[string]string{
		KindBooked:      "[reserver] 2030-05-01 10:00-11:00 3번 코트 예약 완료. 예약번호 R-9",
		KindLoginFailed: "[reserver] courtsim 로그인 실패: 비밀번호가 거부되었습니다. 2030-05-01 10:00 3번 코트 예약이 열리기 전에 지금 확인하세요.",
		KindFailed:      "[reserver] 2030-05-01 10:00-11:00 3번 코트 예약 실패: 예약 시간 안에 성공하지 못했습니다",
	}
	for kind, want := range cases {
		got, err := tx.render(kind, d)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	// The confirmation fits one SMS (90 EUC-KR bytes) for usual values.
	got, _ := tx.render(KindBooked, d)
	require.LessOrEqual(t, smsBytes(got), SolapiSMSBytes)
	require.Equal(t, "알 수 없는 이유", smstext.ReasonText("ko", ""))
	require.Equal(t, "new_code", smstext.ReasonText("ko", "new_code"))

	// A success without a number (verify confirmed it but showed none)
	// never claims one.
	d.ReservationNo = ""
	got, err = tx.render(KindBooked, d)
	require.NoError(t, err)
	require.Equal(t, "[reserver] 2030-05-01 10:00-11:00 3번 코트 예약 완료. 예약번호는 사이트의 예약 내역에서 확인하세요.", got)
	require.NotContains(t, got, "예약번호 ")
}
