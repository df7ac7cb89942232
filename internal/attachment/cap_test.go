package attachment_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
)

// A user with as many unfinished resumable uploads as the cap gets 429
// too_many_jobs with Retry-After for another (nothing created); another user
// is not concerned, and abandoning one (DELETE) makes room.
func TestUnfinishedUploadsPerUserAreCapped(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	a := apptest.NewOn(t, apptest.Config(t, d.AppURL, "ANSINH_RATELIMIT_UPLOADS_PER_USER", "2"))
	h := a.Handler()
	hoarder := apptest.Token(t, a, "cap-hoarder", "commune_worker", "30791")
	other := apptest.Token(t, a, "cap-other", "commune_worker", "30791")
	hh := apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", hoarder, apptest.HouseholdBody("CAP-1", "30791", "")))
	create := func(token string) (int, string, string) {
		w := tusRequest(t, h, "POST", "/api/v1/uploads", token, map[string]string{"Upload-Length": "20000000",
			"Upload-Metadata": tusMetadata("subject_type", "household", "subject_id", hh.ID, "kind", "minutes", "filename", "scan.pdf")}, nil)
		code := ""
		if w.Code >= 400 {
			code = apptest.ProblemCode(t, w)
		}
		if w.Code == 429 && w.Header().Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
		return w.Code, code, w.Header().Get("Location")
	}
	var first string
	for i := range 2 {
		status, _, loc := create(hoarder)
		if status != http.StatusCreated {
			t.Fatalf("upload %d: %d", i, status)
		}
		if first == "" {
			first = loc
		}
	}
	if status, code, _ := create(hoarder); status != 429 || code != "too_many_jobs" {
		t.Fatalf("a third unfinished upload: %d %s", status, code)
	}
	if status, _, _ := create(other); status != http.StatusCreated {
		t.Fatalf("another user's upload: %d", status)
	}
	path := first[strings.Index(first, "/api/v1/uploads/"):]
	if w := tusRequest(t, h, "DELETE", path, hoarder, nil, nil); w.Code != http.StatusNoContent {
		t.Fatalf("abandon: %d %s", w.Code, w.Body.String())
	}
	if status, _, _ := create(hoarder); status != http.StatusCreated {
		t.Fatalf("after abandoning one: %d", status)
	}
}
