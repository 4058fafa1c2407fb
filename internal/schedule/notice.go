package schedule

import (
	"reserver/internal/notify/smstext"
	"reserver/internal/profile"
)

// noticeLanguage is the language of the booking's text messages and what
// one bookable unit is called in it, for the outbox payload: the
// booking's own notify language (own) when it chose one, else the booking
// field the site's sms.language_field names (when its value is a
// language), else the site's sms.language, else Korean. internal/notify
// renders the message in that language; the relay never reads profiles.
func (r *run) noticeLanguage(own string) (lang, noun string) {
	var sms *profile.SMS // nil: the site says nothing (Korean, 코트)
	if r.prof != nil {
		sms = r.prof.SMS
	}
	lang = sms.LanguageOf(r.b.FieldMap())
	if smstext.Known(own) {
		lang = own
	}
	return lang, sms.NounOf(lang)
}
