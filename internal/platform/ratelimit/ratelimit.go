// Package ratelimit limits request rates across every replica of the server,
// with PostgreSQL as the shared store: the generic cell rate algorithm
// (GCRA), one row per limited key holding its theoretical arrival time (TAT),
// updated by one INSERT ... ON CONFLICT DO UPDATE per request, on its own
// short autocommit statement (never inside a request's transaction). It knows
// no HTTP: the access package applies it to routes.
//
// A quota of q requests per window w lets a key send q requests at once and
// then one every w/q: the key's TAT moves w/q ahead with each request allowed,
// and a request is refused while the TAT is more than w - w/q ahead of now.
// A refusal writes nothing. Since nothing but time brings a TAT back, a key
// refused until some instant is refused until then on every replica: each
// replica remembers its refusals and answers a refused key's next requests
// without the database until then (an attack costs the database one
// statement per key and period, not one per request).
//
// Why PostgreSQL: every replica already shares it, so a limit holds across
// replicas with no new moving part to deploy, secure and watch (Redis would
// be one). The table is UNLOGGED: its statements write no WAL, so their
// commits wait for no flush, and one costs about one round trip (measured:
// BenchmarkAllow against BenchmarkRoundTrip); its rows are lost in a crash or
// a failover, which only forgets who was being throttled. A local counter
// that skipped the database while a key is far below its quota was left
// out: it cannot know what the other replicas granted, so it could not stay
// correct across them; refusals are the only answers a replica may repeat on
// its own.
package ratelimit

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/ansinh/ansinh/internal/platform/db"
)

// Kind is a kind of route; each has its own quota.
type Kind string

// The kinds of route. A route that declares none is a read (GET, HEAD) or a
// write (any other method).
const (
	Read   Kind = "read"   // reading one thing or a short list
	Search Kind = "search" // name search, lists that scan (trigram, filters over a province)
	Write  Kind = "write"  // changes
	Export Kind = "export" // reports and official lists (CSV, Excel): whole provinces
	Upload Kind = "upload" // a new file: a direct attachment or a resumable upload
	Import Kind = "import" // a bulk import job
)

// Kinds are every kind, in a fixed order.
var Kinds = []Kind{Read, Search, Write, Export, Upload, Import}

// Policy is a quota: Quota requests per Window, all of which may come at once.
type Policy struct {
	Quota  int
	Window time.Duration
}

// emission is the interval one request costs; tolerance how far ahead of now
// a key's TAT may be for a request to be allowed.
func (p Policy) emission() time.Duration  { return p.Window / time.Duration(p.Quota) }
func (p Policy) tolerance() time.Duration { return p.Window - p.emission() }

// Rule limits one key under a named policy (the name is what the RateLimit
// headers call it: "search", "search_address").
type Rule struct {
	Key    string
	Name   string
	Policy Policy
}

// Decision is a rule's answer to one request.
type Decision struct {
	Rule
	Allowed bool
	// Remaining is how many more requests the key may send now.
	Remaining int
	// Reset is how long until the key has its whole quota again (allowed), or
	// until it may send one request again (refused: RetryAfter).
	Reset time.Duration
}

// Limiter checks rules against the shared store.
type Limiter struct {
	store store
	mu    sync.Mutex
	// refused are keys refused until an instant of this process's clock.
	refused map[string]time.Time
}

// maxRefused bounds the memory of refusals; past it they are forgotten (the
// database still refuses).
const maxRefused = 100_000

// New is a limiter on the database pool.
func New(pool *db.DB) *Limiter {
	return &Limiter{store: store{db: pool}, refused: map[string]time.Time{}}
}

