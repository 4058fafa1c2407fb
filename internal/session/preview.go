package session

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"reserver/internal/profile"
)

// Preview writes exactly what each step of p would send for d — method,
// URL, headers (the session's defaults included) and body — without
// sending anything: the tool a person uses while writing a profile.
// Values that only the site can give (extractions, cookies) stand as
// placeholders such as <X.token> and <cookie XSRF-TOKEN> unless d carries
// them. Passwords, secret fields and tokens are masked. only, when not
// empty, names the one step to show.
func Preview(p *profile.Profile, d *profile.Data, only string, out io.Writer) error {
	steps := p.Steps()
	if only != "" {
		st := p.Step(only)
		if st == nil {
			names := make([]string, 0, len(steps))
			for _, s := range steps {
				names = append(names, s.Name)
			}
			return fmt.Errorf("%w: %q (the profile has %s)", profile.ErrUnknownStep, only, strings.Join(names, ", "))
		}
		steps = []*profile.Step{st}
	}
	x := map[string]string{}
	cookies := map[string]string{}
	for _, s := range p.Steps() {
		for _, e := range s.Extract {
			x[e.Name] = "<X." + e.Name + ">"
		}
		for _, c := range s.Cookies {
			cookies[c] = "<cookie " + c + ">"
		}
	}
	var base profile.Data
	if d != nil {
		base = *d
	}
	given := base.X // the values the caller knows: real, so masked when secret
	placeholders := map[string]bool{}
	for _, v := range x {
		placeholders[v] = true
	}
	for _, v := range cookies {
		placeholders[v] = true
	}
	maps.Copy(x, base.X)
	maps.Copy(cookies, base.Cookies)
	base.X, base.Cookies = x, cookies
	for i, st := range steps {
		if i > 0 {
			fmt.Fprintln(out)
		}
		data := base
		if st.Role == profile.RolePrelogin || st.Role == profile.RoleLogin || st.Role == profile.RoleProbe {
			data = profile.Data{Account: base.Account, X: base.X, Cookies: base.Cookies, Now: base.Now}
		}
		fmt.Fprintf(out, "== %s (%s)\n", st.Name, st.Role)
		req, err := p.Render(st, &data)
		if err != nil {
			fmt.Fprintf(out, "cannot render: %v\n", err)
			if strings.Contains(err.Error(), "path does not start with /") {
				fmt.Fprintln(out, "(a path taken from the site's answer: give its extraction a value, e.g. --x NAME=/path)")
			}
			continue
		}
		// A placeholder is no secret: showing it says where the value goes.
		var real []string
		for _, v := range req.Secrets {
			if !placeholders[v] {
				real = append(real, v)
			}
		}
		secrets := secretForms(p, append(real, sensitiveExtractions(given)...))
		m := func(s string) string { return maskAll(s, secrets) }
		fmt.Fprintf(out, "%s %s\n", req.Method, m(req.URL))
		h := req.Header.Clone()
		for k, v := range map[string]string{"User-Agent": p.UserAgent, "Accept": defaultAccept, "Accept-Language": defaultAcceptLanguage} {
			if h.Get(k) == "" {
				h.Set(k, v)
			}
		}
		if req.Body != nil {
			h.Set("Content-Type", req.ContentType)
		}
		for _, k := range slices.Sorted(maps.Keys(h)) {
			for _, v := range h[k] {
				fmt.Fprintf(out, "%s: %s\n", k, m(v))
			}
		}
		if req.Body != nil {
			fmt.Fprintln(out)
			body := req.Body
			if enc := p.StepEncoding(st); enc != nil && !utf8.Valid(body) {
				if dec, err := enc.NewDecoder().Bytes(body); err == nil {
					body = dec
				}
			}
			fmt.Fprintln(out, m(string(body)))
		}
	}
	return nil
}

// sensitiveExtractions are the values given for extractions named like
// tokens.
func sensitiveExtractions(given map[string]string) []string {
	var out []string
	for k, v := range given {
		if profile.Sensitive(k) && v != "" {
			out = append(out, v)
		}
	}
	return out
}

func maskAll(s string, secrets []string) string {
	for _, sec := range secrets {
		s = strings.ReplaceAll(s, sec, mask)
	}
	return s
}
