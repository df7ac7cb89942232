// Package periodic runs a server's background work at an interval.
package periodic

import (
	"context"
	"log/slog"
	"time"
)

// Run calls step at once and then every interval until ctx ends. A step that
// fails is logged under what and tried again at the next tick.
func Run(ctx context.Context, interval time.Duration, log *slog.Logger, what string, step func(context.Context) error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := step(ctx); err != nil && ctx.Err() == nil {
			log.Warn(what, "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
