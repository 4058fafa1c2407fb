package profile

import (
	"regexp"
	"text/template"

	"github.com/andybalholm/cascadia"
	"golang.org/x/text/encoding"
)

// Header is one templated request header.
type Header struct {
	Name  string
	Value *template.Template
}

// FormField is one templated form (or multipart) field; order is preserved.
type FormField struct {
	Name  string
	Value *template.Template
	// Sensitive is true when the name looks like a password or token
	// (pass, pw, token, secret, csrf): the value is masked in excerpts.
	Sensitive bool
}

// Step is one HTTP exchange of the site flow.
type Step struct {
	Name    string
	Role    Role
	Method  string
	Path    *template.Template
	Headers []Header
	// The body is one of: Form (x-www-form-urlencoded, or multipart/form-data
	// when Multipart), JSON, or Body (raw, with ContentType).
	Form        []FormField
	Multipart   bool
	JSON        *JSONValue
	Body        *template.Template
	ContentType string
	// Charset and Encoding are the step's own charset when it differs from
	// the site's (a page of another application on the same host); nil
	// Encoding means the profile's.
	Charset         string
	Encoding        encoding.Encoding
	FollowRedirects bool
	Extract         []Extraction
	// MessageAt says where the page's message is (the `message` key, or
	// the profile's): extractions tried in order; see Step.Message.
	MessageAt []Extraction
	Rules     []Rule
	// EverySubmit (pages only): the page hands out a single-use token, so
	// it is visited again before every submit. Other pages' values are
	// valid for the login session: they are visited again after a login.
	EverySubmit bool
	// UsesCookies is true when a template of the step reads .Cookies, so
	// the session fills Data.Cookies from its jar for this step.
	UsesCookies bool
	// Cookies are the cookie names its templates read with index, for
	// `reserver profile render`.
	Cookies []string

	// dyn lists the step's templated conditions and extraction paths, in
	// slot order; Render renders them for one request.
	dyn []dynSpec
}

// dynSpec is one templated text of a rule or an extraction.
type dynSpec struct {
	tmpl  *template.Template
	regex bool // the rendered text is compiled as a regex
}

// JSONValue is a templated JSON document: an object (ordered keys), an
// array, or a leaf. A string leaf renders as a JSON string; a number or
// bool leaf written with the !number / !bool tag renders its template and
// must yield a JSON number or true/false; a plain YAML number, bool or
// null is sent as written.
type JSONValue struct {
	Kind  JSONKind
	Keys  []string     // object keys, in order
	Items []*JSONValue // object values (by Keys) or array items
	Value *template.Template
	Raw   string // JSONRaw: the literal JSON text
	// Sensitive: a string leaf whose key looks like a password or token.
	Sensitive bool
}

// JSONKind is the kind of a JSONValue node.
type JSONKind int

// JSON node kinds.
const (
	JSONObject JSONKind = iota
	JSONArray
	JSONString // templated string
	JSONNumber // templated number (!number)
	JSONBool   // templated bool (!bool)
	JSONRaw    // a literal number, bool or null
)

// Extraction source kinds.
const (
	FromBody     = "body"
	FromHeader   = "header"
	FromLocation = "location"
)

// Extraction pulls one value out of a response: by regex (first capture
// group), by CSS selector, or by JSON path (github.com/tidwall/gjson
// syntax) on a JSON answer.
type Extraction struct {
	Name  string
	Regex *regexp.Regexp
	// RegexT is set instead of Regex when the regex is a template (the
	// option labelled with this booking's start): rendered per request.
	RegexT *Text
	From   string // FromBody, FromHeader or FromLocation (regex only)
	Header string // header name when From == FromHeader
	CSS    string // goquery selector; first match
	Attr   string // "text" for the element text, otherwise an attribute name
	// JSON is the gjson path of a JSON extraction; it may be a template
	// (the entry of this booking's slot in a list).
	JSON *Text

	sel cascadia.Selector
}

// Text is a literal string or, when the profile wrote "{{", a template
// rendered for each request (a verify step looking for this booking's slot
// in a list). Regex texts are compiled: the literal at load, a template
// once rendered.
type Text struct {
	Lit   string
	Re    *regexp.Regexp     // the compiled literal of a regex text
	Tmpl  *template.Template // nil for a literal
	slot  int                // index into the request's rendered texts
	regex bool
}

// Templated reports whether the text is rendered per request.
func (t *Text) Templated() bool { return t.Tmpl != nil }

// Cond is one condition of a rule: the YAML key it was written with and
// what it tests. A list of texts is alternatives: one of them must hold.
type Cond struct {
	Key    string // status, location, location_regex, header, cookie, body_contains, body_regex, json, json_has
	Status []int  // status: any of
	Name   string // header and cookie: the header or cookie name
	Path   *Text  // json: the gjson path
	Any    []Text // the alternatives; a cookie condition without any only needs the cookie set
}

// Rule is one classification rule: every condition must hold, and the
// conditions under not must not all hold.
type Rule struct {
	Line        int // line in the profile, for diagnostics
	Conds       []Cond
	Not         []Cond
	Class       Class
	Reservation *Extraction // success only: where the reservation number is
}
