package clocksync

import (
	"syscall"
	"time"
)

// osClockTolerance is how far a Clock may read from the kernel's wall clock
// and still be taken for the real clock.
const osClockTolerance = 50 * time.Millisecond

// osClock reports whether now, read on some Clock, is the operating system's
// wall clock. Inside a synctest bubble time.Now reads fake time (starting in
// 2000), which this tells apart from the kernel's.
func osClock(now time.Time) bool {
	var tv syscall.Timeval
	if err := syscall.Gettimeofday(&tv); err != nil {
		return false
	}
	d := now.Sub(time.Unix(tv.Unix()))
	return d < osClockTolerance && d > -osClockTolerance
}

// osSleep sleeps in the kernel, bypassing the runtime's millisecond-grained
// timer wake-ups. It blocks one OS thread for at most coarseSpin.
func osSleep(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	for {
		var rem syscall.Timespec
		err := syscall.Nanosleep(&ts, &rem)
		if err != syscall.EINTR {
			return
		}
		ts = rem
	}
}
