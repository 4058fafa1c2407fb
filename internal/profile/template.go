package profile

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"golang.org/x/text/encoding"
)

// errTemplateArg is returned by template functions given an unusable value.
var errTemplateArg = errors.New("bad argument")

// funcMap returns the template functions of a profile. Functions that
// depend on the site (date formatting, URL escaping) close over its zone and
// charset.
func funcMap(loc *time.Location, enc encoding.Encoding) template.FuncMap {
	return template.FuncMap{
		"date":       func(layout string, t any) (string, error) { return formatTime(layout, t, loc) },
		"datefmt":    func(pattern string, t any) (string, error) { return formatTime(javaLayout(pattern), t, loc) },
		"yyyymmdd":   func(t any) (string, error) { return formatTime("20060102", t, loc) },
		"iso":        func(t any) (string, error) { return formatTime(time.RFC3339, t, loc) },
		"adddays":    func(n, t any) (time.Time, error) { return addDays(n, t, loc) },
		"at":         func(hhmm string, day any) (time.Time, error) { return atClock(hhmm, day, loc) },
		"weekday":    func(t any) (string, error) { return formatTime("Mon", t, loc) },
		"weekdayko":  func(t any) (string, error) { return weekdayKo(t, loc) },
		"urlquery":   func(args ...any) (string, error) { return queryEscape(enc, fmt.Sprint(args...)) },
		"json":       jsonText,
		"default":    defaultValue,
		"atoi":       atoi,
		"add":        func(a, b any) (int, error) { return arith(a, b, 1) },
		"sub":        func(a, b any) (int, error) { return arith(a, b, -1) },
		"hour":       func(hhmm string) (int, error) { h, _, err := splitHHMM(hhmm); return h, err },
		"minute":     func(hhmm string) (int, error) { _, m, err := splitHHMM(hhmm); return m, err },
		"upper":      strings.ToUpper,
		"lower":      strings.ToLower,
		"trim":       strings.TrimSpace,
		"quotemeta":  regexp.QuoteMeta,
		"localphone": LocalPhone,
		"dashphone":  DashPhone,
	}
}

// templateFuncNames lists the functions for documentation and tests.
func templateFuncNames() []string {
	m := funcMap(time.UTC, nil)
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func formatTime(layout string, v any, loc *time.Location) (string, error) {
	switch t := v.(type) {
	case time.Time:
		return t.In(loc).Format(layout), nil
	case *time.Time:
		if t != nil {
			return t.In(loc).Format(layout), nil
		}
	}
	return "", fmt.Errorf("%w: date wants a time, got %T", errTemplateArg, v)
}

func asTime(v any) (time.Time, error) {
	switch t := v.(type) {
	case time.Time:
		return t, nil
	case *time.Time:
		if t != nil {
			return *t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: want a time, got %T", errTemplateArg, v)
}

// addDays moves t by n calendar days in the site zone, keeping the wall
// clock to the second (a day across a DST change is 23 or 25 hours).
func addDays(n, v any, loc *time.Location) (time.Time, error) {
	d, err := toInt(n)
	if err != nil {
		return time.Time{}, err
	}
	t, err := asTime(v)
	if err != nil {
		return time.Time{}, err
	}
	// The same wall clock n dates later, resolved like every wall time
	// (a gap is the instant the clock jumps to; a fold the first time).
	t = t.In(loc)
	y, m, day := t.Date()
	h, mi, s := t.Clock()
	wall := time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute + time.Duration(s)*time.Second
	return zonedWallTime(y, m, day+d, wall, loc), nil
}

// atClock is the instant of the wall time hhmm on day's date, site zone.
func atClock(hhmm string, v any, loc *time.Location) (time.Time, error) {
	t, err := asTime(v)
	if err != nil {
		return time.Time{}, err
	}
	h, m, err := splitHHMM(hhmm)
	if err != nil {
		return time.Time{}, err
	}
	y, mo, d := t.In(loc).Date()
	return zonedWallTime(y, mo, d, time.Duration(h)*time.Hour+time.Duration(m)*time.Minute, loc), nil
}

var koWeekdays = [...]string{"일", "월", "화", "수", "목", "금", "토"}

func weekdayKo(v any, loc *time.Location) (string, error) {
	t, err := asTime(v)
	if err != nil {
		return "", err
	}
	return koWeekdays[t.In(loc).Weekday()], nil
}

// javaLayout converts a yyyy-MM-dd HH:mm:ss style pattern (the notation of
// most legacy Korean sites' documentation) into a Go layout. Letters that
// are not pattern letters are copied; text in single quotes is literal.
func javaLayout(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); {
		c := p[i]
		if c == '\'' {
			j := strings.IndexByte(p[i+1:], '\'')
			if j < 0 {
				b.WriteString(p[i+1:])
				break
			}
			b.WriteString(p[i+1 : i+1+j])
			i += j + 2
			continue
		}
		n := 1
		for i+n < len(p) && p[i+n] == c {
			n++
		}
		switch {
		case c == 'y' && n >= 3:
			b.WriteString("2006")
		case c == 'y':
			b.WriteString("06")
		case c == 'M' && n >= 2:
			b.WriteString("01")
		case c == 'M':
			b.WriteString("1")
		case c == 'd' && n >= 2:
			b.WriteString("02")
		case c == 'd':
			b.WriteString("2")
		case c == 'H':
			b.WriteString("15")
		case c == 'h' && n >= 2:
			b.WriteString("03")
		case c == 'h':
			b.WriteString("3")
		case c == 'm' && n >= 2:
			b.WriteString("04")
		case c == 'm':
			b.WriteString("4")
		case c == 's' && n >= 2:
			b.WriteString("05")
		case c == 's':
			b.WriteString("5")
		case c == 'S':
			b.WriteString("." + strings.Repeat("0", n)[:min(n, 9)])
		case c == 'a':
			b.WriteString("PM")
		case c == 'E':
			b.WriteString("Mon")
		default:
			b.WriteString(p[i : i+n])
		}
		i += n
	}
	return b.String()
}

// queryEscape encodes s in the site charset and percent-encodes the bytes,
// as a browser does when it submits a form on a page in that charset.
// Characters the charset cannot represent are sent as HTML numeric
// character references, also like a browser.
func queryEscape(enc encoding.Encoding, s string) (string, error) {
	if enc == nil || enc == encoding.Nop {
		return url.QueryEscape(s), nil
	}
	b, err := encodeText(enc, s)
	if err != nil {
		return "", err
	}
	return url.QueryEscape(b), nil
}

// encodeText returns s encoded in enc as a byte string.
func encodeText(enc encoding.Encoding, s string) (string, error) {
	b, err := encoding.HTMLEscapeUnsupported(enc.NewEncoder()).String(s)
	if err != nil {
		return "", fmt.Errorf("%w: cannot encode text in the site charset", errTemplateArg)
	}
	return b, nil
}

// jsonText escapes a string for use inside a JSON string literal (without
// the quotes) and marshals any other value.
func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("%w: json: %T", errTemplateArg, v)
	}
	if _, ok := v.(string); ok && len(b) >= 2 {
		b = b[1 : len(b)-1]
	}
	return string(b), nil
}

