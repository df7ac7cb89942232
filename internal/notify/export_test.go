package notify

import "context"

// WithAfterSend has the dispatcher call fn between sending a message and
// marking it sent (where a crash makes it send again).
func WithAfterSend(o Options, fn func(Message)) Options {
	o.afterSend = fn
	return o
}

// Backoff exposes the wait between attempts.
var Backoff = backoff

// Prune removes what is older than the retention.
func (d *Dispatcher) Prune(ctx context.Context) (int64, error) {
	return d.store.prune(ctx, d.o.Retention)
}
