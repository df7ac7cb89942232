package web_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/reqinfo"
	"github.com/ansinh/ansinh/internal/platform/web"
)

type createThing struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
	Parts []struct {
		OwnerID *uuid.UUID `json:"owner_id"`
	} `json:"parts"`
}

// newEngine is the real engine with a few routes that exercise the plumbing.
func newEngine(t *testing.T, logs *bytes.Buffer) *gin.Engine {
	t.Helper()
	log := slog.New(slog.NewJSONHandler(logs, nil))
	e := web.NewEngine(web.Options{Logger: log, MaxBodyBytes: 1024, Metrics: web.NewMetrics(prometheus.NewRegistry())})
	e.GET("/things/:id", func(c *gin.Context) {
		if c.Param("id") == "missing" {
			web.WriteProblem(c, log, apperr.New(apperr.NotFound, "thing_not_found", "no thing %s", c.Param("id")))
			return
		}
		c.JSON(http.StatusOK, gin.H{"id": c.Param("id"), "request_id": reqinfo.From(c.Request.Context()).RequestID})
	})
	e.POST("/things", func(c *gin.Context) {
		var in createThing
		if err := web.BindJSON(c, &in); err != nil {
			web.WriteProblem(c, log, err)
			return
		}
		var fe []apperr.FieldError
		if in.Name == "" {
			fe = append(fe, apperr.FieldError{Field: "name", Code: "required", Message: "is required"})
		}
		if in.Count < 0 {
			fe = append(fe, apperr.FieldError{Field: "count", Code: "too_small", Message: "must be 0 or more"})
		}
		if err := apperr.Fields(fe); err != nil {
			web.WriteProblem(c, log, err)
			return
		}
		c.JSON(http.StatusCreated, in)
	})
	e.GET("/panic", func(c *gin.Context) { panic("secret connection string postgres://u:pw@h/db") })
	e.GET("/fail", func(c *gin.Context) {
		web.WriteProblem(c, log, errors.New("unexpected: secret detail")) // an unclassified error
	})
	e.GET("/lost", func(c *gin.Context) {
		// a lost connection a store returned raw, without db.MapError
		web.WriteProblem(c, log, fmt.Errorf("household: read: %w", io.ErrUnexpectedEOF))
	})
	e.GET("/big", func(c *gin.Context) { c.String(http.StatusOK, strings.Repeat("ansinh ", 1000)) })
	return e
}

func do(e http.Handler, req *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)
	return w
}

func decodeProblem(t *testing.T, w *httptest.ResponseRecorder, status int) web.Problem {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d: %s", w.Code, status, w.Body.String())
	}
	if ct := w.Header().Get("Content-Type"); ct != web.ProblemContentType {
		t.Fatalf("content type %q, want %q", ct, web.ProblemContentType)
	}
	var p web.Problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatalf("problem body: %v: %s", err, w.Body.String())
	}
	if p.Status != status || p.Code == "" || p.Title == "" || !strings.HasPrefix(p.Type, "urn:ansinh:problem:") {
		t.Fatalf("incomplete problem: %+v", p)
	}
	if p.RequestID == "" || p.RequestID != w.Header().Get(web.HeaderRequestID) {
		t.Fatalf("problem request id %q does not match header %q", p.RequestID, w.Header().Get(web.HeaderRequestID))
	}
	return p
}

func TestUnknownRouteIs404Problem(t *testing.T) {
	e := newEngine(t, &bytes.Buffer{})
	p := decodeProblem(t, do(e, httptest.NewRequest("GET", "/nowhere", nil)), 404)
	if p.Code != "route_not_found" || p.Instance != "/nowhere" {
		t.Fatalf("got %+v", p)
	}
}

func TestDomainNotFoundKeepsItsCode(t *testing.T) {
	e := newEngine(t, &bytes.Buffer{})
	p := decodeProblem(t, do(e, httptest.NewRequest("GET", "/things/missing", nil)), 404)
	if p.Code != "thing_not_found" || p.Detail != "no thing missing" {
		t.Fatalf("got %+v", p)
	}
}

