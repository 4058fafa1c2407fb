package api

import (
	"fmt"
	"slices"
	"strings"

	"reserver/internal/booking"
	"reserver/internal/notify/smstext"
)

// notifyRequest is the "notify" object of a booking: when its phone gets
// an SMS and in which language. Either key may be left out.
type notifyRequest struct {
	On       *string `json:"on"`
	Language *string `json:"language"`
}

// notifyView shows a booking's own notify settings; a key it left to the
// defaults is left out, and so is the object when both are.
type notifyView struct {
	On       string `json:"on,omitempty"`
	Language string `json:"language,omitempty"`
}

// validateNotify checks n (nil: the defaults) and returns what to store.
func validateNotify(n *notifyRequest, bad func(field, detail string)) (on, lang string) {
	if n == nil {
		return "", ""
	}
	if n.On != nil {
		if !slices.Contains(booking.NotifyPolicies, *n.On) {
			bad("notify.on", fmt.Sprintf("%q is not a notify policy: expected one of %s (success: the confirmation only, the default; always: the failure too, saying why; never: no SMS)",
				*n.On, strings.Join(booking.NotifyPolicies, ", ")))
		} else {
			on = *n.On
		}
	}
	if n.Language != nil {
		if !smstext.Known(*n.Language) {
			bad("notify.language", fmt.Sprintf("%q is not a language of the messages: expected one of %s",
				*n.Language, strings.Join(smstext.Languages, ", ")))
		} else {
			lang = *n.Language
		}
	}
	return on, lang
}

// viewNotify is b's notify settings as the API shows them (nil when it
// keeps the defaults).
func viewNotify(b *booking.Booking) *notifyView {
	if b.NotifyOn == "" && b.NotifyLanguage == "" {
		return nil
	}
	return &notifyView{On: b.NotifyOn, Language: b.NotifyLanguage}
}
