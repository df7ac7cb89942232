package assessment_test

import (
	"testing"

	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/platform/web"
)

// A malformed UUID inside a well-formed body is a field error naming the
// field (422), as any other value of the wrong kind, not a 400 invalid_json.
func TestMalformedUUIDInReviewBodiesNamesTheField(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	worker := apptest.Token(t, a, "uuid-worker", "commune_worker", "30791")
	for _, tc := range []struct {
		name, path string
		body       map[string]any
	}{
		{"create review", "/api/v1/reviews",
			map[string]any{"kind": "annual", "commune_code": "30791", "year": 2026, "household_id": "not-a-uuid"}},
		{"add objection", "/api/v1/reviews/01930000-0000-7000-8000-000000000001/objections",
			map[string]any{"household_id": "not-a-uuid", "raised_by": "Lò Văn Páo", "raised_on": "2026-11-28", "content": "x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := apptest.Send(t, h, "POST", tc.path, worker, tc.body)
			p := apptest.Decode[web.Problem](t, w, 422)
			if p.Code != "validation_failed" || len(p.Errors) != 1 || p.Errors[0].Field != "household_id" || p.Errors[0].Code != "invalid" {
				t.Fatalf("want one invalid error on household_id: %s", w.Body.String())
			}
		})
	}
}
