package periodic

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"
)

// A step runs at once and again at each tick, a failing one too, and Run
// returns when its context ends.
func TestRunRepeatsUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(ctx, time.Millisecond, slog.New(slog.DiscardHandler), "test", func(context.Context) error {
			calls++
			if calls == 3 {
				cancel()
			}
			return errors.New("failed")
		})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if calls != 3 {
		t.Fatalf("%d calls, want 3", calls)
	}
}
