//go:build !linux

package clocksync

import "time"

// osClock reports false off Linux: the final wait then uses runtime timers,
// which are accurate to about a millisecond.
func osClock(time.Time) bool { return false }

func osSleep(d time.Duration) { time.Sleep(d) }
