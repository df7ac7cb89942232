package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/ansinh/ansinh/internal/app"
)

// The load generator's smoke run: every scenario sends requests through the
// real server on a loopback port and none fails (so the harness cannot rot).
func TestBenchSmoke(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	results, err := a.Bench(context.Background(), app.BenchOptions{Concurrency: 2, Duration: 400 * time.Millisecond, MaxRequests: 40, Fixture: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) < 7 {
		t.Fatalf("%d scenarios", len(results))
	}
	for _, r := range results {
		if r.Requests == 0 || r.Errors > 0 || r.P50 <= 0 || r.P99 < r.P50 {
			t.Errorf("%s: %d requests, %d errors (%s), p50 %s p99 %s", r.Name, r.Requests, r.Errors, r.FirstError, r.P50, r.P99)
		}
	}
}
