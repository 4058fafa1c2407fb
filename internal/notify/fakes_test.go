package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// fault is what a fake provider does with one send request.
type fault int

const (
	faultNone       fault = iota
	faultReject503        // answer 503 without applying the send
	faultReject429        // answer 429 without applying the send
	faultApply503         // apply the send, then answer 503
	faultApplyHang        // apply the send, then never answer
	faultApplyReset       // apply the send, then drop the connection
)

// faults is a thread-safe script of faults for successive sends; once it
// runs out, sends succeed.
type faults struct {
	mu     sync.Mutex
	script []fault
}

func (f *faults) next() fault {
	if f == nil {
		return faultNone
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.script) == 0 {
		return faultNone
	}
	x := f.script[0]
	f.script = f.script[1:]
	return x
}

// afterApply carries out the part of a fault that follows applying a send.
// It reports whether the handler should go on to answer normally.
func afterApply(w http.ResponseWriter, r *http.Request, x fault) bool {
	switch x {
	case faultApply503:
		http.Error(w, `{"errorCode":"InternalError","errorMessage":"try again"}`, http.StatusServiceUnavailable)
		return false
	case faultApplyHang:
		<-r.Context().Done()
		return false
	case faultApplyReset:
		panic(http.ErrAbortHandler)
	}
	return true
}

func beforeApply(w http.ResponseWriter, x fault) bool {
	switch x {
	case faultReject503:
		http.Error(w, `{"errorCode":"InternalError","errorMessage":"unavailable"}`, http.StatusServiceUnavailable)
		return false
	case faultReject429:
		http.Error(w, `{"errorCode":"TooManyRequests","errorMessage":"slow down"}`, http.StatusTooManyRequests)
		return false
	}
	return true
}

// fakeSolapi imitates Solapi's message API closely enough to check the
// real request shape: HMAC-SHA256 authentication (date within 15 minutes,
// 12–64 byte salt, no signature twice), SMS/LMS limits, and the list API.
type fakeSolapi struct {
	key, secret string
	faults      *faults

	mu       sync.Mutex
	seenSigs map[string]bool
	stored   []solapiStored
	requests int
}

type solapiStored struct {
	ID      string
	Created time.Time
	Msg     SolapiMessage
}

func newFakeSolapi(key, secret string) *fakeSolapi {
	return &fakeSolapi{key: key, secret: secret, seenSigs: map[string]bool{}, faults: &faults{}}
}

func (f *fakeSolapi) messages() []solapiStored {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]solapiStored(nil), f.stored...)
}

// byKey counts the stored messages carrying each reserver key.
func (f *fakeSolapi) byKey() map[string]int {
	out := map[string]int{}
	for _, m := range f.messages() {
		out[m.Msg.CustomFields[SolapiKeyField]]++
	}
	return out
}

func solapiFail(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"errorCode": code, "errorMessage": msg})
}

// auth checks the Authorization header as Solapi documents it.
func (f *fakeSolapi) auth(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	method, rest, ok := strings.Cut(h, " ")
	if !ok || method != "HMAC-SHA256" {
		return "InvalidAuthorization", false
	}
	kv := map[string]string{}
	for _, part := range strings.Split(rest, ", ") {
		k, v, _ := strings.Cut(part, "=")
		kv[k] = v
	}
	if kv["apiKey"] != f.key {
		return "InvalidAPIKey", false
	}
	date, err := time.Parse(time.RFC3339, kv["date"])
	if err != nil {
		return "InvalidAuthorization", false
	}
	if d := time.Since(date); d > 15*time.Minute || d < -15*time.Minute {
		return "RequestTimeTooSkewed", false
	}
	if n := len(kv["salt"]); n < 12 || n > 64 {
		return "InvalidAuthorization", false
	}
	mac := hmac.New(sha256.New, []byte(f.secret))
	mac.Write([]byte(kv["date"] + kv["salt"]))
	if !hmac.Equal([]byte(hex.EncodeToString(mac.Sum(nil))), []byte(kv["signature"])) {
		return "SignatureDoesNotMatch", false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seenSigs[kv["signature"]] {
		return "DuplicatedSignature", false
	}
	f.seenSigs[kv["signature"]] = true
	return "", true
}

func (f *fakeSolapi) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	f.mu.Unlock()
	if code, ok := f.auth(r); !ok {
		solapiFail(w, http.StatusForbidden, code, "authentication failed")
		return
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/messages/v4/send":
		f.send(w, r)
	case r.Method == http.MethodGet && r.URL.Path == "/messages/v4/list":
		f.list(w, r)
	default:
		solapiFail(w, http.StatusNotFound, "NotFound", r.Method+" "+r.URL.Path)
	}
}

