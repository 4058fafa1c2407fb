package profile

func available(p *Profile, step string) map[string]bool {
	var before []*Step
	switch step {
	case StepTrace:
		before = []*Step{p.Login}
	case StepSubmit, StepVerify:
		before = []*Step{p.Login, p.Trace}
	}
	out := map[string]bool{}
	for _, s := range before {
		if s == nil {
			continue
		}
		for _, x := range s.Extract {
			out[x.Name] = true
		}
	}
	return out
}

func (l *loader) checkReferences(p *Profile) {
	for _, d := range l.deferred {
		c := &refChecker{available: available(p, d.step), fields: l.fields}
		for _, msg := range c.check(d.tmpl) {
			l.add(d.node, "%s: %s", d.tmpl.Name(), msg)
		}
	}
}
