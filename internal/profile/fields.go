package profile

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// FieldError is one problem with a booking's site-specific fields.
type FieldError struct {
	Field   string
	Problem string
}

func (e FieldError) Error() string { return e.Field + ": " + e.Problem }

var phoneRe = regexp.MustCompile(`^(?:\+[1-9][0-9]{6,14}|0[0-9]{1,2}-?[0-9]{3,4}-?[0-9]{4})$`)

// ValidateFields checks the site-specific fields of a booking (the keys of
// BookingData.Fields) against the profile and returns every problem,
// ordered by field name: missing required fields, unknown fields, values of
// the wrong type, outside the allowed list or not matching the pattern.
// Values are never echoed back, since some fields are secret.
func (p *Profile) ValidateFields(fields map[string]string) []FieldError {
	var errs []FieldError
	known := make(map[string]bool, len(p.Fields))
	for _, f := range p.Fields {
		known[f.Name] = true
		v, ok := fields[f.Name]
		if !ok || v == "" {
			if f.Required {
				errs = append(errs, FieldError{f.Name, "is required"})
			}
			continue
		}
		if msg := f.check(v); msg != "" {
			errs = append(errs, FieldError{f.Name, msg})
		}
	}
	for name := range fields {
		if !known[name] {
			errs = append(errs, FieldError{name, fmt.Sprintf("is not a field of site %s", p.Name)})
		}
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Field < errs[j].Field })
	return errs
}

func (f *Field) check(v string) string {
	switch f.Type {
	case FieldInt:
		if _, err := strconv.Atoi(v); err != nil {
			return "must be an integer"
		}
	case FieldPhone:
		if !phoneRe.MatchString(v) {
			return "must be a phone number (E.164 such as +821012345678, or 010-1234-5678)"
		}
	case FieldDate:
		if _, err := time.Parse(time.DateOnly, v); err != nil {
			return "must be a date YYYY-MM-DD"
		}
	case FieldTime:
		if h, _, err := splitHHMM(v); err != nil || h == 24 || len(v) != 5 {
			return "must be a time HH:MM"
		}
	}
	if len(f.Values) > 0 && !slices.Contains(f.Values, v) {
		if f.Secret {
			return "must be one of the allowed values"
		}
		return "must be one of: " + strings.Join(f.Values, ", ")
	}
	if f.Pattern != nil && !f.Pattern.MatchString(v) {
		return "does not match the pattern " + f.Pattern.String()
	}
	return ""
}
