package audit_test

import (
	"context"
	"crypto/ed25519"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/ansinh/ansinh/configs"
	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/web"
)

var auditor = access.Actor{Kind: access.KindUser, UserID: uuid.MustParse("01900000-0000-7000-8000-0000000000a1"),
	Username: "demo-auditor", Assignments: []access.Assignment{{Role: "province_auditor", AreaCode: "91", AreaPath: "91"}}}

// newAPI is the auditor API on the real engine with the real role policy;
// a test header stands in for sign-in (the identity issue's tokens).
func newAPI(t *testing.T, pool *db.DB, auditorScope string, reads *audit.AccessLogger) http.Handler {
	t.Helper()
	authz, err := access.NewAuthorizer(configs.CasbinModel, configs.CasbinPolicy)
	if err != nil {
		t.Fatal(err)
	}
	e := web.NewEngine(web.Options{MaxBodyBytes: 1 << 20})
	e.Use(func(c *gin.Context) {
		switch c.GetHeader("X-Test-Actor") {
		case "auditor":
			a := auditor
			a.Assignments = []access.Assignment{{Role: "province_auditor", AreaCode: auditorScope, AreaPath: auditorScope}}
			c.Request = c.Request.WithContext(access.WithActor(c.Request.Context(), a))
		case "worker":
			c.Request = c.Request.WithContext(access.WithActor(c.Request.Context(), worker))
		}
	})
	v := audit.NewVerifier(pool, testKey.Public().(ed25519.PublicKey))
	audit.NewHandler(audit.NewService(pool, v, reads), nil).Register(access.NewRoutes(e.Group("/api/v1"), authz, nil))
	return e
}

