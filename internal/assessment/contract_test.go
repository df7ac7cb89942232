package assessment_test

import (
	"testing"
	"time"

	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/platform/vn"
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
			apptest.OneFieldError(t, w, "household_id", "invalid")
		})
	}
}

// An unknown value of an enumerated filter is refused naming the parameter
// (422), rather than answered with an empty list; a known one still answers.
func TestUnknownEnumFilterIsRefused(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	worker := apptest.Token(t, a, "enum-worker", "commune_worker", "30791")
	hh := apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("ENUM-0001", "30791", "")))
	rv := apptest.Decode[struct {
		ID string `json:"id"`
	}](t, apptest.Send(t, h, "POST", "/api/v1/reviews", worker, map[string]any{"kind": "regular", "commune_code": "30791",
		"household_id": hh.ID, "requested_on": vn.Today(time.Now()).AddDate(0, 0, -1).Format(time.DateOnly)}), 201)
	for _, tc := range []struct{ path, param, good string }{
		{"/api/v1/reviews", "state", "posted"},
		{"/api/v1/reviews", "kind", "regular"},
		{"/api/v1/households/" + hh.ID + "/assessments", "state", "agreed"},
		{"/api/v1/households/" + hh.ID + "/assessments", "classification", "near_poor"},
		{"/api/v1/reviews/" + rv.ID + "/assessments", "state", "recognized"},
		{"/api/v1/reviews/" + rv.ID + "/assessments", "classification", "none"},
	} {
		t.Run(tc.path+"?"+tc.param, func(t *testing.T) {
			w := apptest.Send(t, h, "GET", tc.path+"?"+tc.param+"=bogus", worker, nil)
			apptest.OneFieldError(t, w, tc.param, "invalid")
			if w := apptest.Send(t, h, "GET", tc.path+"?"+tc.param+"="+tc.good, worker, nil); w.Code != 200 {
				t.Fatalf("%s=%s: %d %s", tc.param, tc.good, w.Code, w.Body.String())
			}
		})
	}
}
