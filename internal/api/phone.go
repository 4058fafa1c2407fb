package api

import (
	"errors"
	"strings"
)

var errPhone = errors.New("expected a mobile number such as 010-1234-5678 or +821012345678")

// normalizePhone turns Korean mobile formats (010-1234-5678, 010 1234 5678,
// 01012345678, +82 10-1234-5678, 82-10-1234-5678) and other E.164 numbers
// into E.164 (+821012345678).
func normalizePhone(s string) (string, error) {
	var digits strings.Builder
	plus := false
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case r == '+' && i == 0:
			plus = true
		case r == '-' || r == ' ' || r == '.' || r == '(' || r == ')':
		default:
			return "", errPhone
		}
	}
	d := digits.String()
	switch {
	case plus && strings.HasPrefix(d, "82"):
		d = strings.TrimPrefix(d[2:], "0")
		return korean("+82" + d)
	case plus:
		if len(d) < 8 || len(d) > 15 || d[0] == '0' {
			return "", errPhone
		}
		return "+" + d, nil
	case strings.HasPrefix(d, "82") && len(d) >= 11:
		return korean("+82" + strings.TrimPrefix(d[2:], "0"))
	case strings.HasPrefix(d, "0"):
		return korean("+82" + d[1:])
	}
	return "", errPhone
}

// korean checks a +82 mobile number: 10, 11, 16, 17, 18 or 19 followed by
// 7 or 8 digits (010 numbers have 8).
func korean(e164 string) (string, error) {
	rest := strings.TrimPrefix(e164, "+82")
	if len(rest) < 9 || len(rest) > 10 || rest[0] != '1' {
		return "", errPhone
	}
	switch rest[:2] {
	case "10":
		if len(rest) != 10 {
			return "", errPhone
		}
	case "11", "16", "17", "18", "19":
	default:
		return "", errPhone
	}
	return e164, nil
}