func call(h http.Handler, path string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("X-Test-Actor", "auditor")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// checked is call with the answer checked against docs/openapi.yaml.
func checked(t *testing.T, h http.Handler, path string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	w := call(h, path, hdr...)
	apptest.Check(t, httptest.NewRequest("GET", path, nil), w)
	return w
}

// recordAt writes one event about a household in an area.
func recordAt(t *testing.T, pool *db.DB, area, action string, entity uuid.UUID) {
	t.Helper()
	ctx := actorCtx()
	err := pool.WithTx(ctx, func(c context.Context) error {
		return audit.Record(c, pool.Conn(c), audit.Event{Action: action, EntityType: "household", EntityID: entity.String(),
			AreaPath: area, After: map[string]any{"head": "Trần Thị B"}})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAuditorAPIIsScoped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inside, outside := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	for i := range 5 {
		recordAt(t, e.pool, "91.914.30791", "household.update", inside)
		_ = i
	}
	recordAt(t, e.pool, "79.760.26734", "household.create", outside)
	reads := audit.NewAccessLogger(e.pool, time.Hour, nil)
	defer reads.Close(context.Background())
	api := newAPI(t, e.pool, "91", reads)

	// Pages of 2, newest first, never reaching outside the scope.
	var seen []string
	cursor := ""
	for pages := 0; pages < 5; pages++ {
		w := checked(t, api, "/api/v1/audit/events?limit=2&cursor="+cursor)
		if w.Code != 200 {
			t.Fatalf("list: %d %s", w.Code, w.Body.String())
		}
		var page struct {
			Items      []audit.EventDTO `json:"items"`
			NextCursor string           `json:"next_cursor"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			if it.EntityID == outside.String() {
				t.Fatal("an event outside the scope was listed")
			}
			if it.Actor.Name != "demo-worker" || !strings.Contains(string(it.After), "Trần Thị B") {
				t.Fatalf("event content: %+v", it)
			}
			seen = append(seen, it.ID.String())
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if len(seen) != 5 {
		t.Fatalf("paged through %d events, want 5", len(seen))
	}

	// The out-of-scope event is "not found", like one that does not exist.
	outsideID := apptest.Scalar[string](t, e.pool, `SELECT id::text FROM audit_events WHERE entity_id = ?`, outside.String())
	if w := checked(t, api, "/api/v1/audit/events/"+outsideID); w.Code != 404 {
		t.Fatalf("out of scope: %d", w.Code)
	}
	if w := checked(t, api, "/api/v1/audit/events/"+seen[0]); w.Code != 200 {
		t.Fatalf("in scope: %d %s", w.Code, w.Body.String())
	}
	if w := checked(t, api, "/api/v1/audit/events/not-a-uuid"); w.Code != 404 {
		t.Fatalf("malformed id: %d", w.Code)
	}

	// Filters.
	w := checked(t, api, "/api/v1/audit/events?action=household.create")
	if !strings.Contains(w.Body.String(), `"items":[]`) {
		t.Fatalf("the only create is out of scope: %s", w.Body.String())
	}
	w = checked(t, api, "/api/v1/audit/events?area=91.914&entity_id="+inside.String()+"&from=2020-01-01T00:00:00Z")
	var filtered web.Page[audit.EventDTO]
	if err := json.Unmarshal(w.Body.Bytes(), &filtered); err != nil || len(filtered.Items) != 5 {
		t.Fatalf("filtered list: %s", w.Body.String())
	}

	// Showing household events to the auditor is a read of that household.
	if err := reads.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	w = checked(t, api, "/api/v1/audit/access?subject_id="+inside.String())
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"demo-auditor"`) || !strings.Contains(w.Body.String(), `"subject_type":"household"`) {
		t.Fatalf("access log: %d %s", w.Code, w.Body.String())
	}
}

func TestAuditorAPIRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	api := newAPI(t, e.pool, "91", nil)
	req := httptest.NewRequest("GET", "/api/v1/audit/events", nil)
	w := httptest.NewRecorder()
	api.ServeHTTP(w, req)
	if w.Code != 401 {
		t.Fatalf("anonymous: %d", w.Code)
	}
	if w := checked(t, api, "/api/v1/audit/events", "X-Test-Actor", "worker"); w.Code != 403 {
		t.Fatalf("a commune worker has no audit permission: %d", w.Code)
	}
	for path, field := range map[string]string{
		"/api/v1/audit/events?limit=0":             "limit",
		"/api/v1/audit/events?limit=abc":           "limit",
		"/api/v1/audit/events?from=yesterday":      "from",
		"/api/v1/audit/events?actor_id=nope":       "actor_id",
		"/api/v1/audit/events?cursor=not*a*cursor": "cursor",
		"/api/v1/audit/events?area=91/914":         "area",
		"/api/v1/audit/access":                     "subject_id",
		"/api/v1/audit/access?subject_id=not-uuid": "subject_id",
	} {
		w := checked(t, api, path)
		if w.Code != 422 || !strings.Contains(w.Body.String(), `"field":"`+field+`"`) {
			t.Errorf("%s: want 422 naming %s, got %d %s", path, field, w.Code, w.Body.String())
		}
	}
}

func TestAuditCSVExport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := uuid.Must(uuid.NewV7())
	recordAt(t, e.pool, "91.914.30791", "household.create", id)
	recordAt(t, e.pool, "91.914.30791", "household.update", id)
	api := newAPI(t, e.pool, "91.914", nil)
	w := checked(t, api, "/api/v1/audit/events?entity_id="+id.String(), "Accept", "text/csv")
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %v", w.Code, w.Header())
	}
	rows, err := csv.NewReader(strings.NewReader(w.Body.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0][0] != "id" || rows[1][6] != "household.update" || !strings.Contains(rows[2][15], "Trần Thị B") {
		t.Fatalf("csv rows: %v", rows)
	}
	// A refused filter is a problem, not a file: nothing was streamed yet.
	w = checked(t, api, "/api/v1/audit/events?area=91/914", "Accept", "text/csv")
	if w.Code != 422 || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/problem+json") ||
		!strings.Contains(w.Body.String(), `"field":"area"`) {
		t.Fatalf("csv with a bad area: %d %v %s", w.Code, w.Header(), w.Body.String())
	}
	// An empty range is a file with its header.
	w = checked(t, api, "/api/v1/audit/events?action=nothing.here", "Accept", "text/csv")
	if w.Code != 200 || strings.Count(w.Body.String(), "\n") != 1 {
		t.Fatalf("empty csv: %d %q", w.Code, w.Body.String())
	}
}

func TestAuditVerifyEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedSealed(t, e, 3)
	api := newAPI(t, e.pool, "91", nil)
	w := checked(t, api, "/api/v1/audit/verify")
	var r audit.Report
	if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil || w.Code != 200 || !r.OK || r.EventsVerified != 3 {
		t.Fatalf("verify: %d %s", w.Code, w.Body.String())
	}
}

func TestAccessLogBatchesAndFlushesOnClose(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reads := audit.NewAccessLogger(e.pool, time.Hour, nil) // no timed flush during the test
	subject := uuid.Must(uuid.NewV7())
	ctx := actorCtx()
	for range 3 {
		reads.Read(ctx, "member", "91.914.30791", subject, uuid.Must(uuid.NewV7()))
	}
	reads.Read(ctx, "member", "91.914.30791") // nothing shown, nothing logged
	if n := countRows(t, e.pool, `SELECT count(*) FROM audit_access`); n != 0 {
		t.Fatalf("entries are batched, %d written early", n)
	}
	if err := reads.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, e.pool, `SELECT count(*) FROM audit_access WHERE subject_ids @> ARRAY[?::uuid]`, subject); n != 3 {
		t.Fatalf("after Close: %d entries for the subject, want 3", n)
	}
	if name := apptest.Scalar[string](t, e.pool, `SELECT actor_name FROM audit_access LIMIT 1`); name != "demo-worker" {
		t.Fatalf("actor %q", name)
	}
	// A read outside a request (no route) is recorded as such, never with an empty route.
	if route := apptest.Scalar[string](t, e.pool, `SELECT route FROM audit_access LIMIT 1`); route != "(none)" {
		t.Fatalf("route %q", route)
	}

	// A full batch is written without waiting for the interval.
	fast := audit.NewAccessLogger(e.pool, time.Hour, nil)
	defer fast.Close(context.Background())
	for range 500 {
		fast.Read(ctx, "household", "91", uuid.Must(uuid.NewV7()))
	}
	deadline := time.Now().Add(10 * time.Second)
	for countRows(t, e.pool, `SELECT count(*) FROM audit_access WHERE subject_type = 'household'`) < 500 {
		if time.Now().After(deadline) {
			t.Fatal("a full batch was not flushed")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Far more than one statement's worth at once (past 5,462 entries a row
	// of parameters each exceeded PostgreSQL's limit): every entry is written,
	// with its values, a system actor's id left empty.
	many := audit.NewAccessLogger(e.pool, time.Hour, nil)
	sys := access.WithActor(context.Background(), access.System("bench"))
	for i := range 7000 {
		c := ctx
		if i%2 == 1 {
			c = sys
		}
		many.Read(c, "person", "91.914.30791", uuid.Must(uuid.NewV7()), subject)
	}
	if err := many.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, e.pool, `SELECT count(*) FROM audit_access WHERE subject_type = 'person' AND cardinality(subject_ids) = 2
		AND subject_ids[2] = ? AND area_path = '91.914.30791'`, subject); n != 7000 {
		t.Fatalf("%d of the 7000 entries written", n)
	}
	if n := countRows(t, e.pool, `SELECT count(*) FROM audit_access WHERE subject_type = 'person' AND actor_id IS NULL
		AND actor_kind = 'system' AND route = '(none)'`); n != 3500 {
		t.Fatalf("system actors: %d", n)
	}
	if n := countRows(t, e.pool, `SELECT count(*) FROM audit_access WHERE subject_type = 'person' AND actor_id = ?
		AND request_id = 'req-1' AND host(client_ip) = '10.1.2.3' AND actor_roles @> '[{"role": "commune_worker"}]'`, worker.UserID); n != 3500 {
		t.Fatalf("the worker's entries with their request: %d", n)
	}
}
