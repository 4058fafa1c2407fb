package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Solapi limits, counted in EUC-KR bytes (one per ASCII character, two per
// Hangul syllable).
const (
	SolapiSMSBytes     = 90
	SolapiLMSBytes     = 2000
	SolapiSubjectBytes = 40
	// SolapiKeyField is the customFields entry carrying Message.Key, by
	// which a later try finds an earlier one.
	SolapiKeyField = "reserverKey"
	// SolapiBaseURLDefault is Solapi's API.
	SolapiBaseURLDefault = "https://api.solapi.com"
	// SolapiSubjectDefault is the LMS subject when none is configured.
	SolapiSubjectDefault = "[reserver] 알림"
)

// solapi sends through Solapi's message API v4 (POST /messages/v4/send),
// signing each request with HMAC-SHA256 over date+salt as its API-key
// authentication asks. Each message carries its key in customFields, and
// Lookup lists the recipient's messages since the row was written
// (GET /messages/v4/list) to find it.
type solapi struct {
	base    string
	key     string
	secret  []byte
	from    string
	subject string
	client  *http.Client
	now     func() time.Time
}

func newSolapi(c SolapiConfig, client *http.Client) (*solapi, error) {
	base := strings.TrimRight(c.BaseURL, "/")
	if base == "" {
		base = SolapiBaseURLDefault
	}
	if err := checkURL("solapi.base_url", base); err != nil {
		return nil, err
	}
	if c.APIKey == "" || c.APISecret == "" {
		return nil, fmt.Errorf("%w: solapi.api_key and solapi.api_secret are required (suggested: RESERVER_SOLAPI_API_KEY, RESERVER_SOLAPI_API_SECRET)", ErrConfig)
	}
	from := digits(c.From)
	if from == "" {
		return nil, fmt.Errorf("%w: solapi.from must be the sender number registered with Solapi, e.g. 0212345678", ErrConfig)
	}
	subject := c.Subject
	if subject == "" {
		subject = SolapiSubjectDefault
	}
	return &solapi{
		base: base, key: string(c.APIKey), secret: []byte(c.APISecret), from: from,
		subject: cutBytes(subject, SolapiSubjectBytes), client: httpClient(client), now: time.Now,
	}, nil
}

// authorization is the Authorization header for one request: a fresh salt
// each time, because Solapi refuses a signature it has seen in the last 15
// minutes.
func (s *solapi) authorization() string {
	date := s.now().UTC().Format(time.RFC3339)
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	saltHex := hex.EncodeToString(salt)
	mac := hmac.New(sha256.New, s.secret)
	mac.Write([]byte(date + saltHex))
	return fmt.Sprintf("HMAC-SHA256 apiKey=%s, date=%s, salt=%s, signature=%s", s.key, date, saltHex, hex.EncodeToString(mac.Sum(nil)))
}

// SolapiMessage is the "message" object of a send request.
type SolapiMessage struct {
	To           string            `json:"to"`
	From         string            `json:"from"`
	Text         string            `json:"text"`
	Type         string            `json:"type"`
	Subject      string            `json:"subject,omitempty"`
	CustomFields map[string]string `json:"customFields,omitempty"`
}

// solapiMessage shapes m for Solapi: SMS up to 90 bytes, LMS (with a
// subject) up to 2000 bytes, longer text cut to fit.
func (s *solapi) solapiMessage(m Message) (SolapiMessage, error) {
	to, err := domesticKR(m.To)
	if err != nil {
		return SolapiMessage{}, err
	}
	out := SolapiMessage{To: to, From: s.from, Text: m.Text, Type: "SMS", CustomFields: map[string]string{SolapiKeyField: m.Key}}
	if smsBytes(m.Text) > SolapiSMSBytes {
		out.Type = "LMS"
		out.Subject = s.subject
		out.Text = cutBytes(m.Text, SolapiLMSBytes)
	}
	return out, nil
}

type solapiError struct {
	ErrorCode    string `json:"errorCode"`
	ErrorMessage string `json:"errorMessage"`
}

func (s *solapi) Send(ctx context.Context, m Message) (string, error) {
	msg, err := s.solapiMessage(m)
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(map[string]any{"message": msg})
	if err != nil {
		return "", permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/messages/v4/send", bytes.NewReader(body))
	if err != nil {
		return "", permanent(fmt.Errorf("solapi request: %w", transportCause(err)))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", s.authorization())
	resp, answer, err := exchange(s.client, req)
	if err != nil {
		return "", err
	}
	if resp.StatusCode/100 != 2 {
		return "", s.answerError(resp.StatusCode, answer)
	}
	var ok struct {
		MessageID     string `json:"messageId"`
		StatusCode    string `json:"statusCode"`
		StatusMessage string `json:"statusMessage"`
	}
	if err := json.Unmarshal(answer, &ok); err != nil || ok.MessageID == "" {
		// Accepted with an answer we cannot read: it may well have gone out.
		return "", maybeSent(fmt.Errorf("solapi answered HTTP %d without a message id", resp.StatusCode))
	}
	return ok.MessageID, nil
}

// answerError classifies Solapi's {errorCode, errorMessage} answers. A
// stale date or a reused signature was refused before anything was sent.
func (s *solapi) answerError(status int, answer []byte) error {
	var e solapiError
	_ = json.Unmarshal(answer, &e)
	e.ErrorMessage = redact(e.ErrorMessage, string(s.secret))
	if e.ErrorCode == "RequestTimeTooSkewed" || e.ErrorCode == "DuplicatedSignature" {
		return fmt.Errorf("solapi answered HTTP %d (%s: %s)", status, e.ErrorCode, truncate(e.ErrorMessage, 200))
	}
	if e.ErrorCode == "" && e.ErrorMessage == "" && status >= 500 {
		e.ErrorMessage = redact(truncate(string(answer), 200), string(s.secret))
	}
	return statusError("solapi", status, e.ErrorCode, e.ErrorMessage)
}

// solapiList is the answer of GET /messages/v4/list.
type solapiList struct {
	NextKey     *string `json:"nextKey"`
	MessageList map[string]struct {
		MessageID    string            `json:"messageId"`
		To           string            `json:"to"`
		CustomFields map[string]string `json:"customFields"`
	} `json:"messageList"`
}

// Lookup lists the messages to m.To created since the outbox row was
// written (a minute of slack for clock differences) and looks for m.Key in
// their customFields.
func (s *solapi) Lookup(ctx context.Context, m Message) (string, bool, error) {
	to, err := domesticKR(m.To)
	if err != nil {
		return "", false, err
	}
	startKey := ""
	for range 10 { // at most 1000 messages to one number within the retry period
		q := url.Values{}
		q.Set("criteria", "to")
		q.Set("cond", "eq")
		q.Set("value", to)
		q.Set("dateType", "CREATED")
		q.Set("startDate", m.CreatedAt.Add(-time.Minute).UTC().Format(time.RFC3339))
		q.Set("limit", "100")
		if startKey != "" {
			q.Set("startKey", startKey)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/messages/v4/list?"+q.Encode(), nil)
		if err != nil {
			return "", false, fmt.Errorf("solapi request: %w", transportCause(err))
		}
		req.Header.Set("Authorization", s.authorization())
		resp, answer, err := exchange(s.client, req)
		if err != nil {
			return "", false, err
		}
		if resp.StatusCode/100 != 2 {
			return "", false, fmt.Errorf("look up: %w", s.answerError(resp.StatusCode, answer))
		}
		var list solapiList
		if err := json.Unmarshal(answer, &list); err != nil {
			return "", false, fmt.Errorf("solapi list answer: %w", err)
		}
		for id, msg := range list.MessageList {
			if msg.CustomFields[SolapiKeyField] == m.Key {
				if msg.MessageID != "" {
					id = msg.MessageID
				}
				return id, true, nil
			}
		}
		if list.NextKey == nil || *list.NextKey == "" || len(list.MessageList) == 0 {
			return "", false, nil
		}
		startKey = *list.NextKey
	}
	return "", false, fmt.Errorf("solapi list: too many messages to %s to search", maskPhone(m.To))
}

// domesticKR turns +82 10-1234-5678 into 01012345678, the form Solapi
// takes for Korean numbers. Other countries are refused.
func domesticKR(e164 string) (string, error) {
	d := digits(e164)
	switch {
	case strings.HasPrefix(e164, "+82") && len(d) > 2:
		return "0" + strings.TrimPrefix(d[2:], "0"), nil
	case strings.HasPrefix(d, "0") && !strings.HasPrefix(e164, "+"):
		return d, nil
	}
	return "", permanent(fmt.Errorf("solapi: %s is not a Korean (+82) number", maskPhone(e164)))
}

func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
