package ippool

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ParseRetryAfter reads a Retry-After header value: delay seconds or an
// HTTP date (then relative to now; a date in the past is a zero wait).
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 || n > int64(maxWait/time.Second) {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return min(max(t.Sub(now), 0), maxWait), true
}

// maxWait bounds parsed waits so that absurd values cannot overflow.
const maxWait = 24 * time.Hour

var waitText = regexp.MustCompile(`(?i)(\d{1,6})\s*(초|분|시간|seconds?|secs?|minutes?|mins?|hours?)\s*(?:후|뒤|이후|later|after)?`)

// ParseWaitText finds a wait in a block page's text, such as "10분 후 다시
// 시도해 주십시오" or "try again in 5 minutes". It returns the first one.
func ParseWaitText(s string) (time.Duration, bool) {
	m := waitText.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return 0, false
	}
	unit := time.Second
	switch u := strings.ToLower(m[2]); {
	case u == "분" || strings.HasPrefix(u, "min"):
		unit = time.Minute
	case u == "시간" || strings.HasPrefix(u, "hour"):
		unit = time.Hour
	}
	return min(time.Duration(n)*unit, maxWait), true
}
