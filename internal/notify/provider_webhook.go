package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Webhook headers.
const (
	// HeaderSignature carries "t=<unix seconds>,v1=<hex HMAC-SHA256 of
	// "<t>.<body>" keyed with the shared secret>".
	HeaderSignature = "X-Reserver-Signature"
	// HeaderIdempotencyKey carries Message.Key; the receiver drops a
	// second delivery with a key it has seen.
	HeaderIdempotencyKey = "Idempotency-Key"
)

// WebhookPayload is the JSON body the webhook provider posts.
type WebhookPayload struct {
	ID        int64  `json:"id"`
	Kind      string `json:"kind"`
	To        string `json:"to"`
	Text      string `json:"text"`
	BookingID int64  `json:"booking_id"`
	Key       string `json:"key"`
}

// webhook posts each message as signed JSON to a URL of the operator's
// own (a gateway of another SMS vendor, a chat bot).
type webhook struct {
	url    string
	secret []byte
	client *http.Client
	now    func() time.Time
}

func newWebhook(c WebhookConfig, client *http.Client) (*webhook, error) {
	if err := checkURL("webhook.url", c.URL); err != nil {
		return nil, err
	}
	if c.Secret == "" {
		return nil, fmt.Errorf("%w: webhook.secret is required (suggested: RESERVER_WEBHOOK_SECRET)", ErrConfig)
	}
	return &webhook{url: c.URL, secret: []byte(c.Secret), client: httpClient(client), now: time.Now}, nil
}

// signWebhook is the signature header value for body at t.
func signWebhook(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Send posts the message. A 2xx answer is success; the provider id is the
// "id" of a JSON answer when there is one, else the key.
func (w *webhook) Send(ctx context.Context, m Message) (string, error) {
	body, err := json.Marshal(WebhookPayload{ID: m.ID, Kind: m.Kind, To: m.To, Text: m.Text, BookingID: m.BookingID, Key: m.Key})
	if err != nil {
		return "", permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return "", permanent(fmt.Errorf("webhook request: %w", transportCause(err)))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderSignature, signWebhook(w.secret, w.now(), body))
	req.Header.Set(HeaderIdempotencyKey, m.Key)
	resp, answer, err := exchange(w.client, req)
	if err != nil {
		return "", err
	}
	if resp.StatusCode/100 != 2 {
		return "", statusError("webhook", resp.StatusCode, "", redact(string(answer), string(w.secret)))
	}
	var ack struct {
		ID any `json:"id"`
	}
	if json.Unmarshal(answer, &ack) == nil && ack.ID != nil {
		if id := fmt.Sprint(ack.ID); id != "" {
			return id, nil
		}
	}
	return m.Key, nil
}
