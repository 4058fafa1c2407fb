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

// An amount is one to three number+unit pairs ("10분", "1시간 30분",
// "1 hour and 30 minutes", "90s"). Korean has no word boundary before a
// particle, so the Korean units stand alone; "시" (o'clock) is not one.
const (
	koAmount = `((?:\d{1,6}\s*(?:시간|분|초)\s*){1,3})`
	enUnit   = `(?:hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)\b`
	enAmount = `((?:\d{1,6}\s*` + enUnit + `(?:\s*,?\s*(?:and\s+)?)?){1,3})`
)

// waitPhrases are the ways a block page says how long to wait. A number
// counts only in one of them: a bare "24시간 운영", "09:00", a phone
// number or a date on the same page is not a wait.
var waitPhrases = []*regexp.Regexp{
	// "10분 후 다시 시도", "30초 후에", "10분 뒤", "1시간 30분 이후", "5분 경과 후", "5분이 지나면"
	regexp.MustCompile(koAmount + `(?:이\s*|가\s*)?(?:후|뒤|이후|경과|지나|지난)`),
	// "10분간 접속이 차단", "5분 동안 이용이 제한"
	regexp.MustCompile(koAmount + `(?:간|\s*동안)[^0-9.!?\n]{0,20}?(?:차단|제한|금지|중지|중단|불가|정지|대기)`),
	// "잠시 후 다시 시도해 주십시오 (약 5분)", within one sentence
	regexp.MustCompile(`잠시\s*(?:후|뒤)[^0-9.!?\n]{0,40}?` + koAmount),
	// "남은 시간: 5분", "대기 시간 약 3분"
	regexp.MustCompile(`(?:남은|대기)\s*시간\s*[:：]?\s*(?:약\s*)?` + koAmount),
	// "try again in 5 minutes", "retry after 30 seconds", "wait 2 minutes",
	// "blocked for 10 minutes", "access will be restored in 1 hour"
	regexp.MustCompile(`(?i)\b(?:try(?:ing)?\s+again|retry(?:ing)?|come\s+back|wait(?:ing)?|blocked|banned|locked(?:\s+out)?|suspended|restricted|throttled|rate[- ]limited|restored|unblocked|lifted|available\s+again)` +
		`\s+(?:(?:again|for|in|after|about|approximately|around|roughly|another|at\s+least|up\s+to|the\s+next|next)\s+){0,3}` + enAmount),
	// "try again 5 minutes later", "10 minutes from now"
	regexp.MustCompile(`(?i)(?:^|[^\w.:-])` + enAmount + `\s*(?:later|from\s+now)\b`),
}

var amountPart = regexp.MustCompile(`(?i)(\d{1,6})\s*(시간|분|초|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)`)

// ParseWaitText finds how long a block page asks to wait, such as "10분 후
// 다시 시도해 주십시오" or "try again in 5 minutes". Only a number in a
// wait phrase counts (see waitPhrases); of several, the one earliest in
// the text wins. The result is at most 24 hours.
func ParseWaitText(s string) (time.Duration, bool) {
	best, bestAt := "", -1
	for _, re := range waitPhrases {
		for _, m := range re.FindAllStringSubmatchIndex(s, -1) {
			at := m[2]
			if at > 0 && strings.ContainsAny(s[at-1:at], "0123456789.:-/") {
				continue // the tail of a longer number, time or date
			}
			if bestAt < 0 || at < bestAt {
				best, bestAt = s[m[2]:m[3]], at
			}
			break
		}
	}
	if bestAt < 0 {
		return 0, false
	}
	var d time.Duration
	for _, p := range amountPart.FindAllStringSubmatch(best, -1) {
		n, err := strconv.Atoi(p[1])
		if err != nil {
			return 0, false
		}
		d += min(time.Duration(n)*unitOf(p[2]), maxWait)
	}
	return min(d, maxWait), true
}

func unitOf(u string) time.Duration {
	switch u = strings.ToLower(u); {
	case u == "시간" || strings.HasPrefix(u, "h"):
		return time.Hour
	case u == "분" || strings.HasPrefix(u, "m"):
		return time.Minute
	}
	return time.Second
}
