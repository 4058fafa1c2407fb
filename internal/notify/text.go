package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"

	"reserver/internal/notify/smstext"
	"reserver/internal/sitetime"
)

// Data is what a template sees (smstext.Data: the fields, the message's
// language and the site's noun for what was booked).
type Data = smstext.Data

// SiteTexts are one site's own templates: its profile's sms.templates, by
// language and then outbox kind, parsed. Build it with NewSiteTexts.
type SiteTexts struct {
	t map[string]map[string]*template.Template
}

// NewSiteTexts parses a site's templates (language → kind → source) and
// renders each once with sample data, as internal/profile does when it
// loads them.
func NewSiteTexts(src map[string]map[string]string) (*SiteTexts, error) {
	s := &SiteTexts{t: map[string]map[string]*template.Template{}}
	for lang, kinds := range src {
		if !smstext.Known(lang) {
			return nil, fmt.Errorf("%w: site templates: unknown language %q (%s)", ErrConfig, lang, strings.Join(smstext.Languages, ", "))
		}
		for kind, text := range kinds {
			t, err := smstext.Parse(kind, lang, text)
			if err != nil {
				return nil, fmt.Errorf("%w: site templates.%s.%s: %w", ErrConfig, lang, kind, err)
			}
			if s.t[lang] == nil {
				s.t[lang] = map[string]*template.Template{}
			}
			s.t[lang][kind] = t
		}
	}
	return s, nil
}

// texts picks and renders the template of a message. For a message of
// site s in language l it uses, of those that exist for the kind:
//  1. s's own template in l (SiteTexts),
//  2. the configuration's template (notify.templates), when l is Korean:
//     those are what every message used before languages existed,
//  3. the built-in template of l.
type texts struct {
	sites   map[string]*SiteTexts
	global  map[string]*template.Template            // Korean, by kind
	builtin map[string]map[string]*template.Template // by language, then kind
}

// parseTexts parses the configured (Korean) templates and the built-in
// ones of every language, and takes the sites' own.
func parseTexts(configured map[string]string, sites map[string]*SiteTexts) (texts, error) {
	t := texts{sites: sites, global: map[string]*template.Template{}, builtin: map[string]map[string]*template.Template{}}
	for kind, v := range configured {
		if strings.TrimSpace(v) == "" {
			continue // keeps its default
		}
		tmpl, err := smstext.Parse(kind, smstext.Korean, v)
		if err != nil {
			return texts{}, fmt.Errorf("%w: templates.%s: %w", ErrConfig, kind, err)
		}
		t.global[kind] = tmpl
	}
	for _, lang := range smstext.Languages {
		t.builtin[lang] = map[string]*template.Template{}
		for _, kind := range smstext.Kinds {
			src, _ := smstext.Builtin(lang, kind)
			tmpl, err := smstext.Parse(kind, lang, src)
			if err != nil {
				return texts{}, fmt.Errorf("built-in %s template %s: %w", lang, kind, err)
			}
			t.builtin[lang][kind] = tmpl
		}
	}
	return t, nil
}

// pick returns the template for a message of kind about site in lang, and
// where it came from (for the log).
func (t texts) pick(site, lang, kind string) (*template.Template, string) {
	if s := t.sites[site]; s != nil {
		if tmpl := s.t[lang][kind]; tmpl != nil {
			return tmpl, "site"
		}
	}
	if lang == smstext.Korean {
		if tmpl := t.global[kind]; tmpl != nil {
			return tmpl, "config"
		}
	}
	if tmpl := t.builtin[lang][kind]; tmpl != nil {
		return tmpl, "builtin"
	}
	return nil, ""
}

// render makes the text of a message of kind from d (d.Language is set).
func (t texts) render(kind string, d Data) (string, error) {
	tmpl, _ := t.pick(d.Site, d.Language, kind)
	if tmpl == nil {
		return "", fmt.Errorf("no template for outbox kind %q", kind)
	}
	text, err := smstext.Render(tmpl, d)
	if err != nil {
		return "", fmt.Errorf("render the %s template: %w", kind, err)
	}
	return text, nil
}

// payloadData decodes an outbox payload (JSON object: site, court, date,
// start, end, reservation_no, name, language, noun and optionally reason,
// opens_at (RFC 3339), time_zone (the site's IANA zone, in which
// opens_at is shown; UTC without it), choices (how many the booking has)
// and choice (the 1-based one a confirmation's slot is)). The relay
// prefers the booking's own row for the slot booked (withBooking).
// A payload without a language (written before languages existed) or
// with one this version has no texts for is Korean; one without a noun
// gets its language's default noun (코트, court).
func payloadData(payload string) (Data, error) {
	var p map[string]any
	if payload != "" {
		if err := json.Unmarshal([]byte(payload), &p); err != nil {
			return Data{}, fmt.Errorf("decode the outbox payload: %w", err)
		}
	}
	str := func(k string) string {
		switch v := p[k].(type) {
		case string:
			return v
		case nil:
			return ""
		default:
			return fmt.Sprint(v)
		}
	}
	num := func(k string) int {
		if v, ok := p[k].(float64); ok && v >= 0 && v <= 1000 {
			return int(v)
		}
		return 0
	}
	d := Data{
		Site: str("site"), Court: str("court"), Date: str("date"), Start: str("start"), End: str("end"),
		ReservationNo: str("reservation_no"), Name: str("name"), Reason: str("reason"),
		Language: str("language"), Noun: str("noun"),
		Choice: num("choice"), Choices: num("choices"),
	}
	if !smstext.Known(d.Language) {
		d.Language = smstext.DefaultLanguage
	}
	if at, err := time.Parse(time.RFC3339Nano, str("opens_at")); err == nil {
		loc, err := time.LoadLocation(str("time_zone"))
		if err != nil || str("time_zone") == "" {
			loc = time.UTC
		}
		d.OpensAt = sitetime.Format(at, loc)
	}
	if strings.TrimSpace(d.Noun) == "" {
		d.Noun = smstext.DefaultNoun(d.Language)
	}
	return d, nil
}

// smsBytes is the length of s as Korean carriers count it (EUC-KR): one
// byte per ASCII character, two per Hangul syllable or any other character.
func smsBytes(s string) int {
	n := 0
	for _, r := range s {
		if r < utf8.RuneSelf {
			n++
		} else {
			n += 2
		}
	}
	return n
}

// cutBytes shortens s to at most limit bytes as smsBytes counts them,
// ending with "…" when it had to cut.
func cutBytes(s string, limit int) string {
	if smsBytes(s) <= limit {
		return s
	}
	n := 0
	for i, r := range s {
		w := 1
		if r >= utf8.RuneSelf {
			w = 2
		}
		if n+w > limit-2 { // room for the two-byte ellipsis
			return s[:i] + "…"
		}
		n += w
	}
	return s
}

// cutRunes shortens s to at most limit characters, ending with "…" when
// it had to cut.
func cutRunes(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	i, n := 0, 0
	for j := range s {
		if n == limit-1 {
			i = j
			break
		}
		n++
	}
	return s[:i] + "…"
}

// maskPhone keeps the country code and the last four digits of a number,
// enough for an operator to tell messages apart in a log.
func maskPhone(p string) string {
	if len(p) <= 7 {
		return strings.Repeat("*", len(p))
	}
	head := 3
	if !strings.HasPrefix(p, "+") {
		head = 2
	}
	return p[:head] + strings.Repeat("*", len(p)-head-4) + p[len(p)-4:]
}

// truncate shortens s to at most n bytes without splitting a UTF-8 character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