// defaultValue returns val unless it is empty, then def (sprig order:
// {{ default "1" .X.count }}).
func defaultValue(def, val any) any {
	if val == nil {
		return def
	}
	rv := reflect.ValueOf(val)
	if rv.IsZero() {
		return def
	}
	if (rv.Kind() == reflect.Map || rv.Kind() == reflect.Slice) && rv.Len() == 0 {
		return def
	}
	return val
}

func atoi(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%w: atoi of a non-integer (%d bytes)", errTemplateArg, len(s))
	}
	return n, nil
}

func toInt(v any) (int, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case int64:
		return int(x), nil
	case int32:
		return int(x), nil
	case uint8:
		return int(x), nil
	case string:
		return atoi(x)
	}
	return 0, fmt.Errorf("%w: want an integer, got %T", errTemplateArg, v)
}

func arith(a, b any, sign int) (int, error) {
	x, err := toInt(a)
	if err != nil {
		return 0, err
	}
	y, err := toInt(b)
	if err != nil {
		return 0, err
	}
	return x + sign*y, nil
}

// splitHHMM parses "HH:MM" (24-hour).
func splitHHMM(s string) (h, m int, err error) {
	hs, ms, ok := strings.Cut(strings.TrimSpace(s), ":")
	if ok {
		h, err = strconv.Atoi(hs)
		if err == nil {
			m, err = strconv.Atoi(ms)
		}
	}
	if !ok || err != nil || len(ms) != 2 || len(hs) < 1 || len(hs) > 2 || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0) {
		return 0, 0, fmt.Errorf("%w: want HH:MM (%d bytes given)", errTemplateArg, len(s))
	}
	return h, m, nil
}

