// Package booking owns the Booking model and its state machine, the store
// that keeps bookings, site accounts and the attempt log (gorm on SQLite or
// MySQL), and the leases by which one daemon instance at a time runs a
// booking. It does not talk to booking sites and does not validate requests
// from the API beyond what keeps the data consistent.
package booking

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"reserver/internal/profile"
)

// Booking is one queued attempt to reserve one slot: the first of its
// choices (Choices) that the site still has.
type Booking struct {
	ID             int64
	TenantID       int64
	AccountID      int64
	Site           string
	Court          string
	PlayDate       string // YYYY-MM-DD in the site's zone
	StartTime      string // HH:MM site-local
	EndTime        string // HH:MM site-local
	OpensAt        time.Time
	WindowSeconds  int
	RatePerSecond  float64
	Phone          string // E.164 or empty
	BookerName     string
	Fields         string // JSON object of site-specific values
	State          State
	Reason         Reason
	ReservationNo  string
	ActiveKey      *string
	IdempotencyKey *string
	RequestHash    string
	// PasswordEnc is the site password this booking was created with,
	// sealed like the account's; nil for bookings older than it (they use
	// the account's). See Store.LoginPassword.
	PasswordEnc []byte `json:"-"`
	// PasswordSetAt is when a PATCH last replaced PasswordEnc (nil: it is
	// the one the booking was created with).
	PasswordSetAt *time.Time
	ClaimedBy     string
	LeaseUntil    *time.Time
	Version       int64
	CreatedAt     time.Time
	UpdatedAt     time.Time
	FinishedAt    *time.Time
	// CancelRequestedAt is set when a cancel arrived while a live instance
	// was running the booking: a flag the instance honours before its next
	// request (see CancelRequests), not a state. A repeated request keeps
	// the first time.
	CancelRequestedAt *time.Time
	// CancelReason is the reason FinishCancel records.
	CancelReason Reason
	// Review, when not empty, marks the booking for an operator (one of the
	// Review constants); ReviewNote says what a person has to do.
	Review     string
	ReviewNote string
	// ClockOffsetUS and ClockWithinUS are the site clock the daemon
	// measured for this booking's opening (site − local, ± within, in
	// microseconds; nil before a measurement): SiteClockFor shows the
	// attempts on it when it is tighter than the Date headers allow.
	ClockOffsetUS *int64
	ClockWithinUS *int64
	// FireAt is the local instant (the daemon's clock) the first submit
	// was planned for; nil until a run recorded it.
	FireAt *time.Time
	// NotifyOn is when the booking's phone gets an SMS (one of the Notify*
	// values; empty: the daemon's default), NotifyLanguage the language of
	// its messages (ko or en; empty: the site's choice).
	NotifyOn       string
	NotifyLanguage string
	// ChoiceList is the JSON list of the booking's choices (Choices), nil
	// when it has one slot; WonChoice the 1-based choice the site booked
	// (nil until a success). Priority orders the bookings of one account
	// opening at the same instant at a site that takes one submit at a
	// time: lower goes first, then the lower id.
	ChoiceList *string `gorm:"column:choices"`
	WonChoice  *int
	Priority   int

	// Account is loaded with the booking when asked for (Preload).
	Account *Account `gorm:"foreignKey:AccountID"`
	// TakenOver is set by Claim when the booking was armed or running
	// under an expired lease of another instance.
	TakenOver bool `gorm:"-"`
}

// When a booking's phone gets an SMS (Booking.NotifyOn).
const (
	// NotifyDefault: the daemon's default — NotifySuccess, or
	// NotifyAlways when the daemon's notify_failed says so.
	NotifyDefault = ""
	// NotifySuccess: the confirmation, and the warning of a password the
	// site refused at pre-warm (only the person can fix it, before the
	// opening); no message for other failures.
	NotifySuccess = "success"
	// NotifyAlways: the confirmation, or a message saying why it failed.
	NotifyAlways = "always"
	// NotifyNever: no message at all.
	NotifyNever = "never"
)

// NotifyPolicies lists the values a booking may ask for, in
// documentation order.
var NotifyPolicies = []string{NotifySuccess, NotifyAlways, NotifyNever}

