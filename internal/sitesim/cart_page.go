package sitesim

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
	"time"
)

// The cart flavour's HTML pages. Each page's heading and answer sit on one
// line, exactly as docs/simulator.md quotes them, so a client may match
// them literally.
const cartLayout = `{{define "head"}}<!DOCTYPE html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<title>{{.Title}} · Courts</title>
</head>
<body>
<main>
{{end}}
{{define "foot"}}</main>
</body>
</html>
{{end}}

{{define "login"}}{{template "head" .}}<h1>Log in</h1>
{{with .Message}}<p class="error">{{.}}</p>
{{end}}<form method="post" action="/login">
<input type="hidden" name="_token" value="{{.Token}}">
<label>Username <input type="text" name="username" autocomplete="username"></label>
<label>Password <input type="password" name="password" autocomplete="current-password"></label>
<button type="submit" name="login" value="` + loginButtonText + `">` + loginButtonText + `</button>
</form>
{{template "foot" .}}{{end}}

{{define "dashboard"}}{{template "head" .}}<h1>{{.Title}}</h1>
<p class="welcome">{{.Message}}</p>
{{template "dashboardNav" .}}{{template "foot" .}}{{end}}

{{define "oops"}}{{template "head" .}}<h1>` + txtOops + `</h1><p>` + txtTryLater + `</p>
{{template "foot" .}}{{end}}

{{define "status"}}{{template "head" .}}<h1>{{.Title}}</h1>
{{template "foot" .}}{{end}}

{{define "message"}}{{template "head" .}}<h1>{{.Title}}</h1>
<p class="message">{{.Message}}</p>
{{template "foot" .}}{{end}}

{{define "order"}}{{template "head" .}}{{with .Order}}<h1>{{.Heading}}</h1><p>{{.Label}} <strong class="order-code">{{.Code}}</strong></p><p class="when">{{.When}}</p><p class="what">{{.What}}</p>{{end}}
{{template "orderNav" .}}{{template "foot" .}}{{end}}
`

var cartPages = template.Must(template.New("cart").Parse(cartLayout))

// cartPageData is what every cart page receives.
type cartPageData struct {
	Lang    string
	Title   string
	Message string
	Token   string // login form
	Order   *orderData
	Page    any // a page a person uses in a browser (cart_person.go)
}

type orderData struct {
	Heading, Label, Code, When, What string
}

// cartResponse is what a cart route decided; it is written after the
// latency.
type cartResponse struct {
	status      int
	location    string
	retryAfter  time.Duration
	cookies     []*http.Cookie
	contentType string
	body        []byte
	reset       bool // hijack and reset the connection instead of answering
}

func cartRedirect(to string) cartResponse {
	return cartResponse{status: http.StatusFound, location: to}
}

// cartHTML renders a page. A template error is a bug of this package; it
// is answered as a bare 500 rather than a panic.
func cartHTML(status int, name string, d cartPageData) cartResponse {
	if d.Lang == "" {
		d.Lang = LangEN
	}
	var buf bytes.Buffer
	if err := cartPages.ExecuteTemplate(&buf, name, d); err != nil {
		return cartResponse{status: http.StatusInternalServerError, contentType: "text/plain; charset=utf-8", body: []byte("template error\n")}
	}
	return cartResponse{status: status, contentType: "text/html; charset=utf-8", body: buf.Bytes()}
}

// cartStatusPage is a page that is only its heading: Page Expired,
// Forbidden, Too many requests, Not Found, the 5xx pages.
func cartStatusPage(status int, title string) cartResponse {
	return cartHTML(status, "status", cartPageData{Title: title})
}

// oops is the generic answer to anything unexpected: HTTP 200, English.
func oops() cartResponse { return cartHTML(http.StatusOK, "oops", cartPageData{Title: "Error"}) }

func cartMessage(lang, title, msg string) cartResponse {
	return cartHTML(http.StatusOK, "message", cartPageData{Lang: lang, Title: title, Message: msg})
}

// cartJSON encodes v without HTML escaping, as the API's framework would.
func cartJSON(status int, v any) cartResponse {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return cartResponse{status: http.StatusInternalServerError, contentType: "text/plain; charset=utf-8", body: []byte("encode error\n")}
	}
	return cartResponse{status: status, contentType: "application/json; charset=utf-8", body: buf.Bytes()}
}

// apiError is every failed API answer: {"ok":false,"code":…,"message":…}.
type apiError struct {
	OK      bool   `json:"ok"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// API error codes.
const (
	codeUnauthenticated = "unauthenticated"
	codeCSRF            = "csrf"
	codeRateLimited     = "rate_limited"
	codeNotice          = "notice"
	codeConflict        = "conflict"
	codeLimitReached    = "limit_reached"
	codeInvalid         = "invalid"
	codeHoldExpired     = "hold_expired"
	codeServerError     = "server_error"
	codeUnavailable     = "unavailable"
)

func cartAPIError(status int, code, msg string) cartResponse {
	return cartJSON(status, apiError{Code: code, Message: msg})
}
