package assessment_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/platform/vn"
)

// A review action and an assessment change read-modify-write one way: the
// transition's refusal first (409 with the current state), then If-Match
// (412), and nothing is written on either.
func TestStaleAndRefusedChangesWriteNothing(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "tr-worker", "commune_worker", "30791", false)
	worker := apptest.Login(t, h, "tr-worker", apptest.Password).AccessToken
	today := vn.Today(time.Now())
	ago := func(days int) string { return today.AddDate(0, 0, -days).Format(time.DateOnly) }

	hh := apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("TR-1", "30791", "")))
	review := apptest.Decode[reviewOut](t, apptest.Send(t, h, "POST", "/api/v1/reviews", worker,
		map[string]any{"kind": "periodic", "commune_code": "30791", "year": 2026}), 201)
	rv := "/api/v1/reviews/" + review.ID
	as := apptest.Decode[assessmentOut](t, apptest.Send(t, h, "POST", "/api/v1/households/"+hh.ID+"/assessments", worker,
		map[string]any{"review_id": review.ID, "income_per_person": 1_200_000, "answers": apptest.WorkerAnswers()}), 201)
	// The first assessment started the survey: version 2.
	review = apptest.Decode[reviewOut](t, apptest.Send(t, h, "GET", rv, worker, nil), 200)
	if review.State != "surveying" || review.Version != 2 {
		t.Fatalf("review after the first assessment: %+v", review)
	}

	meeting := map[string]any{"date": ago(3), "chair": "Trưởng ấp", "attendees": 10,
		"votes": []map[string]any{{"household_id": hh.ID, "agree": 10}}}
	// Allowed but stale: 412 with the state, and the vote is not recorded.
	w := apptest.SendWith(t, h, "POST", rv+"/record-meeting", worker, meeting, map[string]string{"If-Match": `"1"`})
	if w.Code != 412 || !strings.Contains(w.Body.String(), `"current_state":"surveying"`) {
		t.Fatalf("a stale meeting: %d %s", w.Code, w.Body.String())
	}
	if n := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM assessments WHERE review_id = ? AND votes_agree IS NOT NULL`, review.ID); n != 0 {
		t.Fatalf("a stale meeting recorded %d votes", n)
	}
	if n := apptest.CountEvents(t, a, "assessment.vote"); n != 0 {
		t.Fatalf("a stale meeting recorded %d vote events", n)
	}
	// Refused and stale: the refusal, with the state.
	w = apptest.SendWith(t, h, "POST", rv+"/post", worker, map[string]any{"start_date": ago(2), "end_date": ago(1)},
		map[string]string{"If-Match": `"1"`})
	if w.Code != 409 || !strings.Contains(w.Body.String(), `"current_state":"surveying"`) {
		t.Fatalf("a refused, stale posting: %d %s", w.Code, w.Body.String())
	}
	// Current: recorded, one version on.
	review = apptest.Decode[reviewOut](t, apptest.SendWith(t, h, "POST", rv+"/record-meeting", worker, meeting,
		map[string]string{"If-Match": `"2"`}), 200)
	if review.State != "meeting_recorded" || review.Version != 3 || review.Counts["agreed"] != 1 {
		t.Fatalf("after the meeting: %+v", review)
	}

	// An agreed assessment is not changed, stale or not (409); nothing written.
	for _, etag := range []string{`"1"`, `"2"`} {
		w = apptest.SendWith(t, h, "PATCH", "/api/v1/assessments/"+as.ID, worker, map[string]any{"income_per_person": 5_000_000},
			map[string]string{"If-Match": etag})
		if w.Code != 409 {
			t.Fatalf("an agreed assessment changed with If-Match %s: %d %s", etag, w.Code, w.Body.String())
		}
	}
	if n := apptest.Scalar[int64](t, a.DB(), `SELECT income_per_person FROM assessments WHERE id = ?`, as.ID); n != 1_200_000 {
		t.Fatalf("income now %d", n)
	}
}
