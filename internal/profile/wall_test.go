package profile

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestZonedWallTimeAroundEveryTransition checks zonedWallTime against its
// definition — the first instant at which the zone's clock shows the wall
// time or later — for every quarter hour of the days around each 2026
// transition of zones with whole-hour, half-hour (Lord Howe) and
// 45-minute (Chatham) offsets, north and south.
func TestZonedWallTimeAroundEveryTransition(t *testing.T) {
	t.Parallel()
	transitions := map[string]int{"America/New_York": 2, "Europe/Berlin": 2, "Australia/Sydney": 2,
		"Australia/Lord_Howe": 2, "Pacific/Chatham": 2, "Asia/Seoul": 0}
	for zone, n := range transitions {
		loc, err := time.LoadLocation(zone)
		require.NoError(t, err)
		days := []time.Time{time.Date(2026, 6, 1, 0, 0, 0, 0, loc)}
		for at := time.Date(2026, 1, 1, 0, 0, 0, 0, loc); at.Year() == 2026; {
			_, end := at.ZoneBounds()
			if end.IsZero() || end.Year() != 2026 {
				break
			}
			days = append(days, end.AddDate(0, 0, -1), end, end.AddDate(0, 0, 1))
			at = end
		}
		require.Len(t, days, 1+3*n, zone)
		for _, day := range days {
			y, m, d := day.Date()
			for off := time.Duration(0); off <= 24*time.Hour; off += 15 * time.Minute {
				got := zonedWallTime(y, m, d, off, loc)
				want := firstAtOrAfter(y, m, d, off, loc)
				require.True(t, want.Equal(got), "%s %04d-%02d-%02d +%s: got %s, want %s", zone, y, m, d, off, got, want)
			}
		}
	}
}

// firstAtOrAfter scans the instants of a day and a half around the wall
// time, a quarter hour apart (every 2026 transition falls on one), for the
// first whose wall clock reads the wall time or later.
func firstAtOrAfter(y int, m time.Month, d int, off time.Duration, loc *time.Location) time.Time {
	wall := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Add(off)
	for u := wall.Add(-15 * time.Hour); u.Before(wall.Add(15 * time.Hour)); u = u.Add(15 * time.Minute) {
		local := u.In(loc)
		lw := time.Date(local.Year(), local.Month(), local.Day(), local.Hour(), local.Minute(), local.Second(), 0, time.UTC)
		if !lw.Before(wall) {
			return local
		}
	}
	panic("no instant found")
}
