package api

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// flexString accepts "3" or 3: court numbers are written both ways.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		*f = flexString(n.String())
		return nil
	}
	// A type error, so that the decoder names the field (decodeStrict).
	what := "a value"
	switch string(bytes.TrimSpace(b))[:1] {
	case "t", "f":
		what = "bool"
	case "[":
		what = "array"
	case "{":
		what = "object"
	}
	return &json.UnmarshalTypeError{Value: what, Type: flexType}
}

var flexType = reflect.TypeFor[flexString]()

// decodeStrict decodes one JSON object, refusing trailing data, and turns
// decoder errors into field problems. ok is false when the body could not
// be decoded at all (then probs say why); an unknown field does not stop
// it: probs name every unknown field, and the caller validates the rest,
// so that one stray key does not hide the other problems.
func decodeStrict(body []byte, v any) (probs []FieldProblem, ok bool) {
	if !utf8.Valid(body) {
		return []FieldProblem{{Field: "", Detail: "the body is not valid UTF-8"}}, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	err := dec.Decode(v)
	if err == nil {
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return []FieldProblem{{Field: "", Detail: "expected one JSON object and nothing after it"}}, false
		}
		return unknownFields(body, reflect.TypeOf(v), ""), true
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return []FieldProblem{{Field: "", Detail: "the body is empty: expected a JSON object"}}, false
	case errors.As(err, &syn):
		return []FieldProblem{{Field: "", Detail: fmt.Sprintf("malformed JSON at byte %d: %s", syn.Offset, syn.Error())}}, false
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return []FieldProblem{{Field: "", Detail: "expected a JSON object"}}, false
		}
		kind := jsonKind(typ.Type.Kind().String())
		if typ.Type == flexType {
			kind = "a string or a number"
		}
		return append(unknownFields(body, reflect.TypeOf(v), ""),
			FieldProblem{Field: field, Detail: "expected " + kind + ", got " + typ.Value}), false
	case errors.Is(err, io.ErrUnexpectedEOF):
		return []FieldProblem{{Field: "", Detail: "malformed JSON: the body ends in the middle of a value"}}, false
	}
	// A field's own UnmarshalJSON failed (court).
	msg := err.Error()
	if i := strings.Index(msg, "Go struct field "); i >= 0 {
		rest := msg[i+len("Go struct field "):]
		if f, _, ok := strings.Cut(rest, " "); ok {
			if _, name, ok := strings.Cut(f, "."); ok {
				return append(unknownFields(body, reflect.TypeOf(v), ""),
					FieldProblem{Field: strings.ToLower(name), Detail: "expected a string or a number"}), false
			}
		}
	}
	return []FieldProblem{{Field: "", Detail: "malformed JSON: " + msg}}, false
}

// unknownFields names every key of the JSON object raw that the struct t
// (or a pointer to it) has no field for, as encoding/json matches keys
// (case-insensitively), and the unknown keys of the objects nested in its
// struct fields, as "account.x". A map field (fields) takes any key.
func unknownFields(raw []byte, t reflect.Type, prefix string) []FieldProblem {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Slice {
		// An array of objects (choices): each item's unknown keys, as
		// "choices[1].x".
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return nil
		}
		base := strings.TrimSuffix(prefix, ".")
		var probs []FieldProblem
		for i, it := range items {
			probs = append(probs, unknownFields(it, t.Elem(), fmt.Sprintf("%s[%d].", base, i))...)
		}
		return probs
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return nil
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var probs []FieldProblem
	for _, k := range keys {
		f, found := structField(t, k)
		if !found {
			detail := "unknown field; site-specific values go inside \"fields\""
			if prefix != "" {
				detail = "unknown field"
			}
			probs = append(probs, FieldProblem{Field: prefix + k, Detail: detail})
			continue
		}
		probs = append(probs, unknownFields(obj[k], f.Type, prefix+jsonName(f)+".")...)
	}
	return probs
}

// structField finds the field of t that the JSON key k decodes into.
func structField(t reflect.Type, k string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if name := jsonName(f); name != "-" && strings.EqualFold(name, k) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return cmp.Or(name, f.Name)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "int", "int64", "int32":
		return "an integer"
	case "float64", "float32":
		return "a number"
	case "map", "struct":
		return "an object"
	case "slice":
		return "an array"
	case "ptr":
		return "an object"
	}
	return goKind
}

func scalar(raw json.RawMessage) (string, bool) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, true
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String(), true
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err == nil {
		return strconv.FormatBool(b), true
	}
	return "", false
}
