package ratelimit_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
	"github.com/ansinh/ansinh/internal/platform/ratelimit"
)

var search = ratelimit.Policy{Quota: 3, Window: time.Minute}

func rule(key string) ratelimit.Rule { return ratelimit.Rule{Key: key, Name: "search", Policy: search} }

// Quota requests pass at once, with the remaining count going down; the next
// is refused until one emission (window / quota) has passed, on this limiter
// and on another one on the same database (another replica); another key is
// unaffected.
func TestQuotaIsSharedAcrossLimiters(t *testing.T) {
	pool := dbtest.New(t)
	a, b := ratelimit.New(pool), ratelimit.New(pool)
	ctx := context.Background()
	for i, want := range []int{2, 1, 0} {
		l := a
		if i == 1 {
			l = b
		}
		ds, err := l.Allow(ctx, rule("user:1:search"))
		if err != nil {
			t.Fatal(err)
		}
		if !ds[0].Allowed || ds[0].Remaining != want {
			t.Fatalf("request %d: %+v, want allowed with %d remaining", i, ds[0], want)
		}
	}
	for name, l := range map[string]*ratelimit.Limiter{"same": a, "other replica": b} {
		ds, err := l.Allow(ctx, rule("user:1:search"))
		if err != nil {
			t.Fatal(err)
		}
		if ds[0].Allowed || ds[0].Reset < 19*time.Second || ds[0].Reset > 21*time.Second {
			t.Fatalf("%s: %+v, want refused for about 20s (60s / 3)", name, ds[0])
		}
	}
	ds, err := b.Allow(ctx, rule("user:2:search"))
	if err != nil || !ds[0].Allowed {
		t.Fatalf("another key: %+v %v", ds, err)
	}
}

// With a user's and an address's rules, the refusal comes first; an allowed
// pair puts the one with fewer remaining first.
func TestBindingDecisionFirst(t *testing.T) {
	pool := dbtest.New(t)
	l := ratelimit.New(pool)
	ctx := context.Background()
	addr := ratelimit.Rule{Key: "addr:192.0.2.1:search", Name: "search_address", Policy: ratelimit.Policy{Quota: 30, Window: time.Minute}}
	ds, err := l.Allow(ctx, addr, rule("user:1:search"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 || ds[0].Name != "search" || ds[0].Remaining != 2 || ds[1].Remaining != 29 {
		t.Fatalf("%+v", ds)
	}
	for range 2 {
		if _, err := l.Allow(ctx, addr, rule("user:1:search")); err != nil {
			t.Fatal(err)
		}
	}
	ds, err = l.Allow(ctx, addr, rule("user:1:search"))
	if err != nil {
		t.Fatal(err)
	}
	if ds[0].Allowed || ds[0].Name != "search" {
		t.Fatalf("%+v, want the user's refusal first", ds)
	}
}

// Rows whose time has passed are swept; live ones stay.
func TestSweep(t *testing.T) {
	pool := dbtest.New(t)
	l := ratelimit.New(pool)
	ctx := context.Background()
	if _, err := l.Allow(ctx, rule("user:1:search")); err != nil {
		t.Fatal(err)
	}
	if err := pool.Conn(ctx).Exec(`INSERT INTO rate_limits (key, tat, tolerance) VALUES ('old', now() - interval '1 minute', 40)`).Error; err != nil {
		t.Fatal(err)
	}
	n, err := l.Sweep(ctx)
	if err != nil || n != 1 {
		t.Fatalf("swept %d, %v; want 1", n, err)
	}
}

// BenchmarkAllow is the limiter's cost per request against the real
// database: one statement (one round trip), for a signed-in user (two keys:
// the user's and the address's) and an anonymous caller (one key).
func BenchmarkAllow(b *testing.B) {
	pool := dbtest.New(b)
	l := ratelimit.New(pool)
	ctx := context.Background()
	big := ratelimit.Policy{Quota: 1_000_000, Window: time.Second}
	for _, keys := range []int{1, 2} {
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) {
			i := 0
			for b.Loop() {
				i++
				rules := []ratelimit.Rule{{Key: fmt.Sprintf("user:%d:read", i%64), Name: "read", Policy: big}}
				if keys == 2 {
					rules = append(rules, ratelimit.Rule{Key: fmt.Sprintf("addr:%d:read", i%8), Name: "read_address", Policy: big})
				}
				ds, err := l.Allow(ctx, rules...)
				if err != nil || !ds[0].Allowed {
					b.Fatalf("%+v %v", ds, err)
				}
			}
		})
	}
}

// BenchmarkRoundTrip is the floor: one trivial statement on the same pool.
func BenchmarkRoundTrip(b *testing.B) {
	pool := dbtest.New(b)
	ctx := context.Background()
	for b.Loop() {
		var one int
		if err := pool.Conn(ctx).Raw(`SELECT 1`).Row().Scan(&one); err != nil {
			b.Fatal(err)
		}
	}
}
