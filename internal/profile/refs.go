package profile

import (
	"fmt"
	"slices"
)

// before lists the steps that always run before s in a booking's flow:
// the extractions a template of s may use come from them. Checkout also
// sees verify's, since a verify that finds a hold resumes the checkout.
func before(p *Profile, s *Step) []*Step {
	if s == nil {
		return nil // profile-wide headers go with every step, the first too
	}
	var out []*Step
	add := func(xs ...*Step) {
		for _, x := range xs {
			if x != nil {
				out = append(out, x)
			}
		}
	}
	switch s.Role {
	case RoleLogin:
		add(p.Prelogin)
	case RolePage:
		add(p.Prelogin, p.Login)
		for _, pg := range p.Pages {
			if pg == s {
				break
			}
			add(pg)
		}
	case RoleSubmit, RoleVerify:
		add(p.Prelogin, p.Login)
		add(p.Pages...)
	case RoleCheckout:
		add(p.Prelogin, p.Login)
		add(p.Pages...)
		add(p.Submit, p.Verify)
		for _, c := range p.Checkout {
			if c == s {
				break
			}
			add(c)
		}
	}
	return out
}

// forAccount reports whether a step's templates run for the account rather
// than one booking (no .Booking): the login steps, the probe, and the
// profile-wide headers (which the login sends too).
func forAccount(s *Step) bool {
	return s == nil || s.Role == RolePrelogin || s.Role == RoleLogin || s.Role == RoleProbe
}

func (l *loader) checkReferences(p *Profile) {
	cookiesEverywhere := false
	for _, d := range l.deferred {
		c := &refChecker{available: map[string]bool{}, fields: l.fields, forAccount: forAccount(d.step)}
		for _, s := range before(p, d.step) {
			for _, x := range s.Extract {
				c.available[x.Name] = true
			}
		}
		if c.forAccount {
			c.scope = "the profile-wide headers, which the login sends too,"
			if d.step != nil {
				c.scope = fmt.Sprintf("the %s step", d.step.Name)
			}
		}
		for _, msg := range c.check(d.tmpl) {
			l.add(d.node, "%s: %s", d.tmpl.Name(), msg)
		}
		if c.cookies {
			if d.step == nil {
				cookiesEverywhere = true
			} else {
				d.step.UsesCookies = true
			}
			for _, name := range c.cookieNames {
				if d.step != nil && !slices.Contains(d.step.Cookies, name) {
					d.step.Cookies = append(d.step.Cookies, name)
				}
			}
		}
	}
	if cookiesEverywhere {
		for _, s := range p.Steps() {
			s.UsesCookies = true
		}
	}
}
