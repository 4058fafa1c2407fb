package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	// TwilioBodyChars is the longest body Twilio takes; it splits longer
	// SMS into segments and the handset joins them.
	TwilioBodyChars = 1600
	// TwilioBaseURLDefault is Twilio's REST API.
	TwilioBaseURLDefault = "https://api.twilio.com"
)

// twilio sends through Twilio's Programmable Messaging (POST
// /2010-04-01/Accounts/{AccountSid}/Messages.json, HTTP Basic auth with
// the account SID and auth token). Twilio takes no idempotency key, so
// Lookup lists the recent messages to the number and matches the exact
// body created since the outbox row was written.
type twilio struct {
	base    string
	sid     string
	token   string
	from    string
	service string
	client  *http.Client
}

func newTwilio(c TwilioConfig, client *http.Client) (*twilio, error) {
	base := strings.TrimRight(c.BaseURL, "/")
	if base == "" {
		base = TwilioBaseURLDefault
	}
	if err := checkURL("twilio.base_url", base); err != nil {
		return nil, err
	}
	if c.AccountSID == "" || c.AuthToken == "" {
		return nil, fmt.Errorf("%w: twilio.account_sid and twilio.auth_token are required (suggested: RESERVER_TWILIO_AUTH_TOKEN)", ErrConfig)
	}
	if (c.From == "") == (c.MessagingServiceSID == "") {
		return nil, fmt.Errorf("%w: set exactly one of twilio.from and twilio.messaging_service_sid", ErrConfig)
	}
	return &twilio{
		base: base, sid: c.AccountSID, token: string(c.AuthToken), from: c.From,
		service: c.MessagingServiceSID, client: httpClient(client),
	}, nil
}

func (t *twilio) messagesURL() string {
	return t.base + "/2010-04-01/Accounts/" + url.PathEscape(t.sid) + "/Messages.json"
}

// twilioError is Twilio's error answer.
type twilioError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// twilioMessage is the part of a Message resource reserver reads.
type twilioMessage struct {
	SID         string `json:"sid"`
	To          string `json:"to"`
	Body        string `json:"body"`
	Status      string `json:"status"`
	DateCreated string `json:"date_created"`
}

func (t *twilio) body(m Message) string { return cutRunes(m.Text, TwilioBodyChars) }

func (t *twilio) Send(ctx context.Context, m Message) (string, error) {
	form := url.Values{}
	form.Set("To", m.To)
	if t.service != "" {
		form.Set("MessagingServiceSid", t.service)
	} else {
		form.Set("From", t.from)
	}
	form.Set("Body", t.body(m))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.messagesURL(), strings.NewReader(form.Encode()))
	if err != nil {
		return "", permanent(fmt.Errorf("twilio request: %w", transportCause(err)))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(t.sid, t.token)
	resp, answer, err := exchange(t.client, req)
	if err != nil {
		return "", err
	}
	if resp.StatusCode/100 != 2 {
		return "", t.answerError(resp.StatusCode, answer)
	}
	var msg twilioMessage
	if err := json.Unmarshal(answer, &msg); err != nil || msg.SID == "" {
		return "", maybeSent(fmt.Errorf("twilio answered HTTP %d without a message sid", resp.StatusCode))
	}
	return msg.SID, nil
}

func (t *twilio) answerError(status int, answer []byte) error {
	var e twilioError
	_ = json.Unmarshal(answer, &e)
	code := ""
	if e.Code != 0 {
		code = strconv.Itoa(e.Code)
	}
	return statusError("twilio", status, code, redact(e.Message, t.token, basicAuth(t.sid, t.token)))
}

// Lookup lists the newest messages to m.To (from the configured sender)
// and matches the exact body among those created since the outbox row was
// written, a minute of slack allowed for clock differences. Listing by To
// rather than DateSent also finds a message still queued (not yet sent).
func (t *twilio) Lookup(ctx context.Context, m Message) (string, bool, error) {
	q := url.Values{}
	q.Set("To", m.To)
	if t.from != "" {
		q.Set("From", t.from)
	}
	q.Set("PageSize", "100")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.messagesURL()+"?"+q.Encode(), nil)
	if err != nil {
		return "", false, fmt.Errorf("twilio request: %w", transportCause(err))
	}
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(t.sid, t.token)
	resp, answer, err := exchange(t.client, req)
	if err != nil {
		return "", false, err
	}
	if resp.StatusCode/100 != 2 {
		return "", false, fmt.Errorf("look up: %w", t.answerError(resp.StatusCode, answer))
	}
	var page struct {
		Messages []twilioMessage `json:"messages"`
	}
	if err := json.Unmarshal(answer, &page); err != nil {
		return "", false, fmt.Errorf("twilio list answer: %w", err)
	}
	body := t.body(m)
	since := m.CreatedAt.Add(-time.Minute)
	for _, msg := range page.Messages {
		if msg.Body != body {
			continue
		}
		created, err := time.Parse(time.RFC1123Z, msg.DateCreated)
		if err != nil || created.Before(since) {
			continue
		}
		return msg.SID, true, nil
	}
	return "", false, nil
}
