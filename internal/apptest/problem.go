package apptest

import (
	"net/http/httptest"
	"testing"

	"github.com/ansinh/ansinh/internal/platform/web"
)

// OneFieldError asserts that w is 422 validation_failed naming exactly one
// field problem: field, with code.
func OneFieldError(t testing.TB, w *httptest.ResponseRecorder, field, code string) {
	t.Helper()
	p := Decode[web.Problem](t, w, 422)
	if p.Code != "validation_failed" || len(p.Errors) != 1 || p.Errors[0].Field != field || p.Errors[0].Code != code {
		t.Fatalf("want one %s error on %s: %s", code, field, w.Body.String())
	}
}
