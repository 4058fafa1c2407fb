package sitesim

import "time"

// Periods of the per-account limits, as the limit answers name them.
const (
	periodDay  = "day"
	periodWeek = "week"
)

// accountLimits are Options.AccountLimitPerDay and AccountLimitPerWeek;
// zero fields are no limit.
type accountLimits struct{ perDay, perWeek int }

func (l accountLimits) any() bool { return l.perDay > 0 || l.perWeek > 0 }

// exceeded returns the period whose limit one more reservation on date
// (yyyymmdd) would pass, given the dates the account already holds, and
// that limit; "" when it stays within both. The day is checked first.
func (l accountLimits) exceeded(date int, held []int) (period string, limit int) {
	if !l.any() {
		return "", 0
	}
	mon, sun := weekOf(date)
	var day, week int
	for _, d := range held {
		if d == date {
			day++
		}
		if d >= mon && d <= sun {
			week++
		}
	}
	switch {
	case l.perDay > 0 && day+1 > l.perDay:
		return periodDay, l.perDay
	case l.perWeek > 0 && week+1 > l.perWeek:
		return periodWeek, l.perWeek
	}
	return "", 0
}

// weekOf returns the Monday and the Sunday (yyyymmdd) of date's week.
func weekOf(date int) (mon, sun int) {
	d := time.Date(date/10000, time.Month(date/100%100), date%100, 0, 0, 0, 0, time.UTC)
	back := (int(d.Weekday()) + 6) % 7 // days since Monday
	m := d.AddDate(0, 0, -back)
	return dateNum(m), dateNum(m.AddDate(0, 0, 6))
}

func dateNum(t time.Time) int { return t.Year()*10000 + int(t.Month())*100 + t.Day() }

// isoDateNum turns a ledger date (YYYY-MM-DD) back into yyyymmdd.
func isoDateNum(iso string) int {
	t, err := time.Parse(time.DateOnly, iso)
	if err != nil {
		return 0
	}
	return dateNum(t)
}
