package profile

import (
	"regexp"

	"gopkg.in/yaml.v3"
)

var fieldKeys = []string{"name", "type", "required", "values", "pattern", "secret", "description"}

var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (l *loader) parseFields(n *yaml.Node) []Field {
	if n.Kind != yaml.SequenceNode {
		l.add(n, "fields must be a list")
		return nil
	}
	var out []Field
	seen := map[string]bool{}
	for _, item := range n.Content {
		m := byKey(l.mapping(item, "field", fieldKeys))
		f := Field{Type: FieldString}
		if v := m["name"]; v == nil {
			l.add(item, "field: name is required")
			continue
		} else if s, ok := l.str(v, "field name"); ok {
			if !identRe.MatchString(s) {
				l.add(v, "field name %q must be an identifier (letters, digits, _)", s)
			}
			if seen[s] {
				l.add(v, "field %q is declared twice", s)
			}
			seen[s] = true
			f.Name = s
		}
		if v := m["type"]; v != nil {
			s, _ := l.str(v, "field type")
			switch FieldType(s) {
			case FieldString, FieldInt, FieldPhone, FieldDate, FieldTime:
				f.Type = FieldType(s)
			default:
				l.add(v, "field %s: unknown type %q (string, int, phone, date, time)", f.Name, s)
			}
		}
		if v := m["required"]; v != nil {
			f.Required = l.boolean(v, "required")
		}
		if v := m["secret"]; v != nil {
			f.Secret = l.boolean(v, "secret")
		}
		if v := m["description"]; v != nil {
			f.Description, _ = l.str(v, "description")
		}
		if v := m["values"]; v != nil {
			if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
				l.add(v, "field %s: values must be a non-empty list", f.Name)
			} else {
				for _, x := range v.Content {
					if s, ok := l.str(x, "value"); ok {
						f.Values = append(f.Values, s)
					}
				}
			}
		}
		if v := m["pattern"]; v != nil {
			if re := l.regex(v, "field "+f.Name+" pattern"); re != nil {
				f.Pattern = regexp.MustCompile(`^(?:` + re.String() + `)$`)
			}
			if m["values"] != nil {
				l.add(v, "field %s: give values or pattern, not both", f.Name)
			}
		}
		out = append(out, f)
	}
	return out
}
