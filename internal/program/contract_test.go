package program_test

import (
	"testing"

	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/platform/web"
)

// A malformed UUID inside a well-formed body is a field error naming the
// field (422), as any other value of the wrong kind, not a 400 invalid_json.
func TestMalformedUUIDInProposalNamesTheField(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	worker := apptest.Token(t, a, "uuid-worker", "commune_worker", "30791")
	w := apptest.Send(t, h, "POST", "/api/v1/enrollments", worker, map[string]any{
		"program_code": "HN-DL", "household_id": "not-a-uuid", "starts_on": "2026-12-01"})
	p := apptest.Decode[web.Problem](t, w, 422)
	if p.Code != "validation_failed" || len(p.Errors) != 1 || p.Errors[0].Field != "household_id" || p.Errors[0].Code != "invalid" {
		t.Fatalf("want one invalid error on household_id: %s", w.Body.String())
	}
}

// An unknown value of an enumerated filter is refused naming the parameter
// (422), rather than answered with an empty list; a known one still answers.
func TestUnknownEnumFilterIsRefused(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	worker := apptest.Token(t, a, "enum-worker", "commune_worker", "30791")
	w := apptest.Send(t, h, "GET", "/api/v1/enrollments?state=bogus", worker, nil)
	p := apptest.Decode[web.Problem](t, w, 422)
	if p.Code != "validation_failed" || len(p.Errors) != 1 || p.Errors[0].Field != "state" || p.Errors[0].Code != "invalid" {
		t.Fatalf("want one invalid error on state: %s", w.Body.String())
	}
	if w := apptest.Send(t, h, "GET", "/api/v1/enrollments?state=approved", worker, nil); w.Code != 200 {
		t.Fatalf("state=approved: %d %s", w.Code, w.Body.String())
	}
}
