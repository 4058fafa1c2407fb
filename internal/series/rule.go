package series

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

const (
	dateLayout  = "2006-01-02"
	clockLayout = "15:04"
	// MaxSeasonDays bounds a season: a year and a little, so that a
	// typo in a year does not make a rule of decades.
	MaxSeasonDays = 400
)

// Rule says which slots a series books. A weekday rule books Start–End on
// each of Weekdays; a cron rule books a SlotMinutes-long slot starting at
// each match of Cron, evaluated in the site's zone (the location of the
// season's dates), at most one a day.
type Rule struct {
	Weekdays    []time.Weekday
	Start, End  string
	Cron        string
	SlotMinutes int
}

// Slot is one occurrence's slot: the play date and its times, site-local.
type Slot struct {
	Date, Start, End string
	Skipped          bool // the date is one of the series' skipped dates
}

var weekdayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// ParseWeekdays reads weekday names ("sat", "Saturday"), refusing unknown
// ones and repeats, in week order from Sunday.
func ParseWeekdays(names []string) ([]time.Weekday, error) {
	var out []time.Weekday
	for _, n := range names {
		k := strings.ToLower(strings.TrimSpace(n))
		d, ok := weekdayNames[k]
		if !ok && len(k) > 3 {
			d, ok = weekdayNames[k[:3]]
			ok = ok && strings.EqualFold(d.String(), k)
		}
		if !ok {
			return nil, fmt.Errorf("unknown weekday %q: expected one of sun, mon, tue, wed, thu, fri, sat", n)
		}
		if slices.Contains(out, d) {
			return nil, fmt.Errorf("weekday %q is given twice", n)
		}
		out = append(out, d)
	}
	slices.Sort(out)
	return out, nil
}

// WeekdayNames is days as the series stores them: "sat,sun".
func WeekdayNames(days []time.Weekday) string {
	names := make([]string, len(days))
	for i, d := range days {
		names[i] = strings.ToLower(d.String()[:3])
	}
	return strings.Join(names, ",")
}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseCron parses a five-field cron expression (minute hour day-of-month
// month day-of-week, or a descriptor such as @weekly) with robfig/cron's
// parser. The zone is the site's: an expression naming one (CRON_TZ=,
// TZ=) is refused, and so is @every, which is a period, not a time of day.
func ParseCron(expr string) (*cron.SpecSchedule, error) {
	e := strings.TrimSpace(expr)
	if strings.HasPrefix(e, "TZ=") || strings.HasPrefix(e, "CRON_TZ=") {
		return nil, errors.New("a series' cron rule is read in the site's time zone: remove the TZ= prefix")
	}
	if strings.HasPrefix(e, "@every") {
		return nil, errors.New("@every is a period, not a time of day: give minute hour day-of-month month day-of-week, such as \"0 7 * * sat\"")
	}
	s, err := cronParser.Parse(e)
	if err != nil {
		return nil, fmt.Errorf("%q is not a cron expression (minute hour day-of-month month day-of-week, such as \"0 7 * * sat\"): %w", expr, err)
	}
	spec, ok := s.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("%q is not a time-of-day cron expression", expr)
	}
	return spec, nil
}

// Check reports what is wrong with the rule itself.
func (r Rule) Check() error {
	switch {
	case len(r.Weekdays) > 0 && r.Cron != "":
		return errors.New("a rule is weekdays or cron, not both")
	case len(r.Weekdays) > 0:
		start, err1 := time.Parse(clockLayout, r.Start)
		end, err2 := time.Parse(clockLayout, r.End)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("a weekday rule needs start and end as HH:MM (got %q and %q)", r.Start, r.End)
		}
		if !end.After(start) {
			return errors.New("end must be after start")
		}
	case r.Cron != "":
		if _, err := ParseCron(r.Cron); err != nil {
			return err
		}
		if r.SlotMinutes < 1 || r.SlotMinutes > 24*60 {
			return errors.New("a cron rule needs slot_minutes, the length of each slot, from 1 to 1440")
		}
	default:
		return errors.New("a rule needs weekdays (such as [\"sat\"]) or a cron expression")
	}
	return nil
}

// Slots are the rule's slots from the date of from to the date of until,
// both inclusive, in their location (the site's), skip's dates marked
// Skipped. A cron rule that matches twice on one day, or whose slot would
// end after midnight, is an error naming the date.
func (r Rule) Slots(from, until time.Time, skip []string) ([]Slot, error) {
	if err := r.Check(); err != nil {
		return nil, err
	}
	if until.Before(from) {
		return nil, fmt.Errorf("the season's until (%s) is before its from (%s)", until.Format(dateLayout), from.Format(dateLayout))
	}
	if days := int(until.Sub(from).Hours()/24) + 1; days > MaxSeasonDays {
		return nil, fmt.Errorf("the season is %d days long; at most %d", days, MaxSeasonDays)
	}
	loc := from.Location()
	from = time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, loc)
	after := time.Date(until.Year(), until.Month(), until.Day()+1, 0, 0, 0, 0, loc)
	skipped := func(date string) bool { return slices.Contains(skip, date) }
	var out []Slot
	if len(r.Weekdays) > 0 {
		for d := from; d.Before(after); d = d.AddDate(0, 0, 1) {
			if slices.Contains(r.Weekdays, d.Weekday()) {
				date := d.Format(dateLayout)
				out = append(out, Slot{Date: date, Start: r.Start, End: r.End, Skipped: skipped(date)})
			}
		}
		return out, nil
	}
	spec, _ := ParseCron(r.Cron)
	spec.Location = loc // the site's zone, whatever the process's
	length := time.Duration(r.SlotMinutes) * time.Minute
	for t := spec.Next(from.Add(-time.Second)); !t.IsZero() && t.Before(after); t = spec.Next(t) {
		date := t.Format(dateLayout)
		if n := len(out); n > 0 && out[n-1].Date == date {
			return nil, fmt.Errorf("the cron rule %q matches more than once on %s (%s and %s): a series books one slot a day",
				r.Cron, date, out[n-1].Start, t.Format(clockLayout))
		}
		end := t.Add(length)
		if end.Format(dateLayout) != date && end.Format(clockLayout) != "00:00" {
			return nil, fmt.Errorf("the slot starting %s %s would end after midnight", date, t.Format(clockLayout))
		}
		endClock := end.Format(clockLayout)
		if endClock == "00:00" {
			endClock = "23:59" // a slot to midnight; HH:MM has no 24:00
		}
		out = append(out, Slot{Date: date, Start: t.Format(clockLayout), End: endClock, Skipped: skipped(date)})
	}
	return out, nil
}