func (f *fakeSolapi) send(w http.ResponseWriter, r *http.Request) {
	x := f.faults.next()
	if !beforeApply(w, x) {
		return
	}
	if r.Header.Get("Content-Type") != "application/json" {
		solapiFail(w, http.StatusBadRequest, "ValidationError", "content type")
		return
	}
	var req struct {
		Message *SolapiMessage `json:"message"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Message == nil {
		solapiFail(w, http.StatusBadRequest, "ValidationError", "\"message\" is required")
		return
	}
	m := *req.Message
	switch {
	case m.To == "" || strings.Trim(m.To, "0123456789") != "" || !strings.HasPrefix(m.To, "0"):
		solapiFail(w, http.StatusBadRequest, "ValidationError", "invalid to: "+m.To)
		return
	case m.From == "" || m.Text == "":
		solapiFail(w, http.StatusBadRequest, "ValidationError", "from and text are required")
		return
	case m.Type == "SMS" && smsBytes(m.Text) > 90:
		solapiFail(w, http.StatusBadRequest, "ValidationError", "SMS is limited to 90 bytes")
		return
	case m.Type == "LMS" && (smsBytes(m.Text) > 2000 || m.Subject == "" || smsBytes(m.Subject) > 40):
		solapiFail(w, http.StatusBadRequest, "ValidationError", "LMS needs a subject and at most 2000 bytes")
		return
	case m.Type != "SMS" && m.Type != "LMS":
		solapiFail(w, http.StatusBadRequest, "ValidationError", "type")
		return
	}
	f.mu.Lock()
	id := fmt.Sprintf("M4V%020d", len(f.stored)+1)
	f.stored = append(f.stored, solapiStored{ID: id, Created: time.Now(), Msg: m})
	f.mu.Unlock()
	if !afterApply(w, r, x) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{
		"groupId": "G4V1", "messageId": id, "statusCode": "2000", "statusMessage": "정상 접수(이통사로 접수 예정) ",
		"to": m.To, "from": m.From, "type": m.Type, "country": "82", "accountId": "1",
	})
}

func (f *fakeSolapi) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("criteria") != "to" || q.Get("cond") != "eq" || q.Get("value") == "" {
		solapiFail(w, http.StatusBadRequest, "ValidationError", "criteria")
		return
	}
	since, err := time.Parse(time.RFC3339, q.Get("startDate"))
	if err != nil {
		solapiFail(w, http.StatusBadRequest, "ValidationError", "startDate")
		return
	}
	list := map[string]any{}
	for _, m := range f.messages() {
		if m.Msg.To == q.Get("value") && !m.Created.Before(since) {
			list[m.ID] = map[string]any{"messageId": m.ID, "to": m.Msg.To, "text": m.Msg.Text, "customFields": m.Msg.CustomFields, "statusCode": "4000"}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"startKey": nil, "nextKey": nil, "limit": 100, "messageList": list})
}

// fakeTwilio imitates Twilio's Messages resource: Basic auth, the form
// fields, the 1600-character body limit, the error shape and the list.
type fakeTwilio struct {
	sid, token string
	faults     *faults

	mu     sync.Mutex
	stored []twilioStored
}

type twilioStored struct {
	SID, To, From, Service, Body string
	Created                      time.Time
}

func newFakeTwilio(sid, token string) *fakeTwilio {
	return &fakeTwilio{sid: sid, token: token, faults: &faults{}}
}

func (f *fakeTwilio) messages() []twilioStored {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]twilioStored(nil), f.stored...)
}

func twilioFail(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg, "more_info": "https://www.twilio.com/docs/errors/" + strconv.Itoa(code), "status": status})
}

func (f *fakeTwilio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || user != f.sid || pass != f.token {
		twilioFail(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if r.URL.Path != "/2010-04-01/Accounts/"+f.sid+"/Messages.json" {
		twilioFail(w, http.StatusNotFound, 20404, "The requested resource was not found")
		return
	}
	switch r.Method {
	case http.MethodPost:
		f.send(w, r)
	case http.MethodGet:
		f.list(w, r)
	default:
		twilioFail(w, http.StatusMethodNotAllowed, 20004, "Method not allowed")
	}
}

func (f *fakeTwilio) send(w http.ResponseWriter, r *http.Request) {
	x := f.faults.next()
	if !beforeApply(w, x) {
		return
	}
	if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		twilioFail(w, http.StatusBadRequest, 21601, "content type")
		return
	}
	if err := r.ParseForm(); err != nil {
		twilioFail(w, http.StatusBadRequest, 21601, "form")
		return
	}
	to, from, svc, body := r.PostForm.Get("To"), r.PostForm.Get("From"), r.PostForm.Get("MessagingServiceSid"), r.PostForm.Get("Body")
	switch {
	case !strings.HasPrefix(to, "+") || len(to) < 8:
		twilioFail(w, http.StatusBadRequest, 21211, "The 'To' number "+to+" is not a valid phone number.")
		return
	case from == "" && svc == "":
		twilioFail(w, http.StatusBadRequest, 21603, "A 'From' or 'MessagingServiceSid' parameter is required")
		return
	case body == "":
		twilioFail(w, http.StatusBadRequest, 21602, "Message body is required")
		return
	case utf8.RuneCountInString(body) > 1600:
		twilioFail(w, http.StatusBadRequest, 21617, "The concatenated message body exceeds the 1600 character limit")
		return
	}
	f.mu.Lock()
	m := twilioStored{SID: fmt.Sprintf("SM%032d", len(f.stored)+1), To: to, From: from, Service: svc, Body: body, Created: time.Now()}
	f.stored = append(f.stored, m)
	f.mu.Unlock()
	if !afterApply(w, r, x) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(twilioJSON(m))
}

func twilioJSON(m twilioStored) map[string]any {
	return map[string]any{
		"sid": m.SID, "to": m.To, "from": m.From, "body": m.Body, "status": "queued",
		"messaging_service_sid": m.Service, "date_created": m.Created.UTC().Format(time.RFC1123Z), "date_sent": nil,
	}
}

func (f *fakeTwilio) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	size, _ := strconv.Atoi(q.Get("PageSize"))
	if size <= 0 {
		size = 50
	}
	msgs := f.messages()
	var out []map[string]any
	for i := len(msgs) - 1; i >= 0 && len(out) < size; i-- { // newest first
		m := msgs[i]
		if (q.Get("To") == "" || q.Get("To") == m.To) && (q.Get("From") == "" || q.Get("From") == m.From) {
			out = append(out, twilioJSON(m))
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"messages": out, "page": 0, "page_size": size, "next_page_uri": nil})
}

// fakeWebhook is a receiver that verifies the signature and dedupes by
// Idempotency-Key, as docs/notify.md asks receivers to.
type fakeWebhook struct {
	secret string
	faults *faults

	mu         sync.Mutex
	deliveries []WebhookPayload // every verified delivery, duplicates included
	keys       []string         // Idempotency-Key of each delivery
}

func newFakeWebhook(secret string) *fakeWebhook {
	return &fakeWebhook{secret: secret, faults: &faults{}}
}

func (f *fakeWebhook) unique() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for _, k := range f.keys {
		out[k] = 1
	}
	return out
}

func (f *fakeWebhook) all() []WebhookPayload {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]WebhookPayload(nil), f.deliveries...)
}

// verifyWebhook checks a signature header as a receiver would.
func verifyWebhook(secret, header string, body []byte, now time.Time) error {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("bad timestamp %q", ts)
	}
	if d := now.Sub(time.Unix(t, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("timestamp too old: %v", d)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	if !hmac.Equal([]byte(hex.EncodeToString(mac.Sum(nil))), []byte(sig)) {
		return fmt.Errorf("signature mismatch")
	}
	return nil
}

func (f *fakeWebhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := verifyWebhook(f.secret, r.Header.Get(HeaderSignature), body, time.Now()); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	x := f.faults.next()
	if !beforeApply(w, x) {
		return
	}
	var p WebhookPayload
	if err := json.Unmarshal(body, &p); err != nil || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	key := r.Header.Get(HeaderIdempotencyKey)
	if key == "" || key != p.Key {
		http.Error(w, "Idempotency-Key must equal the body's key", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.deliveries = append(f.deliveries, p)
	f.keys = append(f.keys, key)
	f.mu.Unlock()
	if !afterApply(w, r, x) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"id": "wh-" + url.PathEscape(key)})
}
