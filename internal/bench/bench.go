// Package bench is the load generator: it drives a running ansinh server over
// HTTP with real tokens, scenario by scenario, at a fixed concurrency, and
// reports throughput, latency percentiles and errors. It knows the API, not
// the server's insides.
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Client talks to one server as several users.
type Client struct {
	Base string // http://127.0.0.1:port
	HTTP *http.Client
}

// NewClient makes a client with a connection pool fit for the concurrency.
func NewClient(base string, concurrency int) *Client {
	return &Client{Base: strings.TrimRight(base, "/"), HTTP: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: concurrency * 2, MaxConnsPerHost: concurrency * 2}}}
}

// Do sends a JSON request and decodes a JSON answer into out (when not nil).
func (c *Client) Do(ctx context.Context, method, path, token string, body any, headers map[string]string, out any) (int, http.Header, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	if out != nil && res.StatusCode < 300 {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			return res.StatusCode, res.Header, err
		}
	} else {
		_, _ = io.Copy(io.Discard, res.Body)
	}
	return res.StatusCode, res.Header, nil
}

// Login signs a user in and returns the access token.
func (c *Client) Login(ctx context.Context, username, password string) (string, error) {
	var out struct {
		AccessToken string `json:"access_token"`
	}
	status, _, err := c.Do(ctx, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"username": username, "password": password}, nil, &out)
	if err != nil || status != http.StatusOK {
		return "", fmt.Errorf("bench: login %s: %d %v", username, status, err)
	}
	return out.AccessToken, nil
}

// ErrExhausted is what a scenario returns when its fixture is used up (each
// approval consumes a proposal): the worker stops, and the try is not counted.
var ErrExhausted = errors.New("bench: the scenario's fixture is used up")

// Scenario is one kind of request; Do sends the i-th one and says whether
// it succeeded (a status the scenario expects).
type Scenario struct {
	Name string
	Do   func(ctx context.Context, i int) error
	// Baseline, when set, is one request of the scenario whose SQL pgbench
	// repeats for the baseline (nil: no baseline for this scenario).
	Baseline *Request
}

// Request is one API request as a user sends it. Fresh are literals of the
// body that must be new in each repetition (such as a household code).
// Minimal, for a write, names the tables whose rows are the job itself (for
// a registration: the household, its members, the audit event, the sync
// entry): pgbench also runs only those inserts, in one transaction, so that
// what the API spends beyond the rows it must write shows.
type Request struct {
	Method, Path string
	Body         any
	User         User
	Fresh        []string
	Minimal      []string
}

// Only keeps the scenarios whose name contains one of the comma-separated
// words ("" keeps all).
func Only(ss []Scenario, words string) []Scenario {
	if strings.TrimSpace(words) == "" {
		return ss
	}
	var out []Scenario
	for _, s := range ss {
		for _, w := range strings.Split(words, ",") {
			if w = strings.TrimSpace(w); w != "" && strings.Contains(s.Name, w) {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// Result is a scenario's figures.
type Result struct {
	Name          string
	Requests      int
	Errors        int
	FirstError    string
	Elapsed       time.Duration
	P50, P95, P99 time.Duration
	Baseline      *Request
	// BaselineTPS is pgbench running the same SQL at the same concurrency
	// (0 when not measured).
	BaselineTPS float64
	Statements  int // SQL statements the baseline's request issued
	// MinimalTPS is pgbench writing only the job's own rows (Request.Minimal).
	MinimalTPS float64
}

// Throughput is requests per second.
func (r Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// Run runs each scenario in turn with concurrency workers, for at most
// duration and at most maxRequests requests each.
func Run(ctx context.Context, scenarios []Scenario, concurrency int, duration time.Duration, maxRequests int) []Result {
	var out []Result
	for _, s := range scenarios {
		out = append(out, runOne(ctx, s, concurrency, duration, maxRequests))
	}
	return out
}

func runOne(ctx context.Context, s Scenario, concurrency int, duration time.Duration, maxRequests int) Result {
	// The window bounds when requests start; one under way finishes and
	// counts (a report slower than the window still gets its figures), up to
	// a hard bound.
	hard, stop := context.WithTimeout(ctx, max(6*duration, 2*time.Minute))
	defer stop()
	window, cancel := context.WithTimeout(hard, duration)
	defer cancel()
	var next atomic.Int64
	var mu sync.Mutex
	var latencies []time.Duration
	res := Result{Name: s.Name, Baseline: s.Baseline}
	start := time.Now()
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			errs, first := 0, ""
			for window.Err() == nil {
				i := int(next.Add(1)) - 1
				if maxRequests > 0 && i >= maxRequests {
					break
				}
				t := time.Now()
				err := s.Do(hard, i)
				if hard.Err() != nil || errors.Is(err, ErrExhausted) { // cut off by the hard bound, or nothing left to do: not counted
					break
				}
				mine = append(mine, time.Since(t))
				if err != nil {
					errs++
					if first == "" {
						first = err.Error()
					}
				}
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			res.Errors += errs
			if res.FirstError == "" {
				res.FirstError = first
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Requests = len(latencies)
	slices.Sort(latencies)
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))]
	}
	res.P50, res.P95, res.P99 = pct(0.50), pct(0.95), pct(0.99)
	return res
}

// Markdown is the results as a table.
func Markdown(results []Result) string {
	var b strings.Builder
	b.WriteString("| scenario | requests | req/s | p50 | p95 | p99 | errors | SQL statements | pgbench tx/s (same SQL) | API / pgbench | pgbench tx/s (minimal rows) | API / minimal |\n" +
		"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
	for _, r := range results {
		base, ratio, stmts := "", "", ""
		if r.BaselineTPS > 0 {
			base, ratio, stmts = fmt.Sprintf("%.0f", r.BaselineTPS), fmt.Sprintf("%.2f", r.Throughput()/r.BaselineTPS), fmt.Sprint(r.Statements)
		}
		minimal, minRatio := "", ""
		if r.MinimalTPS > 0 {
			minimal, minRatio = fmt.Sprintf("%.0f", r.MinimalTPS), fmt.Sprintf("%.2f", r.Throughput()/r.MinimalTPS)
		}
		fmt.Fprintf(&b, "| %s | %d | %.0f | %s | %s | %s | %d | %s | %s | %s | %s | %s |\n", r.Name, r.Requests, r.Throughput(), ms(r.P50), ms(r.P95),
			ms(r.P99), r.Errors, stmts, base, ratio, minimal, minRatio)
	}
	return b.String()
}
