package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/app"
	"github.com/ansinh/ansinh/internal/auth"
	"github.com/ansinh/ansinh/internal/config"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// ReorgOptions bound the reorganization bench.
type ReorgOptions struct {
	Concurrency int    // clients registering households meanwhile
	Report      string // a markdown file to write ("" for none)
	// LoadFor bounds the registrations and edits beside the run (0: the
	// whole run); the run then goes on alone, and both rates are reported.
	LoadFor time.Duration
	Timeout time.Duration // the report then says how far the run got
}

// latencies collects a kind of request's durations.
type latencies struct {
	mu     sync.Mutex
	d      []time.Duration
	errors int
	first  string
}

func (l *latencies) add(d time.Duration, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.d = append(l.d, d)
	if err != nil {
		l.errors++
		if l.first == "" {
			l.first = err.Error()
		}
	}
}

func (l *latencies) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return "none"
	}
	slices.Sort(l.d)
	pct := func(p float64) string {
		return fmt.Sprintf("%.0f ms", float64(l.d[min(len(l.d)-1, int(p*float64(len(l.d))))].Microseconds())/1000)
	}
	s := fmt.Sprintf("%d, p50 %s, p95 %s, max %s, %d errors", len(l.d), pct(0.5), pct(0.95), pct(1), l.errors)
	if l.first != "" {
		s += " (first: " + l.first + ")"
	}
	return s
}

// lockWaits samples pg_stat_activity for statements waiting on a lock and
// keeps the longest wait seen (to within the sampling interval).
type lockWaits struct {
	longest time.Duration
	seen    map[string]time.Time // pid/query_start -> first seen waiting
	samples int
}

func (w *lockWaits) sample(ctx context.Context, pool *db.DB) error {
	now := time.Now()
	current := map[string]bool{}
	err := db.Each(pool.Conn(ctx).Raw(`SELECT pid::text || '/' || query_start::text FROM pg_stat_activity
		WHERE wait_event_type = 'Lock' AND datname = current_database()`), func(r db.Scanner) error {
		var k string
		if err := r.Scan(&k); err != nil {
			return err
		}
		current[k] = true
		if _, ok := w.seen[k]; !ok {
			w.seen[k] = now
		}
		w.longest = max(w.longest, now.Sub(w.seen[k]))
		return nil
	})
	for k := range w.seen {
		if !current[k] {
			delete(w.seen, k)
		}
	}
	w.samples++
	return err
}

// ReorgResult is what the reorganization bench measured.
type ReorgResult struct {
	Households, Moved, Queued, Decisions int
	State                                string
	DryRun, Start, Total                 time.Duration
	// LoadTime is how long the writes ran beside the run, MovedUnderLoad
	// what it moved meanwhile.
	LoadTime             time.Duration
	MovedUnderLoad       int
	Registrations, Edits *latencies
	Waits                lockWaits
	Concurrency          int
}

// Markdown is the result as a report.
func (r ReorgResult) Markdown() string {
	return fmt.Sprintf("# ansinh reorganization bench\n\n- when: %s\n- version: %s\n- data: %d households of the demo province under the 2025-03 units\n"+
		"- moved to 2026-04: %d households (%d awaiting a decision), %d bindings re-bound to the province by the run's decisions\n\n"+
		"| measure | figure |\n|---|---|\n| dry run (plan) | %s |\n| start (plan, every destination recorded, bindings, edition switched; one transaction) | %s |\n"+
		"| start to the end (state: %s) | %s |\n| households moved a second, overall | %.0f |\n"+
		"| households moved a second while the writes below ran (%s) | %.0f |\n"+
		"| households moved a second alone (after them) | %.0f |\n"+
		"| registrations meanwhile (%d clients, today's communes) | %s |\n| edits of households being moved (GET then PATCH with If-Match; 412 when it moved in between) | %s |\n"+
		"| longest lock wait seen (pg_stat_activity every 25 ms, %d samples) | %s |\n",
		time.Now().UTC().Format(time.RFC3339), app.VersionString(), r.Households, r.Moved, r.Queued, r.Decisions,
		r.DryRun.Round(time.Millisecond), r.Start.Round(time.Millisecond), r.State, r.Total.Round(time.Millisecond),
		float64(r.Moved)/max(r.Total.Seconds(), 0.001), r.LoadTime.Round(time.Second), float64(r.MovedUnderLoad)/max(r.LoadTime.Seconds(), 0.001),
		float64(r.Moved-r.MovedUnderLoad)/max((r.Total-r.LoadTime).Seconds(), 0.001), r.Concurrency, r.Registrations.summary(), r.Edits.summary(), r.Waits.samples,
		r.Waits.longest.Round(time.Millisecond))
}

