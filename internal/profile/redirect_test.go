package profile_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"reserver/internal/profile"
)

// withRedirectHosts puts a redirect_hosts value on line 3 of minimal (its
// list items, if any, on the lines after) and lets the login follow
// redirects.
func withRedirectHosts(value string) string {
	src := strings.Replace(minimal, "steps:", "redirect_hosts: "+value+"\nsteps:", 1)
	return strings.Replace(src, "    path: /login\n", "    path: /login\n    follow_redirects: true\n", 1)
}

func TestRedirectHostsLoadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, value string
		want        []string // "line: substring", one per problem
	}{
		{"a scalar", "login.example.org", []string{"3: redirect_hosts must be a list of host names"}},
		{"a mapping", "{login: example.org}", []string{"3: redirect_hosts must be a list"}},
		{"a scheme", "\n  - https://login.example.org", []string{`4: redirect_hosts: "https://login.example.org" must be a host name or host:port, without a scheme`}},
		{"a path", "[login.example.org/sso]", []string{`3: redirect_hosts: "login.example.org/sso" must be a host name or host:port`}},
		{"user info", "[me@login.example.org]", []string{"3: redirect_hosts:", "without a scheme, user"}},
		{"a nested list", "\n  - ok.example.org\n  - [a, b]", []string{"5: redirect_hosts: each entry must be a host name"}},
		{"null", "[~]", []string{"3: redirect_hosts: each entry must be a host name"}},
		{"empty", `[""]`, []string{`3: redirect_hosts: "" must be a host name`}},
		{"spaces", `["login .example.org"]`, []string{"3: redirect_hosts:", "is not a host name"}},
		{"an underscore", "[log_in.example.org]", []string{"3: redirect_hosts:", "is not a host name"}},
		{"port zero", `["login.example.org:0"]`, []string{"3: redirect_hosts:", "has a bad port"}},
		{"port too big", `["login.example.org:65536"]`, []string{"3: redirect_hosts:", "has a bad port"}},
		{"empty port", `["login.example.org:"]`, []string{"3: redirect_hosts:", "has a bad port"}},
		{"a bare star", `["*"]`, []string{"3: redirect_hosts:", "is not a host name"}},
		{"a star inside", `["a.*.example.org"]`, []string{"3: redirect_hosts:", "is not a host name"}},
		{"a top-level domain", `["*.org"]`, []string{`3: redirect_hosts: "*.org" covers a public suffix`}},
		{"a public suffix", `["*.co.kr"]`, []string{`3: redirect_hosts: "*.co.kr" covers a public suffix`}},
		{"an IPv6 address not in its short form", `["0:0::1"]`, []string{"3: redirect_hosts:", "must be written as [::1]"}},
		{"brackets around a name", `["[login.example.org]"]`, []string{"3: redirect_hosts:", "only an IPv6 address"}},
		{"listed twice", "\n  - Login.Example.org\n  - login.example.org", []string{`5: redirect_hosts: "login.example.org" is listed twice`}},
		{"every problem with its line", "\n  - ok.example.org\n  - http://a.example.org\n  - ok2.example.org\n  - '*.com'",
			[]string{"5: redirect_hosts:", "7: redirect_hosts:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := profile.Parse("r.yaml", []byte(withRedirectHosts(tc.value)))
			require.ErrorIs(t, err, profile.ErrInvalid)
			for _, w := range tc.want {
				if line, msg, ok := strings.Cut(w, ": "); ok && !strings.ContainsAny(line, " \"") {
					require.Contains(t, err.Error(), "r.yaml:"+line+": "+msg)
				} else {
					require.Contains(t, err.Error(), w)
				}
			}
		})
	}
}

func TestRedirectHostsLoad(t *testing.T) {
	t.Parallel()
	p, err := profile.Parse("r.yaml", []byte(withRedirectHosts(
		`[Login.Example.org, "*.cdn.example.org:8443", "127.0.0.2:9000", "[::1]:8443", "::1"]`)))
	require.NoError(t, err)
	var got []string
	for _, h := range p.RedirectHosts {
		got = append(got, h.String())
	}
	require.Equal(t, []string{"login.example.org", "*.cdn.example.org:8443", "127.0.0.2:9000", "[::1]:8443", "[::1]"}, got)
	require.Empty(t, p.Warnings[1:], "only the missing verify step: %q", p.Warnings)

	// A list no step can use is a warning at the key.
	src := strings.Replace(minimal, "steps:", "redirect_hosts: [login.example.org]\nsteps:", 1)
	p, err = profile.Parse("w.yaml", []byte(src))
	require.NoError(t, err)
	require.Contains(t, p.Warnings, "w.yaml:3: redirect_hosts: no step has follow_redirects: true, so the list is never used")
}

