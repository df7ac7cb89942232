package notify

import (
	"context"
	"log/slog"
)

// LogSender writes messages to the log instead of sending them: email in
// development without a mail server, so that a newcomer sees what would go
// out and to whom.
type LogSender struct{ log *slog.Logger }

// NewLogSender makes the channel.
func NewLogSender(log *slog.Logger) *LogSender { return &LogSender{log: log} }

// Send logs m's address, subject and link.
func (s *LogSender) Send(_ context.Context, m Message) error {
	s.log.Info("notification (development: logged, not sent)", "to", m.To, "subject", m.Subject, "link", m.Link, "key", m.Key)
	return nil
}