// RunReorganize runs DriveReorganize on the configured database and prints
// (and writes) its report.
func RunReorganize(ctx context.Context, cfg *config.Config, log *slog.Logger, o ReorgOptions, out io.Writer) error {
	if cfg.IsProduction() {
		return fmt.Errorf("bench refuses to run with env: production")
	}
	if err := SetLimits(cfg, "off"); err != nil {
		return err
	}
	a, err := app.Open(cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	r, err := DriveReorganize(ctx, a, o)
	if err != nil {
		return err
	}
	fmt.Fprint(out, r.Markdown())
	if o.Report == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(o.Report), 0o755); err != nil {
		return err
	}
	return os.WriteFile(o.Report, []byte(r.Markdown()), 0o644)
}

// DriveReorganize reorganizes the demo province to the two-tier units
// through the API of a served on a loopback port (a dry run, the bindings
// it cannot settle re-bound to the province, the run in the server's
// background) while clients register households in today's communes and a
// worker edits households being moved; it measures the time, the writes'
// latencies and the longest lock wait seen.
func DriveReorganize(ctx context.Context, a *app.App, o ReorgOptions) (ReorgResult, error) {
	res := ReorgResult{Registrations: &latencies{}, Edits: &latencies{}, Waits: lockWaits{seen: map[string]time.Time{}}}
	o.Concurrency = max(o.Concurrency, 1)
	res.Concurrency = o.Concurrency
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Minute
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0") // loopback only
	if err != nil {
		return res, err
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- a.Serve(sctx, ln) }()
	defer func() { stop(); <-served }()
	c := NewClient("http://"+ln.Addr().String(), o.Concurrency+2)
	sys := access.WithActor(ctx, access.System("bench"))
	password := "bench-" + uuid.NewString()[:8] + "-password"
	runID := fmt.Sprintf("%x", time.Now().UnixNano()%0xffffff)
	user := func(role, code string) (string, error) {
		name := fmt.Sprintf("bench-%s-%s-%s", runID, role, code)
		if _, err := a.Auth().CreateUser(sys, auth.NewUser{Username: name, FullName: "Bench " + role, Password: password,
			Assignments: []auth.Grant{{Role: role, AreaCode: code}}}); err != nil {
			return "", fmt.Errorf("bench user: %w", err)
		}
		return c.Login(ctx, name, password)
	}
	admin, err := user("system_admin", "91")
	if err != nil {
		return res, err
	}
	if err := a.DB().Conn(ctx).Raw(`SELECT count(*) FROM households WHERE commune_edition = area_edition_in_use()`).Row().Scan(&res.Households); err != nil {
		return res, err
	}

	decisions, err := decide(ctx, c, admin, &res)
	if err != nil {
		return res, err
	}

	waits := &res.Waits
	var st struct {
		ID                                 string
		State                              string
		Households, Moved, Pending, Queued int
	}
	t1 := time.Now()
	status, _, err := c.Do(ctx, http.MethodPost, "/api/v1/reorganizations", admin,
		map[string]any{"to_edition": "2026-04", "bindings": decisions}, nil, &st)
	if err != nil || status != http.StatusAccepted {
		return res, fmt.Errorf("bench: start: %d %v", status, err)
	}
	res.Start = time.Since(t1)

	stopLoad, err := startLoad(ctx, a, c, o.Concurrency, st.ID, runID, user, &res)
	if err != nil {
		return res, err
	}
	stopLoad, loading := sync.OnceFunc(stopLoad), true

	deadline := time.Now().Add(o.Timeout)
	poll := time.NewTicker(25 * time.Millisecond)
	defer poll.Stop()
	for tick := 0; ; tick++ {
		<-poll.C
		if err := waits.sample(ctx, a.DB()); err != nil {
			stopLoad()
			return res, err
		}
		if tick%40 == 0 { // the status once a second
			if status, _, err := c.Do(ctx, http.MethodGet, "/api/v1/reorganizations/"+st.ID, admin, nil, nil, &st); err != nil || status != http.StatusOK {
				stopLoad()
				return res, fmt.Errorf("bench: status: %d %v", status, err)
			}
			// Done once applied, or when all that is left awaits decisions.
			if st.State == "applied" || (st.Pending == 0 && st.Queued > 0) {
				break
			}
			if loading && o.LoadFor > 0 && time.Since(t1) >= o.LoadFor {
				stopLoad()
				loading, res.LoadTime, res.MovedUnderLoad = false, time.Since(t1), st.Moved
			}
		}
		if time.Now().After(deadline) {
			st.State += fmt.Sprintf(", stopped after %s", o.Timeout)
			break
		}
	}
	res.Total = time.Since(t1)
	if loading {
		stopLoad()
		res.LoadTime, res.MovedUnderLoad = res.Total, st.Moved
	}
	res.Moved, res.Queued, res.Decisions, res.State = st.Moved, st.Queued, len(decisions), st.State
	return res, nil
}

