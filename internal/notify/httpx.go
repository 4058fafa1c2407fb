package notify

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
)

// maxAnswer bounds how much of a provider's answer is read.
const maxAnswer = 1 << 20

// exchange sends req and reads the answer. A failure after the request was
// written wraps ErrMaybeSent; one before it (refused connection, DNS) does
// not. Errors name the method, host and path only: never the query, the
// headers or the body, which carry credentials.
func exchange(client *http.Client, req *http.Request) (*http.Response, []byte, error) {
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				wrote.Store(true)
			}
		},
	}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	where := req.Method + " " + safeURL(req.URL)
	resp, err := client.Do(req)
	if err != nil {
		err = fmt.Errorf("%s: %w", where, transportCause(err))
		if wrote.Load() {
			return nil, nil, maybeSent(err)
		}
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		// The provider answered, so it received the request.
		return nil, nil, maybeSent(fmt.Errorf("%s: read the answer: %w", where, transportCause(err)))
	}
	return resp, body, nil
}

// transportCause drops the *url.Error wrapper, whose text repeats the URL
// with its query.
func transportCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// safeURL is u without credentials, query or fragment.
func safeURL(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// statusError classifies a provider's non-2xx answer: a 5xx may have been
// applied (the provider received the request and failed somewhere after),
// 408 and 429 were not applied and are retried, other 4xx are permanent.
func statusError(provider string, status int, code, msg string) error {
	err := fmt.Errorf("%s answered HTTP %d", provider, status)
	if code != "" || msg != "" {
		err = fmt.Errorf("%w (%s: %s)", err, code, truncate(msg, 200))
	}
	switch {
	case status >= 500:
		return maybeSent(err)
	case status == http.StatusRequestTimeout || status == http.StatusTooManyRequests:
		return err
	case status >= 400:
		return permanent(err)
	}
	return err
}

// httpClient is the client providers use when none is configured. Each
// call is bounded by its context (the relay's send timeout).
func httpClient(c *http.Client) *http.Client {
	if c != nil {
		return c
	}
	return &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4, ForceAttemptHTTP2: true}}
}

// redact removes credentials from text a provider sent back (an error
// message could echo the request's headers).
func redact(text string, secrets ...string) string {
	for _, s := range secrets {
		if len(s) >= 4 {
			text = strings.ReplaceAll(text, s, "***")
		}
	}
	return text
}

// basicAuth is the encoded form of HTTP Basic credentials, as a header
// echoed back would show them.
func basicAuth(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}
