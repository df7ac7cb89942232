package program_test

import (
	"testing"

	"github.com/ansinh/ansinh/internal/apptest"
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
	apptest.OneFieldError(t, w, "household_id", "invalid")
}

// An unknown value of an enumerated filter is refused naming the parameter
// (422), rather than answered with an empty list; a known one still answers.
func TestUnknownEnumFilterIsRefused(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	worker := apptest.Token(t, a, "enum-worker", "commune_worker", "30791")
	w := apptest.Send(t, h, "GET", "/api/v1/enrollments?state=bogus", worker, nil)
	apptest.OneFieldError(t, w, "state", "invalid")
	if w := apptest.Send(t, h, "GET", "/api/v1/enrollments?state=approved", worker, nil); w.Code != 200 {
		t.Fatalf("state=approved: %d %s", w.Code, w.Body.String())
	}
}
