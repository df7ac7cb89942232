package household_test

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/ansinh/ansinh/internal/apptest"
)

// A JSON body with bytes that are not UTF-8 inside a string is refused with
// the field named, rather than stored with U+FFFD in their place.
func TestInvalidUTF8InBodyIsRefusedWithTheField(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	worker := apptest.Token(t, a, "utf8-worker", "commune_worker", "30791")

	body, err := json.Marshal(apptest.HouseholdBody("UTF-0001", "30791", ""))
	if err != nil {
		t.Fatal(err)
	}
	body = bytes.Replace(body, []byte("Nguyễn Văn An"), []byte("Nguy\xff\xfe\xfd"), 1)
	req := httptest.NewRequest("POST", "/api/v1/households", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+worker)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	apptest.Check(t, req, w)
	apptest.OneFieldError(t, w, "members[0].full_name", "invalid_utf8")
	if n := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM households WHERE code = 'UTF-0001'`); n != 0 {
		t.Fatalf("%d households stored", n)
	}
}

// A malformed UUID inside a well-formed body is a field error naming the
// field (422), as any other value of the wrong kind, not a 400 invalid_json.
func TestMalformedUUIDInResolveNamesTheField(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	worker := apptest.Token(t, a, "uuid-worker", "commune_worker", "30791")
	w := apptest.Send(t, h, "POST", "/api/v1/duplicates/01930000-0000-7000-8000-000000000001/resolve", worker,
		map[string]any{"resolution": "same_person", "keep_member_id": "not-a-uuid"})
	apptest.OneFieldError(t, w, "keep_member_id", "invalid")
}

// An unknown value of an enumerated filter is refused naming the parameter
// (422), rather than answered with an empty list; a known one still answers.
func TestUnknownEnumFilterIsRefused(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	worker := apptest.Token(t, a, "enum-worker", "commune_worker", "30791")
	w := apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("ENUM-0001", "30791", ""))
	hh := apptest.DecodeHousehold(t, w)
	for _, tc := range []struct{ path, param, good string }{
		{"/api/v1/households", "classification", "near_poor"},
		{"/api/v1/households", "status", "archived"},
		{"/api/v1/households/" + hh.ID, "reveal", "id_number"},
		{"/api/v1/members", "sex", "female"},
		{"/api/v1/members", "status", "moved_out"},
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
