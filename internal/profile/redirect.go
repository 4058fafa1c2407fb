package profile

import (
	"cmp"
	"net"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/publicsuffix"
	"gopkg.in/yaml.v3"
)

// RedirectHost is one entry of a profile's redirect_hosts: a host a step
// with follow_redirects may be sent to besides the base URL's own origin.
type RedirectHost struct {
	// Host is a lower-case host name or IP address; with Wildcard it is
	// the domain whose subdomains match (example.org for "*.example.org").
	Host string
	// Wildcard is true for "*.domain": any name ending in ".domain",
	// never the domain itself.
	Wildcard bool
	// Port is the one port allowed; "" means the default port of the
	// redirect's scheme (443 for https, 80 for http).
	Port string
}

// String returns the entry as it is written in a profile.
func (h RedirectHost) String() string {
	s := h.Host
	if h.Wildcard {
		s = "*." + s
	} else if strings.Contains(s, ":") {
		s = "[" + s + "]"
	}
	if h.Port != "" {
		s += ":" + h.Port
	}
	return s
}

// matches reports whether host (lower-case, no brackets) and port (never
// empty) are this entry's.
func (h RedirectHost) matches(host, port, scheme string) bool {
	if port != cmp.Or(h.Port, defaultPort(scheme)) {
		return false
	}
	if h.Wildcard {
		return len(host) > len(h.Host)+1 && strings.HasSuffix(host, "."+h.Host)
	}
	return host == h.Host
}

// RedirectAllowed reports whether a step with follow_redirects may follow a
// redirect from the request to URL from to the URL to. It may when to is
// on the base URL's origin (scheme, host and port) or on a host of
// RedirectHosts, and the hop does not go from https to http: a downgrade
// would send the request, and the cookies the site set without Secure, in
// clear text. Everything else is answered by the redirect itself.
func (p *Profile) RedirectAllowed(from, to *url.URL) bool {
	if to == nil || (to.Scheme != "http" && to.Scheme != "https") || to.User != nil {
		return false
	}
	if from != nil && strings.EqualFold(from.Scheme, "https") && to.Scheme != "https" {
		return false
	}
	host, port := hostPort(to)
	if host == "" {
		return false
	}
	if base, err := url.Parse(p.BaseURL); err == nil && strings.EqualFold(base.Scheme, to.Scheme) {
		if bh, bp := hostPort(base); bh == host && bp == port {
			return true
		}
	}
	for _, h := range p.RedirectHosts {
		if h.matches(host, port, to.Scheme) {
			return true
		}
	}
	return false
}

func hostPort(u *url.URL) (host, port string) {
	host = strings.ToLower(u.Hostname())
	port = cmp.Or(u.Port(), defaultPort(strings.ToLower(u.Scheme)))
	return host, port
}

func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}

// redirectHosts reads the top-level redirect_hosts list.
func (l *loader) redirectHosts(n *yaml.Node) []RedirectHost {
	if n.Kind != yaml.SequenceNode {
		l.add(n, `redirect_hosts must be a list of host names, such as [login.example.org, "*.example.org"]`)
		return nil
	}
	out := make([]RedirectHost, 0, len(n.Content))
	seen := map[string]bool{}
	for _, item := range n.Content {
		item = resolve(item)
		if item == nil || item.Kind != yaml.ScalarNode || item.Tag == "!!null" {
			l.add(item, "redirect_hosts: each entry must be a host name")
			continue
		}
		h, msg := parseRedirectHost(item.Value)
		if msg != "" {
			l.add(item, "redirect_hosts: %q %s", item.Value, msg)
			continue
		}
		if seen[h.String()] {
			l.add(item, "redirect_hosts: %q is listed twice", item.Value)
			continue
		}
		seen[h.String()] = true
		out = append(out, h)
	}
	return out
}

// warnUnusedRedirectHosts warns of a list no step can use.
func (l *loader) warnUnusedRedirectHosts(key *yaml.Node, p *Profile) {
	if len(p.RedirectHosts) == 0 {
		return
	}
	for _, st := range p.Steps() {
		if st != nil && st.FollowRedirects {
			return
		}
	}
	l.warn(key, "redirect_hosts: no step has follow_redirects: true, so the list is never used")
}

// parseRedirectHost reads "host", "host:port", "*.domain[:port]" or an IP
// address ("[::1]:8443" with a port). It returns a message saying what is
// wrong, or "".
func parseRedirectHost(s string) (RedirectHost, string) {
	var h RedirectHost
	if s != strings.TrimSpace(s) || s == "" {
		return h, "must be a host name without spaces"
	}
	if strings.Contains(s, "/") || strings.Contains(s, "@") || strings.Contains(s, "?") || strings.Contains(s, "#") {
		return h, "must be a host name or host:port, without a scheme, user, path or query"
	}
	host, port := s, ""
	switch {
	case strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]"):
		host = s[1 : len(s)-1]
	case strings.HasPrefix(s, "[") || strings.Count(s, ":") == 1:
		var err error
		host, port, err = net.SplitHostPort(s)
		if err != nil {
			return h, "is not host or host:port"
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port != strconv.Itoa(n) {
			return h, "has a bad port (1 to 65535)"
		}
	}
	host = strings.ToLower(host)
	h.Port = port
	if strings.HasPrefix(s, "[") && !strings.Contains(host, ":") {
		return h, "has brackets, which only an IPv6 address takes"
	}
	if ip := net.ParseIP(host); ip != nil {
		h.Host = ip.String()
		if h.Host != host {
			return h, "must be written as " + h.String()
		}
		return h, ""
	}
	if strings.Contains(host, ":") {
		return h, "is an IPv6 address: write it in brackets, [::1]:8443"
	}
	if rest, ok := strings.CutPrefix(host, "*."); ok {
		h.Wildcard = true
		host = rest
	}
	if !validHostName(host) {
		return h, "is not a host name (ASCII letters, digits, '-' and '.'; write IDN names as xn--)"
	}
	if h.Wildcard {
		// "*.co.kr" would allow every site of a registry.
		if ps, _ := publicsuffix.PublicSuffix(host); ps == host {
			return h, "covers a public suffix: name the site's own domain, such as *.example.org"
		}
	}
	h.Host = host
	return h, ""
}

func validHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
