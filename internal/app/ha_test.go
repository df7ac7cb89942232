package app_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ansinh/ansinh/internal/apptest"

	"github.com/ansinh/ansinh/internal/app"
	"github.com/ansinh/ansinh/internal/config"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// haCluster runs scripts/ha-cluster.sh (a throwaway primary with a streaming
// replica on ports of its own: restarting it disturbs no other test).
type haCluster struct {
	t    *testing.T
	dir  string
	urls map[string]string
}

func (c haCluster) run(args ...string) string {
	c.t.Helper()
	script, _ := filepath.Abs("../../scripts/ha-cluster.sh")
	out, err := exec.Command(script, args...).CombinedOutput()
	if err != nil {
		c.t.Fatalf("ha-cluster %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func newHACluster(t *testing.T) haCluster {
	// In memory when the machine has a tmpfs, like the test databases
	// (scripts/db.sh): two clusters' files are mostly file-system work.
	parent := ""
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		parent = "/dev/shm"
	}
	dir, err := os.MkdirTemp(parent, "ansinh-ha-")
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(dir) // the script creates it, owned by the server's user
	c := haCluster{t: t, dir: dir, urls: map[string]string{}}
	t.Cleanup(func() { exec.Command("../../scripts/ha-cluster.sh", "down", dir).Run() }) // before up: a failed start is cleaned too
	sc := bufio.NewScanner(strings.NewReader(c.run("up", dir, fmt.Sprint(freePort(t)), fmt.Sprint(freePort(t)))))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			c.urls[k] = v
		}
	}
	return c
}

// freePort is a port nothing listens on now.
func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Reads go to the replica and fall back to the primary when it is down;
// writes answer 503 (never 500) while the primary restarts, no acknowledged
// write is lost, and the server recovers by itself.
func TestReplicaAndPrimaryRestart(t *testing.T) {
	t.Parallel()
	// The terms: run when the server binaries are here (make test's
	// own database bring-up installs them; an external DATABASE_URL may not).
	if bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_basebackup"); len(bins) == 0 {
		t.Skip("no PostgreSQL server binaries on this machine (pg_basebackup): the failover test needs its own cluster")
	}
	start := time.Now()
	phase := func(what string) { t.Logf("%6.1fs %s", time.Since(start).Seconds(), what) }
	c := newHACluster(t)
	phase("cluster up")
	m, err := db.NewMigrator(c.urls["PRIMARY_OWNER"], slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(context.Background()); err != nil {
		t.Fatal(err)
	}
	m.Close()
	phase("migrated")
	cfg, err := config.Load(config.Source{Environ: map[string]string{"DATABASE_URL": c.urls["PRIMARY_APP"],
		"ANSINH_DATABASE_REPLICA_URLS": c.urls["REPLICA_APP"], "ANSINH_ENV": "test", "ANSINH_DATABASE_READY_TIMEOUT": "1s",
		"ANSINH_AUDIT_WITNESS_DIR": t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	pool, err := app.OpenDB(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(cfg, slog.New(slog.DiscardHandler), pool)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	h := a.Handler()
	apptest.CreateUser(t, a, "ha-worker", "commune_worker", "30791", false)
	token := apptest.Login(t, h, "ha-worker", apptest.Password).AccessToken

	eventually := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); !ok(); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 15 s", what)
			}
		}
	}
	phase("signed in")
	// A write on the primary shows in a list read from the replica.
	w := apptest.Send(t, h, "POST", "/api/v1/households", token, apptest.HouseholdBody("HA-1", "30791", ""))
	if w.Code != 201 {
		t.Fatalf("write: %d %s", w.Code, w.Body.String())
	}
	eventually("replicas serving", a.DB().ReplicasServing)
	var standby bool
	if err := a.DB().Read(context.Background()).Raw(`SELECT pg_is_in_recovery()`).Row().Scan(&standby); err != nil {
		t.Fatal(err)
	}
	if !standby {
		t.Fatal("a lag-tolerant read did not reach the replica")
	}
	eventually("the write replicated", func() bool {
		return strings.Contains(apptest.Send(t, h, "GET", "/api/v1/households", token, nil).Body.String(), "HA-1")
	})

	eventually("the sync feed read from the replica", func() bool {
		return strings.Contains(apptest.Send(t, h, "GET", "/api/v1/sync/changes", token, nil).Body.String(), "HA-1")
	})
	phase("replica read")
	// The replica stops: reads fall back to the primary.
	c.run("stop", "replica", c.dir)
	eventually("replicas given up", func() bool { return !a.DB().ReplicasServing() })
	if w := apptest.Send(t, h, "GET", "/api/v1/households", token, nil); w.Code != 200 || !strings.Contains(w.Body.String(), "HA-1") {
		t.Fatalf("read without the replica: %d", w.Code)
	}

	phase("fallback read")
	// The primary restarts under a light load.
	var mu sync.Mutex
	statuses := map[int]int{}
	var acknowledged []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for worker := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				code := fmt.Sprintf("HA-L%d-%d", worker, i)
				w := apptest.Send(t, h, "POST", "/api/v1/households", token, apptest.HouseholdBody(code, "30791", ""))
				r := apptest.Send(t, h, "GET", "/api/v1/households?limit=5", token, nil)
				mu.Lock()
				statuses[w.Code]++
				statuses[r.Code]++
				for _, x := range []*httptest.ResponseRecorder{w, r} {
					if x.Code == 503 && x.Header().Get("Retry-After") == "" {
						statuses[-503]++ // a 503 without Retry-After
					}
				}
				if w.Code == 201 {
					acknowledged = append(acknowledged, code)
				}
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	c.run("stop", "primary", c.dir)
	time.Sleep(1500 * time.Millisecond)
	c.run("start", "primary", c.dir)
	eventually("writes again", func() bool {
		return apptest.Send(t, h, "POST", "/api/v1/households", token, apptest.HouseholdBody(fmt.Sprintf("HA-after-%d", time.Now().UnixNano()%1e9), "30791", "")).Code == 201
	})
	phase("writes again")
	close(stop)
	wg.Wait()
	t.Logf("statuses during the restart: %v; %d acknowledged writes", statuses, len(acknowledged))
	if statuses[500] > 0 || statuses[503] == 0 {
		t.Fatalf("statuses during the restart: %v (want 503s and no 500s)", statuses)
	}
	for code := range statuses {
		if code != 200 && code != 201 && code != 503 {
			t.Errorf("unexpected status %d (%d times)", code, statuses[code])
		}
	}
	found := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM households WHERE code IN ?`, acknowledged)
	if len(acknowledged) == 0 || found != len(acknowledged) {
		t.Fatalf("%d acknowledged writes, %d found after the restart", len(acknowledged), found)
	}
	if w := apptest.Send(t, h, "GET", "/readyz", "", nil); w.Code != 200 {
		t.Fatalf("readyz after recovery: %d", w.Code)
	}
}
