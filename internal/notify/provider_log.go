package notify

import (
	"cmp"
	"context"

	"go.uber.org/zap"
)

// LogProviderWarning is what the daemon says at start when its messages go
// to the log provider: an operator who left the default must not believe
// that users are told of their bookings.
const LogProviderWarning = "SMS messages are NOT sent to phones: notify.provider is \"log\" (the default), which only writes them to this log and marks them sent. " +
	"To send them, set notify.provider to solapi, twilio or webhook with its settings (configs/reserver.example.yaml, notify:), or RESERVER_NOTIFY_PROVIDER"

// SendsNothing reports whether a relay of c sends messages nowhere but to
// the log: the log provider, named or by default, and no Sender in its
// place.
func (c Config) SendsNothing() bool {
	return c.Sender == nil && cmp.Or(c.Provider, ProviderDefault) == ProviderLog
}

// logProvider writes messages to the log instead of sending them: the
// default, so that a fresh install shows what it would send.
type logProvider struct{ log *zap.Logger }

func (p logProvider) Send(_ context.Context, m Message) (string, error) {
	p.log.Info("sms (log provider: not sent to a phone)",
		zap.Int64("booking", m.BookingID), zap.String("kind", m.Kind),
		zap.String("to", maskPhone(m.To)), zap.String("key", m.Key), zap.String("text", m.Text))
	return "log-" + m.Key, nil
}
