package profile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"regexp"

	"golang.org/x/text/encoding"
)

// renderJSON writes v with its templates filled. Keys are written as the
// profile gives them, in order; string leaves are JSON-escaped, number and
// bool leaves must render to a JSON number or true/false.
func renderJSON(b *bytes.Buffer, v *JSONValue, d *Data, r *Request, step string) error {
	switch v.Kind {
	case JSONObject:
		b.WriteByte('{')
		for i, k := range v.Keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, k)
			b.WriteByte(':')
			if err := renderJSON(b, v.Items[i], d, r, step); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case JSONArray:
		b.WriteByte('[')
		for i, it := range v.Items {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := renderJSON(b, it, d, r, step); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case JSONRaw:
		b.WriteString(v.Raw)
	default:
		s, err := exec(v.Value, d)
		if err != nil {
			return err
		}
		switch v.Kind {
		case JSONNumber:
			if !jsonNumberRe.MatchString(s) {
				return fmt.Errorf("%w: %s.json: %s did not render a number", ErrRender, step, v.Value.Name())
			}
			b.WriteString(s)
		case JSONBool:
			if s != "true" && s != "false" {
				return fmt.Errorf("%w: %s.json: %s did not render true or false", ErrRender, step, v.Value.Name())
			}
			b.WriteString(s)
		default:
			if v.Sensitive && s != "" {
				r.Secrets = append(r.Secrets, s)
			}
			writeJSONString(b, s)
		}
	}
	return nil
}

// jsonNumberRe is the JSON number grammar (RFC 8259 section 6).
var jsonNumberRe = regexp.MustCompile(`^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$`)

func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // a string always encodes
	b.Truncate(b.Len() - 1) // Encode appends a newline
}

// renderMultipart builds a multipart/form-data body of the step's fields,
// each value encoded in the step's charset as a browser would send it.
func renderMultipart(s *Step, d *Data, enc encoding.Encoding, r *Request) ([]byte, string, error) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, f := range s.Form {
		v, err := exec(f.Value, d)
		if err != nil {
			return nil, "", err
		}
		if f.Sensitive && v != "" {
			r.Secrets = append(r.Secrets, v)
		}
		if enc != nil {
			if v, err = encodeText(enc, v); err != nil {
				return nil, "", fmt.Errorf("%w: %s.multipart.%s: %w", ErrRender, s.Name, f.Name, err)
			}
		}
		if err := w.WriteField(f.Name, v); err != nil {
			return nil, "", fmt.Errorf("%w: %s.multipart.%s: %w", ErrRender, s.Name, f.Name, err)
		}
	}
	if err := w.Close(); err != nil {
		return nil, "", fmt.Errorf("%w: %s.multipart: %w", ErrRender, s.Name, err)
	}
	return b.Bytes(), w.FormDataContentType(), nil
}