func TestWrongMethodIs405WithAllow(t *testing.T) {
	e := newEngine(t, &bytes.Buffer{})
	w := do(e, httptest.NewRequest("DELETE", "/things/1", nil))
	p := decodeProblem(t, w, 405)
	if p.Code != "method_not_allowed" {
		t.Fatalf("got %+v", p)
	}
	if allow := w.Header().Get("Allow"); allow != "GET" {
		t.Fatalf("Allow = %q, want GET", allow)
	}
}

func TestOversizedBodyIs413(t *testing.T) {
	e := newEngine(t, &bytes.Buffer{})
	big := `{"name":"` + strings.Repeat("x", 2000) + `"}`

	// Declared length over the limit: refused before the handler runs.
	req := httptest.NewRequest("POST", "/things", strings.NewReader(big))
	req.Header.Set("Content-Type", "application/json")
	p := decodeProblem(t, do(e, req), 413)
	if p.Code != "payload_too_large" {
		t.Fatalf("got %+v", p)
	}

	// Undeclared length (chunked): the handler's read is cut off at the limit.
	req = httptest.NewRequest("POST", "/things", io.MultiReader(strings.NewReader(big)))
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/json")
	p = decodeProblem(t, do(e, req), 413)
	if p.Code != "payload_too_large" {
		t.Fatalf("got %+v", p)
	}
}

func TestPanicIs500WithoutInternals(t *testing.T) {
	logs := &bytes.Buffer{}
	e := newEngine(t, logs)
	w := do(e, httptest.NewRequest("GET", "/panic", nil))
	p := decodeProblem(t, w, 500)
	if p.Code != "internal" || strings.Contains(w.Body.String(), "secret") || strings.Contains(w.Body.String(), "goroutine") {
		t.Fatalf("the 500 leaks internals: %s", w.Body.String())
	}
	if !strings.Contains(logs.String(), "panic in handler") || !strings.Contains(logs.String(), p.RequestID) {
		t.Fatalf("the panic must be logged with the request id: %s", logs.String())
	}
	// The server goes on serving.
	if w := do(e, httptest.NewRequest("GET", "/things/1", nil)); w.Code != 200 {
		t.Fatalf("after a panic: %d", w.Code)
	}
}

func TestUnclassifiedErrorIs500(t *testing.T) {
	e := newEngine(t, &bytes.Buffer{})
	w := do(e, httptest.NewRequest("GET", "/fail", nil))
	p := decodeProblem(t, w, 500)
	if strings.Contains(w.Body.String(), "secret detail") || p.Code != "internal" {
		t.Fatalf("the cause leaked: %s", w.Body.String())
	}
}

// A lost database connection is an outage whoever returned it: 503 with
// Retry-After, even when a store did not map the driver's error.
func TestUnmappedLostConnectionIs503(t *testing.T) {
	e := newEngine(t, &bytes.Buffer{})
	w := do(e, httptest.NewRequest("GET", "/lost", nil))
	p := decodeProblem(t, w, 503)
	if p.Code != "database_unavailable" || w.Header().Get("Retry-After") == "" || strings.Contains(w.Body.String(), "EOF") {
		t.Fatalf("a raw lost connection: %d %v %s", w.Code, w.Header(), w.Body.String())
	}
}