// LocalPhone (the localphone template function) turns an E.164 Korean
// number (+821012345678) into the
// domestic digits sites expect (01012345678). Other numbers keep their
// digits without the plus sign.
func LocalPhone(p string) string {
	var b strings.Builder
	for _, r := range p {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	d := b.String()
	if strings.HasPrefix(strings.TrimSpace(p), "+82") && strings.HasPrefix(d, "82") {
		return "0" + d[2:]
	}
	return d
}

// DashPhone (the dashphone template function) is LocalPhone with hyphens.
func DashPhone(p string) string { return dashPhone(LocalPhone(p)) }

// dashPhone formats domestic Korean digits with hyphens (010-1234-5678,
// 02-123-4567); anything else is returned unchanged.
func dashPhone(d string) string {
	switch {
	case strings.HasPrefix(d, "02") && (len(d) == 9 || len(d) == 10):
		return d[:2] + "-" + d[2:len(d)-4] + "-" + d[len(d)-4:]
	case strings.HasPrefix(d, "0") && (len(d) == 10 || len(d) == 11):
		return d[:3] + "-" + d[3:len(d)-4] + "-" + d[len(d)-4:]
	}
	return d
}

// refChecker statically checks the field references of a parsed template
// against the Data type, the extractions available to the step and the
// declared booking fields, so that a typo fails at load time and not at the
// opening instant.
type refChecker struct {
	available map[string]bool // extraction names usable by this step
	fields    map[string]Field
	// forAccount: the template runs for the account (login), so .Booking
	// is not there; scope names it in the problem.
	forAccount bool
	scope      string
	cookies    bool // the template reads .Cookies
	// cookieNames are the cookies it reads by name ({{ index .Cookies "n" }}).
	cookieNames []string
	problems    []string
}

var dataType = reflect.TypeFor[Data]()

func (c *refChecker) check(t *template.Template) []string {
	c.problems = nil
	for _, tt := range t.Templates() {
		if tt.Tree != nil {
			c.walk(tt.Tree.Root, true)
		}
	}
	return c.problems
}

// walk visits n; rootDot is true while "." is still the Data value (outside
// with/range bodies), the only place a field path can be checked.
func (c *refChecker) walk(n parse.Node, rootDot bool) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, x := range n.Nodes {
			c.walk(x, rootDot)
		}
	case *parse.ActionNode:
		c.walk(n.Pipe, rootDot)
	case *parse.IfNode:
		c.walk(n.Pipe, rootDot)
		c.walk(n.List, rootDot)
		c.walk(n.ElseList, rootDot)
	case *parse.RangeNode:
		c.walk(n.Pipe, rootDot)
		c.walk(n.List, false)
		c.walk(n.ElseList, rootDot)
	case *parse.WithNode:
		c.walk(n.Pipe, rootDot)
		c.walk(n.List, false)
		c.walk(n.ElseList, rootDot)
	case *parse.TemplateNode:
		c.walk(n.Pipe, rootDot)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, cmd := range n.Cmds {
			c.walk(cmd, rootDot)
		}
	case *parse.CommandNode:
		c.checkIndex(n, rootDot)
		for _, a := range n.Args {
			c.walk(a, rootDot)
		}
	case *parse.FieldNode:
		if rootDot {
			c.path(n.Ident, true)
		}
	case *parse.VariableNode:
		if len(n.Ident) > 1 && n.Ident[0] == "$" {
			c.path(n.Ident[1:], true)
		}
	case *parse.ChainNode:
		c.walk(n.Node, rootDot)
	}
}

// checkIndex checks {{ index .X "name" }}; index tolerates missing keys at
// run time, so an unknown extraction is only worth flagging for .X.
func (c *refChecker) checkIndex(n *parse.CommandNode, rootDot bool) {
	if len(n.Args) != 3 {
		return
	}
	if id, ok := n.Args[0].(*parse.IdentifierNode); !ok || id.Ident != "index" {
		return
	}
	var ident []string
	switch a := n.Args[1].(type) {
	case *parse.FieldNode:
		if rootDot {
			ident = a.Ident
		}
	case *parse.VariableNode:
		if len(a.Ident) > 1 && a.Ident[0] == "$" {
			ident = a.Ident[1:]
		}
	}
	key, ok := n.Args[2].(*parse.StringNode)
	if ok && len(ident) == 1 && ident[0] == "Cookies" && !slices.Contains(c.cookieNames, key.Text) {
		c.cookieNames = append(c.cookieNames, key.Text)
	}
	if ok && len(ident) == 1 && ident[0] == "X" && !c.available[key.Text] {
		c.problems = append(c.problems, fmt.Sprintf("extraction %q is not made by an earlier step", key.Text))
	}
}

// path checks a field chain such as [Booking Fields team] against Data.
func (c *refChecker) path(ident []string, direct bool) {
	switch {
	case len(ident) == 0:
		return
	case ident[0] == "Cookies":
		c.cookies = true
	case ident[0] == "Booking" && c.forAccount:
		c.problems = append(c.problems, fmt.Sprintf(
			"%s runs for the account, not for one booking: it sees .Account, .X, .Cookies and .Now, not .%s",
			c.scope, strings.Join(ident, ".")))
		return
	}
	t := dataType
	for i, id := range ident {
		if _, ok := t.MethodByName(id); ok {
			return
		}
		if _, ok := reflect.PointerTo(t).MethodByName(id); ok {
			return
		}
		switch t.Kind() {
		case reflect.Struct:
			f, ok := t.FieldByName(id)
			if !ok || !f.IsExported() {
				c.problems = append(c.problems, fmt.Sprintf("unknown field .%s", strings.Join(ident[:i+1], ".")))
				return
			}
			t = f.Type
		case reflect.Map:
			parent := strings.Join(ident[:i], ".")
			switch parent {
			case "X":
				if !c.available[id] {
					c.problems = append(c.problems, fmt.Sprintf("extraction %q is not made by an earlier step", id))
				}
			case "Booking.Fields":
				f, ok := c.fields[id]
				switch {
				case !ok:
					c.problems = append(c.problems, fmt.Sprintf("booking field %q is not declared under fields", id))
				case !f.Required && direct:
					c.problems = append(c.problems, fmt.Sprintf(
						"optional booking field %q may be absent; use (index .Booking.Fields %q), optionally with default", id, id))
				}
			}
			return
		default:
			c.problems = append(c.problems, fmt.Sprintf("cannot take .%s of a %s", id, t))
			return
		}
	}
}