// FieldMap decodes the site-specific fields.
func (b *Booking) FieldMap() map[string]string {
	m := map[string]string{}
	if b.Fields != "" {
		_ = json.Unmarshal([]byte(b.Fields), &m)
	}
	return m
}

// WindowEnd is the instant after which no submit is made (site clock).
func (b *Booking) WindowEnd() time.Time {
	return b.OpensAt.Add(time.Duration(b.WindowSeconds) * time.Second)
}

// Account is a login on a booking site. The password is sealed.
type Account struct {
	ID          int64
	TenantID    int64
	Site        string
	Username    string
	PasswordEnc []byte
	// PasswordProvenAt is when a login proved PasswordEnc (a changed
	// password); nil while it is the first one given.
	PasswordProvenAt *time.Time
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// TableName keeps gorm on the migration's table name.
func (Account) TableName() string { return "site_accounts" }

// sealContext binds a sealed password to its account, so that a ciphertext
// copied to another row does not open.
func (a *Account) sealContext() []byte {
	return fmt.Appendf(nil, "site_account:%d:%s:%s", a.TenantID, a.Site, a.Username)
}

// Attempt is one HTTP request the daemon made for a booking.
type Attempt struct {
	ID        int64
	BookingID int64
	Instance  string
	// Boot is a random id of the daemon process that made the request:
	// Seq restarts with every process, and (booking, instance, boot, seq)
	// is unique.
	Boot      string
	Seq       int
	Step      string
	SentAt    time.Time
	SiteDate  *time.Time
	LatencyUS int64
	Status    int
	Class     string
	Egress    string
	Excerpt   string
	Error     string
	// WaitedFor says why the request waited before it went on the wire
	// (the longest of its waits: one of the Wait* values; empty when it
	// did not wait), WaitedUS for how long in all.
	WaitedFor string
	WaitedUS  int64
	// Choice is the 1-based choice of the booking the request was for (0:
	// none in particular, such as a login).
	Choice int
}

// Why a request waited (Attempt.WaitedFor).
const (
	WaitBookingRate    = "booking_rate"    // the booking's own requests per second
	WaitHostCeiling    = "host_ceiling"    // the per-host ceiling shared by this instance's bookings
	WaitEgressCeiling  = "egress_ceiling"  // the per-egress ceiling for the host
	WaitEgressCooling  = "egress_cooling"  // every egress was cooling down after a block
	WaitClockRemeasure = "clock_remeasure" // the site's clock was measured again first
	WaitAccountTurn    = "account_turn"    // another booking of the account was submitting (serial_submits)
)

// Outbox is a notification waiting to be sent.
type Outbox struct {
	ID         int64
	BookingID  int64
	Kind       string
	Phone      string
	Payload    string
	State      string
	Tries      int
	NextAt     time.Time
	ClaimedBy  string
	LeaseUntil *time.Time
	ProviderID string
	LastError  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	SentAt     *time.Time
}

// TableName keeps gorm on the migration's table name.
func (Outbox) TableName() string { return "outbox" }

// activeKey identifies "the same slot for the same account" among a
// tenant's active bookings.
func activeKey(tenantID, accountID int64, site, court, date, start, end string) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%d\x00%s\x00%d\x00%s\x00%s\x00%s\x00%s", tenantID, site, accountID, court, date, start, end))
	return hex.EncodeToString(sum[:])
}

// TemplateData is what a site profile's templates see of the booking, with
// the play date at midnight in the site's zone loc. A missing or invalid
// "people" field counts as one player.
func (b *Booking) TemplateData(loc *time.Location) profile.BookingData {
	fields := b.FieldMap()
	people, err := strconv.Atoi(fields["people"])
	if err != nil || people <= 0 {
		people = 1
	}
	date, _ := time.ParseInLocation("2006-01-02", b.PlayDate, loc)
	return profile.BookingData{
		ID: b.ID, Court: b.Court, Date: date, Start: b.StartTime, End: b.EndTime,
		Phone: b.Phone, Name: b.BookerName, People: people, Fields: fields, OpensAt: b.OpensAt,
	}
}
