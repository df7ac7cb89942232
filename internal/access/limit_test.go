package access_test

import (
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
)

// refused checks a 429 rate_limited answer with Retry-After and the
// RateLimit fields of the policy that refused it.
func refused(t *testing.T, w *httptest.ResponseRecorder, policy string) {
	t.Helper()
	if w.Code != 429 || apptest.ProblemCode(t, w) != "rate_limited" {
		t.Fatalf("want 429 rate_limited, got %d %s", w.Code, w.Body.String())
	}
	secs, err := strconv.Atoi(w.Header().Get("Retry-After"))
	if err != nil || secs < 1 || secs > 60 {
		t.Fatalf("Retry-After %q", w.Header().Get("Retry-After"))
	}
	if got := w.Header().Get("RateLimit-Policy"); got != policy {
		t.Fatalf("RateLimit-Policy %q, want %q", got, policy)
	}
	if got, want := w.Header().Get("RateLimit"), fmt.Sprintf(`"search";r=0;t=%d`, secs); got != want {
		t.Fatalf("RateLimit %q, want %q", got, want)
	}
}

// A burst of searches past the search quota is refused with 429, Retry-After
// and the RateLimit fields, which every answer within the quota also
// carries; the same user's reads (another kind) and another user's searches
// go on.
func TestSearchBurstIsRefusedForItsUserOnly(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	a := apptest.NewOn(t, apptest.Config(t, d.AppURL, "ANSINH_RATELIMIT_SEARCH_QUOTA", "5", "ANSINH_RATELIMIT_SEARCH_WINDOW", "60s"))
	h := a.Handler()
	greedy := apptest.Token(t, a, "rl-greedy", "commune_worker", "30791")
	other := apptest.Token(t, a, "rl-other", "commune_worker", "30791")
	for i := range 5 {
		w := apptest.Send(t, h, "GET", "/api/v1/households?q=an", greedy, nil)
		if w.Code != 200 {
			t.Fatalf("search %d: %d %s", i, w.Code, w.Body.String())
		}
		if got := w.Header().Get("RateLimit-Policy"); got != `"search";q=5;w=60, "search_address";q=50;w=60` {
			t.Fatalf("search %d: RateLimit-Policy %q", i, got)
		}
		if got, want := w.Header().Get("RateLimit"), fmt.Sprintf(`"search";r=%d;`, 4-i); len(got) < len(want) || got[:len(want)] != want {
			t.Fatalf("search %d: RateLimit %q, want it to start %q", i, got, want)
		}
	}
	refused(t, apptest.Send(t, h, "GET", "/api/v1/households?q=an", greedy, nil), `"search";q=5;w=60`)
	if m := apptest.Get(t, h, "/metrics").Body.String(); !strings.Contains(m, `ansinh_ratelimit_refused_total{policy="search"} 1`) {
		t.Fatal("the refusal is not counted in /metrics")
	}
	if w := apptest.Send(t, h, "GET", "/api/v1/areas/30791?edition=2025-03", greedy, nil); w.Code != 200 {
		t.Fatalf("a read by the same user: %d %s", w.Code, w.Body.String())
	}
	if w := apptest.Send(t, h, "GET", "/api/v1/households?q=an", other, nil); w.Code != 200 {
		t.Fatalf("another user's search: %d %s", w.Code, w.Body.String())
	}
}

// Two servers on one database (two replicas) share a user's quota.
func TestReplicasShareTheQuota(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	one := apptest.NewOn(t, apptest.Config(t, d.AppURL, "ANSINH_RATELIMIT_SEARCH_QUOTA", "4"))
	two := apptest.NewOn(t, apptest.Config(t, d.AppURL, "ANSINH_RATELIMIT_SEARCH_QUOTA", "4"))
	token := apptest.Token(t, one, "rl-replicas", "commune_worker", "30791")
	for i, h := range []http.Handler{one.Handler(), two.Handler(), one.Handler(), two.Handler()} {
		if w := apptest.Send(t, h, "GET", "/api/v1/households?q=an", token, nil); w.Code != 200 {
			t.Fatalf("search %d: %d %s", i, w.Code, w.Body.String())
		}
	}
	for _, h := range []http.Handler{one.Handler(), two.Handler()} {
		refused(t, apptest.Send(t, h, "GET", "/api/v1/households?q=an", token, nil), `"search";q=4;w=60`)
	}
}

