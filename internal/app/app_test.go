package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ansinh/ansinh/internal/apptest"

	"github.com/gin-gonic/gin"
	"gopkg.in/yaml.v3"

	"github.com/ansinh/ansinh/docs"
	"github.com/ansinh/ansinh/internal/app"
	"github.com/ansinh/ansinh/internal/platform/web"
)

func TestOperationsEndpoints(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	if w := apptest.Get(t, h, "/healthz"); w.Code != 200 || !strings.Contains(w.Body.String(), `"ok"`) {
		t.Fatalf("healthz: %d %s", w.Code, w.Body.String())
	}
	if w := apptest.Get(t, h, "/readyz"); w.Code != 200 || !strings.Contains(w.Body.String(), `"ready"`) {
		t.Fatalf("readyz with a live database: %d %s", w.Code, w.Body.String())
	}
	w := apptest.Get(t, h, "/openapi.yaml")
	if w.Code != 200 || !strings.HasPrefix(w.Body.String(), "openapi: 3") {
		t.Fatalf("openapi.yaml: %d", w.Code)
	}
	if w := apptest.Get(t, h, "/docs"); w.Code != http.StatusFound || w.Header().Get("Location") != "/docs/index.html" {
		t.Fatalf("/docs: %d %v", w.Code, w.Header())
	}
	if w := apptest.Get(t, h, "/docs/index.html"); w.Code != 200 || !strings.Contains(w.Body.String(), "swagger") {
		t.Fatalf("/docs/index.html: %d", w.Code)
	}
	if w := apptest.Get(t, h, "/docs/swagger-ui-bundle.js"); w.Code != 200 {
		t.Fatalf("Swagger UI assets must come from the binary: %d", w.Code)
	}
	if w := apptest.Get(t, h, "/docs/swagger-initializer.js"); w.Code != 200 || !strings.Contains(w.Body.String(), `url: "/openapi.yaml"`) {
		t.Fatalf("Swagger UI must show the served contract: %d %s", w.Code, w.Body.String())
	}
	// gin-swagger answered 500 with an empty body (and an error log line) here.
	if w := apptest.Get(t, h, "/docs/doc.json"); w.Code != http.StatusNotFound {
		t.Fatalf("/docs/doc.json: %d, want 404", w.Code)
	}
	m := apptest.Get(t, h, "/metrics").Body.String()
	for _, want := range []string{
		`ansinh_http_requests_total{method="GET",route="/healthz",status="200"} 1`,
		`ansinh_http_request_duration_seconds_bucket{method="GET",route="/readyz"`,
		`go_sql_max_open_connections{db_name="ansinh"}`,
		"go_goroutines",
		"tusd_uploads_created",
		`ansinh_queue_depth{queue="duplicate_scans"} 0`,
		`ansinh_queue_oldest_seconds{queue="duplicate_scans"} 0`,
		`ansinh_queue_depth{queue="poverty_rollup_dirty"}`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// With the database down, the pod stays ready for the grace period, saying
// so in the body (a failover must not take every pod out of the Service: the
// server answers 503 with Retry-After itself); past the grace period readiness
// fails with 503 not_ready and Retry-After. Liveness never depends on it.
func TestReadinessWhenDatabaseIsDown(t *testing.T) {
	t.Parallel()
	// A port where nothing listens: the database is down.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	url := "postgres://ansinh_app:x@" + addr + "/ansinh?sslmode=disable&connect_timeout=1"
	newApp := func(grace string) *app.App {
		cfg := apptest.Config(t, url, "ANSINH_DATABASE_READY_GRACE", grace)
		pool, err := app.OpenDB(cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("opening the pool must not need the database: %v", err)
		}
		a, err := app.New(cfg, slog.New(slog.DiscardHandler), pool)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		return a
	}

	a := newApp("10m")
	if w := apptest.Get(t, a.Handler(), "/healthz"); w.Code != 200 {
		t.Fatalf("liveness does not depend on the database: %d", w.Code)
	}
	w := apptest.Get(t, a.Handler(), "/readyz")
	var body struct{ Status, Database string }
	if err := json.Unmarshal(w.Body.Bytes(), &body); w.Code != http.StatusOK || err != nil || body.Status != "ready" ||
		body.Database != "unavailable" || strings.Contains(w.Body.String(), addr) {
		t.Fatalf("readyz with the database down, within the grace period: %d %s (must not leak the address)", w.Code, w.Body.String())
	}

	a = newApp("1ns")
	apptest.Get(t, a.Handler(), "/readyz") // the first failure starts the count
	w = apptest.Get(t, a.Handler(), "/readyz")
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Content-Type") != web.ProblemContentType || w.Header().Get("Retry-After") == "" {
		t.Fatalf("readyz with the database down past the grace period: %d %v %s", w.Code, w.Header(), w.Body.String())
	}
	var p web.Problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Code != "not_ready" || strings.Contains(w.Body.String(), addr) {
		t.Fatalf("problem: %+v (must not leak the address)", p)
	}
}

func TestGracefulShutdownFinishesInFlightRequest(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	release := make(chan struct{})
	a := apptest.New(t, app.WithRoutes(func(e *gin.Engine) {
		e.GET("/slow", func(c *gin.Context) {
			close(started)
			<-release
			c.String(http.StatusOK, "finished")
		})
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- a.Serve(ctx, ln) }()

	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()
	<-started
	stop() // SIGTERM arrives while /slow is in flight

	// New connections are refused once shutdown has begun.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 200*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener still accepts after shutdown began")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned before the in-flight request finished: %v", err)
	default:
	}
	close(release)
	r := <-got
	if r.err != nil || r.body != "finished" {
		t.Fatalf("the in-flight request must complete: %q %v", r.body, r.err)
	}
	if err := <-served; err != nil {
		t.Fatalf("clean shutdown: %v", err)
	}
}

// The router and docs/openapi.yaml must describe the same routes: a route
// missing from either side fails.
func TestRouterMatchesOpenAPI(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	var spec struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(docs.OpenAPI, &spec); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	documented := map[string]bool{}
	for path, item := range spec.Paths {
		for method := range item {
			switch method {
			case "get", "post", "put", "patch", "delete", "head", "options":
				documented[strings.ToUpper(method)+" "+ginPath(path)] = true
			}
		}
	}
	routed := map[string]bool{}
	for _, r := range a.Routes() {
		routed[r.Method+" "+r.Path] = true
	}
	var missingDoc, missingRoute []string
	for k := range routed {
		if !documented[k] {
			missingDoc = append(missingDoc, k)
		}
	}
	for k := range documented {
		if !routed[k] {
			missingRoute = append(missingRoute, k)
		}
	}
	sort.Strings(missingDoc)
	sort.Strings(missingRoute)
	if len(missingDoc) > 0 || len(missingRoute) > 0 {
		t.Fatalf("router and OpenAPI disagree:\n  routed but undocumented: %v\n  documented but not routed: %v", missingDoc, missingRoute)
	}
}

// ginPath turns /households/{id} into /households/:id; the Swagger UI's
// catch-all is documented as /docs/{file}.
func ginPath(p string) string {
	if p == "/docs/{file}" {
		return "/docs/*any"
	}
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			parts[i] = ":" + s[1:len(s)-1]
		}
	}
	return strings.Join(parts, "/")
}

// Until sign-in exists, the protected routes answer 401, never data.
func TestProtectedRoutesNeedIdentity(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	for _, path := range []string{"/api/v1/audit/events", "/api/v1/audit/verify", "/api/v1/audit/access?subject_id=01900000-0000-7000-8000-000000000001"} {
		w := apptest.Get(t, a.Handler(), path)
		if w.Code != http.StatusUnauthorized || w.Header().Get("Content-Type") != web.ProblemContentType {
			t.Errorf("%s: %d %s", path, w.Code, w.Body.String())
		}
	}
}

// docs/openapi.yaml is a valid OpenAPI 3 document (kin-openapi's validation:
// references resolve, schemas are well formed, examples match): every HTTP
// test validates its responses against it through apptest.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	t.Parallel()
	if err := apptest.ValidContract(); err != nil {
		t.Fatal(err)
	}
}
