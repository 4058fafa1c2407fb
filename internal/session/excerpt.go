package session

import (
	"html"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"reserver/internal/profile"
)

// ExcerptMax is the maximum length of Result.Excerpt in runes.
const ExcerptMax = 300

const mask = "***"

// htmlQuot escapes like html.EscapeString but with the named references
// most pages use.
var htmlQuot = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")

// secretForms returns every spelling of the secrets that may appear in a
// page or a URL: raw, HTML-escaped, and percent-encoded in UTF-8 and in the
// site charset.
func secretForms(p *profile.Profile, secrets []string) []string {
	out := make([]string, 0, len(secrets)*3)
	add := func(s string) {
		if s != "" && s != mask {
			for _, o := range out {
				if o == s {
					return
				}
			}
			out = append(out, s)
		}
	}
	for _, s := range secrets {
		add(s)
		add(html.EscapeString(s))
		add(htmlQuot.Replace(s))
		add(url.QueryEscape(s))
		add(url.PathEscape(s))
		if p.Charset != profile.DefaultCharset {
			enc := p.EncodeText(s)
			add(url.QueryEscape(enc))
		}
	}
	return out
}

// Redact replaces every form of every secret in s with ***.
func redact(s string, forms []string) string {
	for _, f := range forms {
		if strings.Contains(s, f) {
			s = strings.ReplaceAll(s, f, mask)
		}
	}
	return s
}

// messageSep stands between a page's message and the rest of its text in
// an excerpt.
const messageSep = " · "

// excerptWith is the excerpt of a page that leads with its message (the
// site's own words, found by the profile or in an alert): the message,
// then the page text as excerpt gives it, within ExcerptMax runes, the
// secrets masked in both. Without a message it is excerpt.
func excerptWith(msg, body string, forms []string) string {
	msg = strings.Join(strings.Fields(msg), " ")
	if msg == "" {
		return excerpt(body, forms)
	}
	msg = redact(msg, forms)
	if utf8.RuneCountInString(msg) >= ExcerptMax-utf8.RuneCountInString(messageSep) {
		return clipRunes(msg, ExcerptMax)
	}
	return clipRunes(msg+messageSep+excerpt(body, forms), ExcerptMax)
}

// clipRunes cuts s to at most n runes.
func clipRunes(s string, n int) string {
	k := 0
	for i := range s {
		if k == n {
			return s[:i]
		}
		k++
	}
	return s
}

// excerpt returns at most ExcerptMax runes of the page text: tags removed,
// whitespace collapsed, secrets masked. It scans only as much of body as it
// needs, so a large page costs no more than a small one.
func excerpt(body string, forms []string) string {
	longest := 0
	for _, f := range forms {
		longest = max(longest, utf8.RuneCountInString(f))
	}
	// Collect enough text that a secret straddling the cut is still masked whole.
	want := ExcerptMax + longest
	var b strings.Builder
	b.Grow(min(len(body), want*3))
	n, inTag, space := 0, false, false
	for _, r := range body {
		if n >= want {
			break
		}
		switch {
		case r == '<':
			inTag = true
			space = true
			continue
		case inTag:
			if r == '>' {
				inTag = false
			}
			continue
		case unicode.IsSpace(r):
			space = true
			continue
		}
		if space && n > 0 {
			b.WriteByte(' ')
			n++
		}
		space = false
		b.WriteRune(r)
		n++
	}
	return clipRunes(redact(b.String(), forms), ExcerptMax)
}
