package household_test

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/platform/web"
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

	p := apptest.Decode[web.Problem](t, w, 422)
	if p.Code != "validation_failed" || len(p.Errors) != 1 || p.Errors[0].Field != "members[0].full_name" || p.Errors[0].Code != "invalid_utf8" {
		t.Fatalf("want one invalid_utf8 error on members[0].full_name: %s", w.Body.String())
	}
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
	p := apptest.Decode[web.Problem](t, w, 422)
	if p.Code != "validation_failed" || len(p.Errors) != 1 || p.Errors[0].Field != "keep_member_id" || p.Errors[0].Code != "invalid" {
		t.Fatalf("want one invalid error on keep_member_id: %s", w.Body.String())
	}
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
			p := apptest.Decode[web.Problem](t, w, 422)
			if p.Code != "validation_failed" || len(p.Errors) != 1 || p.Errors[0].Field != tc.param || p.Errors[0].Code != "invalid" {
				t.Fatalf("want one invalid error on %s: %s", tc.param, w.Body.String())
			}
			if w := apptest.Send(t, h, "GET", tc.path+"?"+tc.param+"="+tc.good, worker, nil); w.Code != 200 {
				t.Fatalf("%s=%s: %d %s", tc.param, tc.good, w.Code, w.Body.String())
			}
		})
	}
}