// startLoad starts the writes a reorganization runs beside: registrations in
// today's communes (one client each), and a worker editing households of
// the communes Vĩnh Điều took in (moved or not yet). Stopping it waits for
// the clients.
func startLoad(ctx context.Context, a *app.App, c *Client, concurrency int, runUUID, runID string,
	user func(role, code string) (string, error), res *ReorgResult) (func(), error) {
	regs, edits := res.Registrations, res.Edits
	var communes []string
	if err := db.Each(a.DB().Conn(ctx).Raw(`SELECT code FROM areas WHERE edition = '2026-04' AND parent_code = '91' ORDER BY code LIMIT ?`,
		concurrency), func(r db.Scanner) error {
		var code string
		err := r.Scan(&code)
		communes = append(communes, code)
		return err
	}); err != nil {
		return nil, err
	}
	editor, err := user("commune_worker", "30793")
	if err != nil {
		return nil, err
	}
	var editable []uuid.UUID
	if err := db.Each(a.DB().Conn(ctx).Raw(`SELECT m.household_id FROM reorganization_moves m WHERE m.reorganization_id = ?
		AND m.to_code = '30793' ORDER BY random() LIMIT 2000`, runUUID), func(r db.Scanner) error {
		var id uuid.UUID
		err := r.Scan(&id)
		editable = append(editable, id)
		return err
	}); err != nil {
		return nil, err
	}
	lctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	stopLoad := func() { cancel(); wg.Wait() }
	for i, commune := range communes {
		tok, err := user("commune_worker", commune)
		if err != nil {
			stopLoad()
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; lctx.Err() == nil; n++ {
				t := time.Now()
				status, _, err := c.Do(lctx, http.MethodPost, "/api/v1/households", tok,
					HouseholdBody(fmt.Sprintf("RG-%s-%d-%d", runID, i, n), commune, n), nil, nil)
				if lctx.Err() == nil {
					regs.add(time.Since(t), expect(status, err, http.StatusCreated))
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := rand.New(rand.NewPCG(1, 2))
		for lctx.Err() == nil && len(editable) > 0 {
			id := editable[r.IntN(len(editable))].String()
			var h struct{ Version int }
			t := time.Now()
			status, _, err := c.Do(lctx, http.MethodGet, "/api/v1/households/"+id, editor, nil, nil, &h)
			if err == nil && status == http.StatusOK {
				status, _, err = c.Do(lctx, http.MethodPatch, "/api/v1/households/"+id, editor, map[string]any{"address": "tổ 9"},
					map[string]string{"If-Match": fmt.Sprintf(`"%d"`, h.Version)}, nil)
			}
			if lctx.Err() == nil { // a household moved between the read and the write: 412, as a client would see
				edits.add(time.Since(t), expect(status, err, http.StatusOK, http.StatusPreconditionFailed))
			}
		}
	}()

	return stopLoad, nil
}

// decide runs the dry run and re-binds every binding it cannot settle to the
// province.
func decide(ctx context.Context, c *Client, admin string, res *ReorgResult) ([]map[string]string, error) {
	var plan struct {
		Bindings []struct{ Kind, Ref, Action string } `json:"bindings"`
	}
	t0 := time.Now()
	if status, _, err := c.Do(ctx, http.MethodPost, "/api/v1/reorganizations", admin,
		map[string]any{"to_edition": "2026-04", "dry_run": true}, nil, &plan); err != nil || status != http.StatusOK {
		return nil, fmt.Errorf("bench: dry run: %d %v", status, err)
	}
	res.DryRun = time.Since(t0)
	var decisions []map[string]string
	for _, b := range plan.Bindings {
		if b.Action == "" {
			decisions = append(decisions, map[string]string{"kind": b.Kind, "ref": b.Ref, "action": "rebind", "to_code": "91"})
		}
	}
	return decisions, nil
}