func TestVietnameseDetail(t *testing.T) {
	e := newEngine(t, &bytes.Buffer{})
	req := httptest.NewRequest("GET", "/nowhere", nil)
	req.Header.Set("Accept-Language", "vi-VN,vi;q=0.9,en;q=0.5")
	p := decodeProblem(t, do(e, req), 404)
	if p.Detail != "Không có tài nguyên này." || p.Title != "Không tìm thấy" {
		t.Fatalf("want Vietnamese, got %+v", p)
	}

	req = httptest.NewRequest("POST", "/things", strings.NewReader(`{"count":-1}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept-Language", "vi")
	p = decodeProblem(t, do(e, req), 422)
	if p.Detail != "Yêu cầu có trường dữ liệu không hợp lệ." || len(p.Errors) != 2 || p.Errors[0].Detail != "là bắt buộc" {
		t.Fatalf("want Vietnamese field errors, got %+v", p)
	}

	// English stays the default, also for a language we do not speak.
	req = httptest.NewRequest("GET", "/nowhere", nil)
	req.Header.Set("Accept-Language", "fr-FR")
	if p := decodeProblem(t, do(e, req), 404); p.Detail != "No such resource." {
		t.Fatalf("want English, got %+v", p)
	}
}

func TestBindingErrors(t *testing.T) {
	e := newEngine(t, &bytes.Buffer{})
	cases := []struct {
		name, ctype, body string
		status            int
		code, field       string
	}{
		{"syntax", "application/json", `{"name":`, 400, "invalid_json", ""},
		{"empty", "application/json", ``, 400, "invalid_json", ""},
		{"two values", "application/json", `{"name":"a"}{"name":"b"}`, 400, "invalid_json", ""},
		{"wrong type", "application/json", `{"name":"a","count":"three"}`, 422, "validation_failed", "count"},
		{"unknown field", "application/json", `{"name":"a","colour":"red"}`, 422, "validation_failed", "colour"},
		{"not json", "text/plain", `name=a`, 415, "unsupported_media_type", ""},
		{"missing fields", "application/json; charset=utf-8", `{}`, 422, "validation_failed", "name"},
		{"not utf-8 in a string", "application/json", "{\"name\":\"Nguy\xff\"}", 422, "validation_failed", "name"},
		{"malformed uuid", "application/json", `{"name":"a","parts":[{"owner_id":null},{"owner_id":"nope"}]}`, 422, "validation_failed", "parts[1].owner_id"},
		{"not utf-8 outside strings", "application/json", "{\"name\":\"a\"\xff}", 400, "invalid_json", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/things", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.ctype)
			p := decodeProblem(t, do(e, req), tc.status)
			if p.Code != tc.code {
				t.Fatalf("code %q, want %q", p.Code, tc.code)
			}
			if tc.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != tc.field) {
				t.Fatalf("want a field error on %q, got %+v", tc.field, p.Errors)
			}
		})
	}
	req := httptest.NewRequest("POST", "/things", strings.NewReader(`{"name":"Nguyễn Văn A","count":4}`))
	req.Header.Set("Content-Type", "application/json")
	if w := do(e, req); w.Code != 201 {
		t.Fatalf("a good body: %d %s", w.Code, w.Body.String())
	}
}

func TestRequestID(t *testing.T) {
	e := newEngine(t, &bytes.Buffer{})
	req := httptest.NewRequest("GET", "/things/1", nil)
	req.Header.Set(web.HeaderRequestID, "client-abc-123")
	w := do(e, req)
	var body struct {
		RequestID string `json:"request_id"`
	}
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	if w.Header().Get(web.HeaderRequestID) != "client-abc-123" || body.RequestID != "client-abc-123" {
		t.Fatalf("the client's id must be kept and reach the handler: %q %q", w.Header().Get(web.HeaderRequestID), body.RequestID)
	}
	for _, bad := range []string{"", "has space", strings.Repeat("a", 200), "new\nline"} {
		req := httptest.NewRequest("GET", "/things/1", nil)
		req.Header.Set(web.HeaderRequestID, bad)
		got := do(e, req).Header().Get(web.HeaderRequestID)
		if got == bad || len(got) != 36 || got[14] != '7' {
			t.Fatalf("for %q want a generated UUIDv7, got %q", bad, got)
		}
	}
}

func TestGzip(t *testing.T) {
	e := newEngine(t, &bytes.Buffer{})
	req := httptest.NewRequest("GET", "/big", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	w := do(e, req)
	if w.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("want gzip, got headers %v", w.Header())
	}
	zr, err := gzip.NewReader(w.Body)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if !strings.HasPrefix(string(plain), "ansinh ansinh") {
		t.Fatalf("body does not decompress: %q", plain[:20])
	}
}

func TestAccessLogOmitsQuery(t *testing.T) {
	logs := &bytes.Buffer{}
	e := newEngine(t, logs)
	do(e, httptest.NewRequest("GET", "/things/1?q=Nguyen+Van+A&cccd=091234567890", nil))
	if !strings.Contains(logs.String(), `"route":"/things/:id"`) {
		t.Fatalf("the access log should name the route: %s", logs.String())
	}
	if strings.Contains(logs.String(), "091234567890") || strings.Contains(logs.String(), "Nguyen") {
		t.Fatalf("the access log must not hold query strings (personal data): %s", logs.String())
	}
}