func TestRedirectAllowed(t *testing.T) {
	t.Parallel()
	load := func(base string) *profile.Profile {
		src := strings.Replace(withRedirectHosts(`[login.example.org, "*.cdn.example.org:8443", "127.0.0.2:9000", "[::1]:8443"]`),
			"http://127.0.0.1:9000/app/", base, 1)
		p, err := profile.Parse("r.yaml", []byte(src))
		require.NoError(t, err)
		return p
	}
	secure, plain := load("https://www.example.org/app"), load("http://www.example.org:8080")
	tests := []struct {
		p        *profile.Profile
		from, to string
		want     bool
	}{
		// The base origin: scheme, host and port.
		{secure, "https://www.example.org/app/login", "https://www.example.org/app/home", true},
		{secure, "https://www.example.org/app/login", "https://WWW.example.org:443/other", true},
		{secure, "https://www.example.org/app/login", "https://www.example.org:8443/home", false},
		{secure, "https://www.example.org/app/login", "https://example.org/home", false},
		{secure, "https://www.example.org/app/login", "https://www.example.org.evil.test/home", false},
		{plain, "http://www.example.org:8080/login", "http://www.example.org:8080/home", true},
		{plain, "http://www.example.org:8080/login", "http://www.example.org/home", false},
		{plain, "http://www.example.org:8080/login", "https://www.example.org:8080/home", false},
		// Downgrades, even to the base host itself.
		{secure, "https://www.example.org/app/login", "http://www.example.org/app/home", false},
		{plain, "https://login.example.org/sso", "http://www.example.org:8080/home", false},
		{secure, "https://www.example.org/app/login", "http://login.example.org/sso", false},
		// Listed hosts: the default port of the scheme unless a port is listed.
		{secure, "https://www.example.org/app/login", "https://login.example.org/sso", true},
		{secure, "https://www.example.org/app/login", "https://LOGIN.example.org:443/sso", true},
		{secure, "https://www.example.org/app/login", "https://login.example.org:8443/sso", false},
		{plain, "http://www.example.org:8080/login", "http://login.example.org/sso", true},
		{plain, "http://www.example.org:8080/login", "https://login.example.org/sso", true},
		{secure, "https://www.example.org/app/login", "https://a.cdn.example.org:8443/x", true},
		{secure, "https://www.example.org/app/login", "https://a.b.cdn.example.org:8443/x", true},
		{secure, "https://www.example.org/app/login", "https://cdn.example.org:8443/x", false},
		{secure, "https://www.example.org/app/login", "https://a.cdn.example.org/x", false},
		{secure, "https://www.example.org/app/login", "https://evilcdn.example.org:8443/x", false},
		{plain, "http://www.example.org:8080/login", "http://127.0.0.2:9000/x", true},
		{plain, "http://www.example.org:8080/login", "http://127.0.0.2/x", false},
		{secure, "https://www.example.org/app/login", "https://[::1]:8443/x", true},
		{secure, "https://www.example.org/app/login", "https://[::1]/x", false},
		// Never another scheme, nor user info.
		{secure, "https://www.example.org/app/login", "ftp://login.example.org/x", false},
		{secure, "https://www.example.org/app/login", "https://me@login.example.org/x", false},
	}
	for _, tc := range tests {
		from, err := url.Parse(tc.from)
		require.NoError(t, err)
		to, err := url.Parse(tc.to)
		require.NoError(t, err)
		require.Equal(t, tc.want, tc.p.RedirectAllowed(from, to), "%s → %s (base %s)", tc.from, tc.to, tc.p.BaseURL)
	}
}

// FuzzRedirectHosts loads arbitrary entries and follows arbitrary
// redirects: loading may fail, deciding never panics, a loaded entry reads
// back as itself, and nothing allowed is a downgrade or off http(s).
func FuzzRedirectHosts(f *testing.F) {
	for _, s := range []string{"login.example.org", "*.example.org:8443", "[::1]:8443", "127.0.0.2", "[", "*.", "a:b:c"} {
		f.Add(s, "https://login.example.org/x")
	}
	f.Fuzz(func(t *testing.T, entry, target string) {
		p, err := profile.Parse("f.yaml", []byte(withRedirectHosts(`["`+strings.NewReplacer(`"`, "", `\`, "", "\n", "").Replace(entry)+`"]`)))
		if err != nil {
			return
		}
		for _, h := range p.RedirectHosts {
			q, err := profile.Parse("f.yaml", []byte(withRedirectHosts(`["`+h.String()+`"]`)))
			require.NoError(t, err, "%q reads back", h.String())
			require.Equal(t, p.RedirectHosts, q.RedirectHosts)
		}
		to, err := url.Parse(target)
		if err != nil {
			return
		}
		from, _ := url.Parse("https://127.0.0.1:9000/app/login")
		if p.RedirectAllowed(from, to) {
			require.Equal(t, "https", to.Scheme, "no downgrade: %s", target)
		}
	})
}
