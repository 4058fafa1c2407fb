package chaos

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// smsReceiver is the webhook SMS gateway of the harness: it checks the
// signature, can be told to answer 503 for a while, and counts deliveries
// by Idempotency-Key.
type smsReceiver struct {
	secret []byte
	srv    *http.Server
	addr   string

	mu        sync.Mutex
	downUntil time.Time
	refused   int                // deliveries answered 503
	badSig    int                // deliveries with a wrong signature
	accepted  map[string]int     // 200 answers by Idempotency-Key
	bookings  map[string]int64   // booking of each key
	kinds     map[string]string  // kind of each key
	texts     map[string]string  // text of each key
	byBooking map[int64][]string // distinct keys by booking
}

func startSMSReceiver(secret string) (*smsReceiver, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &smsReceiver{secret: []byte(secret), addr: l.Addr().String(), accepted: map[string]int{},
		bookings: map[string]int64{}, kinds: map[string]string{}, texts: map[string]string{}, byBooking: map[int64][]string{}}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = r.srv.Serve(l) }()
	return r, nil
}

func (r *smsReceiver) URL() string { return "http://" + r.addr }

func (r *smsReceiver) close() { _ = r.srv.Close() }

// refuseUntil makes the receiver answer 503 until t.
func (r *smsReceiver) refuseUntil(t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.downUntil = t
}

func (r *smsReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil || req.URL.Path != webhookPath {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Now().Before(r.downUntil) {
		r.refused++
		http.Error(w, "provider outage", http.StatusServiceUnavailable)
		return
	}
	if !validSignature(r.secret, req.Header.Get("X-Reserver-Signature"), body) {
		r.badSig++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var p struct {
		Kind      string `json:"kind"`
		Text      string `json:"text"`
		BookingID int64  `json:"booking_id"`
	}
	key := req.Header.Get("Idempotency-Key")
	if err := json.Unmarshal(body, &p); err != nil || key == "" {
		http.Error(w, "bad payload", http.StatusBadRequest)
		return
	}
	if r.accepted[key] == 0 {
		r.byBooking[p.BookingID] = append(r.byBooking[p.BookingID], key)
	}
	r.accepted[key]++
	r.bookings[key], r.kinds[key], r.texts[key] = p.BookingID, p.Kind, p.Text
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"id":"`+key+`"}`)
}

// validSignature checks "t=<unix>,v1=<hex HMAC-SHA256 of t.body>".
func validSignature(secret []byte, header string, body []byte) bool {
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
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	want := hex.EncodeToString(mac.Sum(nil))
	return ts != "" && hmac.Equal([]byte(sig), []byte(want))
}

// smsCounts summarises the deliveries for the bookings in ids.
type smsCounts struct {
	Messages    int // distinct keys accepted
	Redelivered int // accepted deliveries of a key already accepted (dropped by dedupe)
	Refused     int
	BadSig      int
	// bookings with other than exactly one distinct "booked" key
	WrongCount []int64
}

func (r *smsReceiver) counts(succeeded []int64) smsCounts {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := smsCounts{Refused: r.refused, BadSig: r.badSig}
	for _, n := range r.accepted {
		c.Messages++
		c.Redelivered += n - 1
	}
	for _, id := range succeeded {
		booked := 0
		for _, k := range r.byBooking[id] {
			if r.kinds[k] == "booked" {
				booked++
			}
		}
		if booked != 1 {
			c.WrongCount = append(c.WrongCount, id)
		}
	}
	return c
}
