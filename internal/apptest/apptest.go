// Package apptest is the shared harness of the HTTP tests: a real App on its
// own database cloned from the migrated template, users and tokens, requests
// through the real router, and the fixtures several domains' tests need. Each
// domain package tests its routes through it (as an external _test package,
// since the App imports every domain).
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/app"
	"github.com/ansinh/ansinh/internal/auth"
	"github.com/ansinh/ansinh/internal/config"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
	"github.com/ansinh/ansinh/internal/platform/web"
)

// Password is every test user's password.
const Password = "correct horse battery"

// Config is the test configuration on databaseURL, with extra ANSINH_*
// settings (pairs of key and value) over the defaults.
func Config(t testing.TB, databaseURL string, extra ...string) *config.Config {
	t.Helper()
	env := map[string]string{
		"DATABASE_URL":                  databaseURL,
		"ANSINH_ENV":                    "test",
		"ANSINH_DATABASE_READY_TIMEOUT": "1s",
		"ANSINH_HTTP_SHUTDOWN_TIMEOUT":  "5s",
		"ANSINH_ATTACHMENTS_DIR":        t.TempDir(),
		"ANSINH_AUDIT_WITNESS_DIR":      t.TempDir(),
		// Tests assert refusals: under a loaded suite the limiter's 500 ms
		// bound would let requests through (fail open).
		"ANSINH_RATELIMIT_STORE_TIMEOUT": "30s",
		// A password hash at OWASP's cost is most of the CPU a test spends
		// signing a user in; the hashing itself is tested in internal/auth.
		"ANSINH_AUTH_PASSWORD_MEMORY_KIB": "64",
		"ANSINH_AUTH_PASSWORD_PASSES":     "1",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	cfg, err := config.Load(config.Source{Environ: env})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// New is an App on a database of its own, closed when the test ends.
func New(t testing.TB, opts ...app.Option) *app.App {
	t.Helper()
	d := dbtest.NewDatabase(t)
	return NewOn(t, Config(t, d.AppURL), opts...)
}

// NewOn is an App with the given configuration, closed when the test ends.
func NewOn(t testing.TB, cfg *config.Config, opts ...app.Option) *app.App {
	t.Helper()
	pool, err := app.OpenDB(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(cfg, slog.New(slog.DiscardHandler), pool, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// CreateUser makes a user with one role through the identity service.
func CreateUser(t testing.TB, a *app.App, username, role, area string, mustChange bool) uuid.UUID {
	t.Helper()
	ctx := access.WithActor(context.Background(), access.System("test"))
	id, err := a.Auth().CreateUser(ctx, auth.NewUser{Username: username, FullName: "Người dùng " + username,
		Password: Password, MustChangePassword: mustChange, Assignments: []auth.Grant{{Role: role, AreaCode: area}}})
	if err != nil {
		t.Fatalf("create %s: %v", username, err)
	}
	return id
}

// Get sends an unauthenticated GET.
func Get(t testing.TB, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	return w
}

// Send sends body as JSON (none when nil) with the bearer token (none when "").
func Send(t testing.TB, h http.Handler, method, path, token string, body any) *httptest.ResponseRecorder {
	t.Helper()
	return SendWith(t, h, method, path, token, body, nil)
}

// SendWith is Send with extra request headers.
func SendWith(t testing.TB, h http.Handler, method, path, token string, body any, headers map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			t.Fatalf("encoding the request body: %v", err)
		}
	}
	req := httptest.NewRequest(method, path, bytes.NewReader(b))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	req.RemoteAddr = "192.0.2.10:4000"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if err := CheckContract(req, w); err != nil {
		t.Errorf("contract: %v", err)
	}
	return w
}

// Tokens is a login's answer.
type Tokens struct {
	AccessToken        string `json:"access_token"`
	RefreshToken       string `json:"refresh_token"`
	MustChangePassword bool   `json:"must_change_password"`
}

// Login signs in and fails the test unless it succeeds.
func Login(t testing.TB, h http.Handler, username, password string) Tokens {
	t.Helper()
	w := Send(t, h, "POST", "/api/v1/auth/login", "", map[string]string{"username": username, "password": password})
	if w.Code != 200 {
		t.Fatalf("login %s: %d %s", username, w.Code, w.Body.String())
	}
	return Decode[Tokens](t, w, 200)
}

// Token creates a user with one role and signs them in: their access token.
func Token(t testing.TB, a *app.App, username, role, area string) string {
	t.Helper()
	CreateUser(t, a, username, role, area, false)
	return Login(t, a.Handler(), username, Password).AccessToken
}

// Decode checks the status and decodes the JSON body.
func Decode[T any](t testing.TB, w *httptest.ResponseRecorder, want int) T {
	t.Helper()
	if w.Code != want {
		t.Fatalf("status %d, want %d: %s", w.Code, want, w.Body.String())
	}
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("%v: %s", err, w.Body.String())
	}
	return v
}

// ProblemCode is the code of a problem+json answer (the test fails on any
// other kind of answer).
func ProblemCode(t testing.TB, w *httptest.ResponseRecorder) string {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != web.ProblemContentType {
		t.Fatalf("want problem+json, got %q: %d %s", ct, w.Code, w.Body.String())
	}
	var p web.Problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatalf("problem: %v: %s", err, w.Body.String())
	}
	return p.Code
}

// Scalar runs a query of one value; a failing query fails the test.
func Scalar[T any](t testing.TB, pool *db.DB, query string, args ...any) T {
	t.Helper()
	var v T
	if err := pool.Conn(context.Background()).Raw(query, args...).Row().Scan(&v); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return v
}

// Exec runs a statement; a failing one fails the test.
func Exec(t testing.TB, pool *db.DB, query string, args ...any) {
	t.Helper()
	if err := pool.Conn(context.Background()).Exec(query, args...).Error; err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// CountEvents counts the audit events of an action.
func CountEvents(t testing.TB, a *app.App, action string) int {
	t.Helper()
	return Scalar[int](t, a.DB(), `SELECT count(*) FROM audit_events WHERE action = ?`, action)
}

// HouseholdBody is a household of four in a commune; headID is the head's ID
// number ("" for none).
func HouseholdBody(code, commune, headID string) map[string]any {
	head := map[string]any{"full_name": "Nguyễn Văn An", "birth_date": "1978", "sex": "male", "relationship": "head", "ethnicity_code": 1}
	if headID != "" {
		head["id_number"] = headID
	}
	return map[string]any{
		"code": code, "commune_code": commune, "village": "Ấp Tà Teng", "address": "tổ 3", "area_type": "rural",
		"phone": "0912 345 678",
		"members": []map[string]any{
			head,
			{"full_name": "Trần Thị Bích", "birth_date": "1981-03-04", "sex": "female", "relationship": "spouse"},
			{"full_name": "Nguyễn Văn Cường", "birth_date": "2008-05-02", "sex": "male", "relationship": "child", "student": true},
			{"full_name": "Nguyễn Thị Diệu", "birth_date": "2014", "sex": "female", "relationship": "child", "student": true},
		},
	}
}

// Member is the i-th member of a HouseholdBody.
func Member(b map[string]any, i int) map[string]any { return b["members"].([]map[string]any)[i] }

// Household is the part of a household answer tests look at.
type Household struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
	Village string `json:"village"`
	Status  string `json:"status"`
	Members []struct {
		ID        string `json:"id"`
		FullName  string `json:"full_name"`
		BirthDate string `json:"birth_date"`
		IDNumber  string `json:"id_number"`
	} `json:"members"`
}

// DecodeHousehold decodes a household answer.
func DecodeHousehold(t testing.TB, w *httptest.ResponseRecorder) Household {
	t.Helper()
	var h Household
	if err := json.Unmarshal(w.Body.Bytes(), &h); err != nil {
		t.Fatalf("%v: %s", err, w.Body.String())
	}
	return h
}

// WorkerAnswers answers the indicators the registry cannot judge under the
// 2022–2025 standard, deprived in the ones named.
func WorkerAnswers(deprived ...string) []map[string]any {
	var out []map[string]any
	for _, c := range []string{"employment", "nutrition", "adult_education", "housing_quality", "floor_area", "domestic_water",
		"toilet", "telecom", "information_means"} {
		out = append(out, map[string]any{"indicator": c, "deprived": slices.Contains(deprived, c)})
	}
	return out
}

// AttachFile sends a file in one multipart/form-data request.
func AttachFile(t testing.TB, h http.Handler, token string, fields map[string]string, filename string, content []byte) *httptest.ResponseRecorder {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	hdr := textproto.MIMEHeader{}
	hdr.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, filename))
	hdr.Set("Content-Type", "image/jpeg") // what a client claims; never trusted
	pw, err := mw.CreatePart(hdr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pw.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/api/v1/attachments", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	Check(t, req, w)
	return w
}

// Unthrottled are settings for Config under which every request is charged
// to the rate limiter but none is refused (benchmarks send far more than a
// person would).
var Unthrottled = []string{
	"ANSINH_RATELIMIT_READ_QUOTA", "1000000", "ANSINH_RATELIMIT_READ_WINDOW", "1s",
	"ANSINH_RATELIMIT_SEARCH_QUOTA", "1000000", "ANSINH_RATELIMIT_SEARCH_WINDOW", "1s",
	"ANSINH_RATELIMIT_WRITE_QUOTA", "1000000", "ANSINH_RATELIMIT_WRITE_WINDOW", "1s",
	"ANSINH_RATELIMIT_EXPORT_QUOTA", "1000000", "ANSINH_RATELIMIT_EXPORT_WINDOW", "1s",
	"ANSINH_RATELIMIT_UPLOAD_QUOTA", "1000000", "ANSINH_RATELIMIT_UPLOAD_WINDOW", "1s",
	"ANSINH_RATELIMIT_IMPORT_QUOTA", "1000000", "ANSINH_RATELIMIT_IMPORT_WINDOW", "1s",
}