// sendFrom sends an unauthenticated GET from an address.
func sendFrom(t *testing.T, h http.Handler, path, addr string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	req.RemoteAddr = addr
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if err := apptest.CheckContract(req, w); err != nil {
		t.Errorf("contract: %v", err)
	}
	return w
}

// Unauthenticated requests are limited by address: one address past the
// quota is refused, another is not; IPv6 hosts of one /64 are one address.
func TestUnauthenticatedRequestsAreLimitedByAddress(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	a := apptest.NewOn(t, apptest.Config(t, d.AppURL, "ANSINH_RATELIMIT_SEARCH_QUOTA", "3"))
	h := a.Handler()
	for i := range 3 {
		if w := sendFrom(t, h, "/api/v1/households?q=an", "198.51.100.7:5000"); w.Code != 401 {
			t.Fatalf("request %d: %d %s", i, w.Code, w.Body.String())
		}
	}
	refused(t, sendFrom(t, h, "/api/v1/households?q=an", "198.51.100.7:5001"), `"search";q=3;w=60`)
	if w := sendFrom(t, h, "/api/v1/households?q=an", "198.51.100.8:5000"); w.Code != 401 {
		t.Fatalf("another address: %d %s", w.Code, w.Body.String())
	}
	for i := range 3 {
		sendFrom(t, h, "/api/v1/households?q=an", fmt.Sprintf("[2001:db8:1:2::%x]:5000", i+1))
	}
	refused(t, sendFrom(t, h, "/api/v1/households?q=an", "[2001:db8:1:2:ffff::9]:5000"), `"search";q=3;w=60`)
}

// BenchmarkLimitedRead is a cheap read (an area) through the real router,
// with every request charged to the rate limiter and without it: the
// limiter's cost per request in process (one statement: its round trip).
func BenchmarkLimitedRead(b *testing.B) {
	for _, limited := range []bool{true, false} {
		b.Run(fmt.Sprintf("limiter=%t", limited), func(b *testing.B) {
			extra := append([]string{"ANSINH_RATELIMIT_ENABLED", strconv.FormatBool(limited)}, apptest.Unthrottled...)
			a := apptest.NewOn(b, apptest.Config(b, dbtest.NewDatabase(b).AppURL, extra...))
			h := a.Handler()
			token := apptest.Token(b, a, "bl-worker", "commune_worker", "30791")
			for b.Loop() {
				if w := apptest.Send(b, h, "GET", "/api/v1/areas/30791?edition=2025-03", token, nil); w.Code != 200 {
					b.Fatalf("read: %d %s", w.Code, w.Body.String())
				}
			}
		})
	}
}

// When the limiter's store does not answer in time (its table locked by
// another session here; a database outage in production, which the request
// would meet anyway) the request passes unlimited rather than being refused,
// without RateLimit headers, and is counted in /metrics.
func TestLimiterFailsOpen(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	a := apptest.NewOn(t, apptest.Config(t, d.AppURL, "ANSINH_RATELIMIT_STORE_TIMEOUT", "500ms"))
	h := a.Handler()
	token := apptest.Token(t, a, "rl-open", "commune_worker", "30791")
	admin, err := sql.Open("pgx", d.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	tx, err := admin.Begin()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback() })
	if _, err := tx.Exec(`LOCK TABLE rate_limits IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	w := apptest.Send(t, h, "GET", "/api/v1/areas/30791?edition=2025-03", token, nil)
	if w.Code != 200 || w.Header().Get("RateLimit") != "" {
		t.Fatalf("with the limiter's table locked: %d RateLimit=%q %s", w.Code, w.Header().Get("RateLimit"), w.Body.String())
	}
	if m := apptest.Get(t, h, "/metrics").Body.String(); !strings.Contains(m, "ansinh_ratelimit_unavailable_total 1") {
		t.Fatal("the unlimited request is not counted in /metrics")
	}
}
