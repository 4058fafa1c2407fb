package sitetime

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFormatInTheSitesZone(t *testing.T) {
	seoul, err := time.LoadLocation("Asia/Seoul")
	require.NoError(t, err)
	opening := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) // 09:00 in Seoul
	require.Equal(t, "2026-12-01 09:00:00 +09:00 KST", Format(opening, seoul))
	require.Equal(t, "2026-12-01 09:00:00.000 +09:00 KST", FormatMilli(opening, seoul))
	require.Equal(t, "09:00:00.000 +09:00", Clock(opening, seoul))
	require.Equal(t, "2026-12-01T00:00:00.000Z", UTC(opening.In(seoul)))
	require.Equal(t, "2026-12-01 00:00:00 +00:00 UTC", Format(opening, nil))
	// A zone whose abbreviation is numeric does not repeat the offset.
	require.Equal(t, "2026-12-01 09:00:00 +09:00", Format(opening, time.FixedZone("", 9*3600)))
}

func TestUntilReadsAtAGlance(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{45 * time.Second, "in 45 s"},
		{12 * time.Minute, "in 12 min"},
		{3*time.Hour + 20*time.Minute, "in 3 h 20 min"},
		{2 * time.Hour, "in 2 h"},
		{265*time.Hour + 50*time.Minute, "in 11 days 2 h"},
		{24 * time.Hour, "in 1 day"},
		{-90 * time.Minute, "1 h 30 min ago"},
		{59*time.Minute + 50*time.Second, "in 1 h"},
		{59*time.Second + 600*time.Millisecond, "in 1 min"},
		{23*time.Hour + 59*time.Minute + 45*time.Second, "in 1 day"},
	} {
		require.Equal(t, tt.want, Until(now, now.Add(tt.d)), "%v", tt.d)
	}
}

func TestSinceOpening(t *testing.T) {
	require.Equal(t, "T+12.3 ms", SinceOpening(12300*time.Microsecond))
	require.Equal(t, "T−9.96 s", SinceOpening(-9960*time.Millisecond))
	require.Equal(t, "T+0.0 ms", SinceOpening(0))
}