// Allow charges one request to every rule's key and returns the decisions:
// the refusals when there are any (the request is refused), else every
// key's, the one with the fewest remaining first.
// The request is allowed when every decision is; an error (the store does not
// answer) decides nothing, and the caller chooses what to do.
func (l *Limiter) Allow(ctx context.Context, rules ...Rule) ([]Decision, error) {
	if d, ok := l.knownRefusal(rules); ok {
		return []Decision{d}, nil
	}
	ahead, err := l.store.charge(ctx, rules)
	if err != nil {
		return nil, err
	}
	out := make([]Decision, 0, len(rules))
	var missing []string
	for _, r := range rules {
		if a, ok := ahead[r.Key]; ok {
			out = append(out, allowed(r, a))
		} else {
			missing = append(missing, r.Key)
		}
	}
	if len(missing) > 0 {
		return l.refuse(ctx, rules, missing)
	}
	return binding(out), nil
}

// allowed is the decision for a key whose TAT is now ahead of now.
func allowed(r Rule, ahead time.Duration) Decision {
	e := r.Policy.emission()
	left := max(0, int((r.Policy.Window-ahead)/e))
	return Decision{Rule: r, Allowed: true, Remaining: left, Reset: ceilSecond(ahead)}
}

// refuse reads when the refused keys may send again and remembers it. (The
// request's other keys were charged: the statement is one.)
func (l *Limiter) refuse(ctx context.Context, rules []Rule, keys []string) ([]Decision, error) {
	ahead, err := l.store.ahead(ctx, keys)
	if err != nil {
		return nil, err
	}
	var refused []Decision
	now := time.Now()
	for _, r := range rules {
		a, ok := ahead[r.Key]
		if !ok {
			continue
		}
		retry := ceilSecond(max(time.Second, a-r.Policy.tolerance()))
		refused = append(refused, Decision{Rule: r, Reset: retry})
		l.remember(r.Key, now.Add(retry))
	}
	if len(refused) == 0 { // the row went away meanwhile (a sweep): refuse once, for a second
		refused = append(refused, Decision{Rule: rules[0], Reset: time.Second})
	}
	return refused, nil
}

// binding puts the decision with the fewest remaining requests first.
func binding(ds []Decision) []Decision {
	for i := 1; i < len(ds); i++ {
		if ds[i].Remaining < ds[0].Remaining {
			ds[0], ds[i] = ds[i], ds[0]
		}
	}
	return ds
}

// knownRefusal is a refusal remembered for one of the rules' keys.
func (l *Limiter) knownRefusal(rules []Rule) (Decision, bool) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range rules {
		until, ok := l.refused[r.Key]
		if !ok {
			continue
		}
		if !now.Before(until) {
			delete(l.refused, r.Key)
			continue
		}
		return Decision{Rule: r, Reset: ceilSecond(until.Sub(now))}, true
	}
	return Decision{}, false
}

func (l *Limiter) remember(key string, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.refused) >= maxRefused {
		now := time.Now()
		for k, u := range l.refused {
			if !now.Before(u) {
				delete(l.refused, k)
			}
		}
		if len(l.refused) >= maxRefused {
			clear(l.refused)
		}
	}
	l.refused[key] = until
}

// Sweep deletes the rows of keys whose TAT has passed (they are the same as
// no row: a whole quota); it reports how many.
func (l *Limiter) Sweep(ctx context.Context) (int64, error) { return l.store.sweep(ctx) }

// ceilSecond rounds up to a whole second (the headers count seconds).
func ceilSecond(d time.Duration) time.Duration {
	return time.Duration(math.Ceil(max(0, d).Seconds())) * time.Second
}

// Seconds is a whole number of seconds, for headers.
func Seconds(d time.Duration) int { return int(ceilSecond(d) / time.Second) }

// Validate checks a policy.
func (p Policy) Validate() error {
	if p.Quota < 1 || p.Quota > 1_000_000 {
		return fmt.Errorf("quota is %d; want 1..1000000", p.Quota)
	}
	if p.Window < time.Second || p.Window > 24*time.Hour {
		return fmt.Errorf("window is %s; want 1s..24h", p.Window)
	}
	return nil
}
