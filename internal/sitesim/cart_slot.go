package sitesim

import (
	"time"
)

// seoul is the cart site's time zone. Korea has kept +09:00 without
// daylight saving since 1988, so a fixed zone is exact and needs no tzdata.
var seoul = time.FixedZone("KST", 9*60*60)

// CartOpensAt is the first instant on the site's clock at which the cart
// flavour accepts a slot ending at slotEnd: the site compares its clock
// truncated to the second, plus notice, with the slot's end, so the slot
// opens at slotEnd − notice rounded up to the next whole second.
func CartOpensAt(slotEnd time.Time, notice time.Duration) time.Time {
	t := slotEnd.Add(-notice)
	if r := t.Truncate(time.Second); !r.Equal(t) {
		return r.Add(time.Second)
	}
	return t
}

// cartOpen reports whether a slot ending at end can be put in the cart at
// now: truncate(now, 1s) + notice >= end.
func cartOpen(now, end time.Time, notice time.Duration) bool {
	return !now.Truncate(time.Second).Add(notice).Before(end)
}

// cartSlot is one resource's hourly slot as the cart API names it.
type cartSlot struct {
	key        slotKey
	start, end time.Time // in seoul
}

// slotStart is when slot n of the day d (a yyyymmdd date) begins: slot n
// runs from (5+n):00 to (6+n):00 site time, the eGov grid.
func slotStart(date, n int) time.Time {
	return time.Date(date/10000, time.Month(date/100%100), date%100, 5+n, 0, 0, 0, seoul)
}

// slotOf maps a key back to its times.
func slotOf(k slotKey) cartSlot {
	start := slotStart(k.date, k.slot)
	return cartSlot{key: k, start: start, end: start.Add(time.Hour)}
}

// gridSlot reads the RFC 3339 start and end of an add-to-cart request. ok
// is false unless they name one slot of the grid: start on the whole hour
// of a slot, end one hour later. Any offset is accepted, since it names the
// same instant. day is the start's date in site time.
func (s *Site) gridSlot(startRaw, endRaw string) (day time.Time, slot int, ok bool) {
	start, err1 := time.Parse(time.RFC3339, startRaw)
	end, err2 := time.Parse(time.RFC3339, endRaw)
	if err1 != nil || err2 != nil || !end.Equal(start.Add(time.Hour)) {
		return time.Time{}, 0, false
	}
	local := start.In(seoul)
	slot = local.Hour() - 5
	if local.Minute() != 0 || local.Second() != 0 || local.Nanosecond() != 0 || slot < 1 || slot > s.opts.Slots {
		return time.Time{}, 0, false
	}
	return local, slot, true
}

// isoTime is how the cart API writes an instant: RFC 3339 in site time,
// whole seconds, e.g. 2026-12-24T10:00:00+09:00.
func isoTime(t time.Time) string { return t.In(seoul).Format(time.RFC3339) }
