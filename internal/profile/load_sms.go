package profile

import (
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"reserver/internal/notify/smstext"
)

// SMS is what a site's text messages say (the profile's sms: key): their
// language, what one bookable unit is called, and the site's own
// templates. A profile without the key has a nil *SMS, whose methods
// answer the defaults (Korean, 코트). internal/schedule writes the
// language and the noun into each outbox payload; internal/notify renders
// the templates.
type SMS struct {
	// Language is the site's default language (smstext.Languages).
	Language string
	// LanguageField names a booking field whose value, when it is a
	// language, picks the language of that booking's messages.
	LanguageField string
	// Noun is what one bookable unit is called, by language; every
	// language has one.
	Noun map[string]string
	// Templates are the site's own Go text/templates over smstext.Data,
	// by language and then outbox kind; each was parsed and rendered with
	// sample data at load.
	Templates map[string]map[string]string
}

// LanguageOf is the language of the messages of a booking with fields:
// the value of LanguageField when it is a language, else Language, else
// Korean.
func (s *SMS) LanguageOf(fields map[string]string) string {
	if s == nil {
		return smstext.DefaultLanguage
	}
	if v := fields[s.LanguageField]; s.LanguageField != "" && smstext.Known(v) {
		return v
	}
	if smstext.Known(s.Language) {
		return s.Language
	}
	return smstext.DefaultLanguage
}

// NounOf is what one bookable unit is called in lang.
func (s *SMS) NounOf(lang string) string {
	if s != nil && s.Noun[lang] != "" {
		return s.Noun[lang]
	}
	return smstext.DefaultNoun(lang)
}

var smsKeys = []string{"language", "language_field", "noun", "templates"}

// sms loads the sms: key (nil: the profile has none). It needs l.fields.
func (l *loader) sms(n *yaml.Node) *SMS {
	if n == nil {
		return nil
	}
	es := l.mapping(n, "sms", smsKeys)
	if es == nil {
		return nil
	}
	top := byKey(es)
	langs := strings.Join(smstext.Languages, ", ")
	s := &SMS{Language: smstext.DefaultLanguage, Noun: map[string]string{}, Templates: map[string]map[string]string{}}

	if v := top["language"]; v != nil {
		if lang, ok := l.str(v, "sms.language"); ok {
			if smstext.Known(lang) {
				s.Language = lang
			} else {
				l.add(v, "sms.language: unknown language %q (%s)", lang, langs)
			}
		}
	}
	// used are the languages this site's messages can be in.
	used := []string{s.Language}
	if v := top["language_field"]; v != nil {
		if name, ok := l.str(v, "sms.language_field"); ok {
			s.LanguageField = name
			f, declared := l.fields[name]
			switch {
			case !declared:
				l.add(v, "sms.language_field: booking field %q is not declared under fields", name)
			case len(f.Values) == 0:
				l.add(v, "sms.language_field: field %q must declare values (the languages a booking may choose: %s)", name, langs)
			}
			for _, val := range f.Values {
				if smstext.Known(val) {
					used = append(used, val)
				} else {
					l.add(v, "sms.language_field: field %q allows %q, a language without texts (%s)", name, val, langs)
				}
			}
		}
	}

	if v := top["noun"]; v != nil {
		for _, e := range l.mapping(v, "sms.noun", nil) {
			if !smstext.Known(e.key) {
				l.add(e.k, "sms.noun: unknown language %q (%s)", e.key, langs)
				continue
			}
			if noun, ok := l.str(e.v, "sms.noun."+e.key); ok {
				if strings.TrimSpace(noun) == "" {
					l.add(e.v, "sms.noun.%s must not be empty", e.key)
					continue
				}
				s.Noun[e.key] = noun
			}
		}
		// A site that names its unit names it in every language its
		// messages may be in: a room must not become a court in English.
		if len(s.Noun) > 0 {
			for _, lang := range smstext.Languages {
				if slices.Contains(used, lang) && s.Noun[lang] == "" {
					l.add(keyNode(es, "noun"), "sms.noun: no %s noun, but this site's messages may be in %s", lang, lang)
				}
			}
		}
	}
	for _, lang := range smstext.Languages {
		if s.Noun[lang] == "" {
			s.Noun[lang] = smstext.DefaultNoun(lang)
		}
	}

	if v := top["templates"]; v != nil {
		for _, le := range l.mapping(v, "sms.templates", nil) {
			if !smstext.Known(le.key) {
				l.add(le.k, "sms.templates: unknown language %q (%s)", le.key, langs)
				continue
			}
			for _, ke := range l.mapping(le.v, "sms.templates."+le.key, smstext.Kinds) {
				what := "sms.templates." + le.key + "." + ke.key
				src, ok := l.str(ke.v, what)
				if !ok {
					continue
				}
				if _, err := smstext.Parse(ke.key, le.key, src); err != nil {
					l.add(ke.v, "%s: bad template: %v", what, err)
					continue
				}
				if s.Templates[le.key] == nil {
					s.Templates[le.key] = map[string]string{}
				}
				s.Templates[le.key][ke.key] = src
			}
		}
	}
	if len(s.Templates) == 0 {
		s.Templates = nil
	}
	return s
}
