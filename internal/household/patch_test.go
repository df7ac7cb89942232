package household_test

import (
	"bytes"
	"net/http/httptest"
	"testing"

	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/platform/web"
)

// A household's PATCH body is decoded as strictly as every body: a field a
// patch may not change is refused by name as unknown, a value of the wrong
// type by field; absent or null fields are left alone; the rest change.
func TestPatchBodyIsStrict(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	worker := apptest.Token(t, a, "pb-worker", "commune_worker", "30791")
	hh := apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("PB-1", "30791", "")))
	path := "/api/v1/households/" + hh.ID
	patch := func(body string, version int) *httptest.ResponseRecorder {
		req := httptest.NewRequest("PATCH", path, bytes.NewReader([]byte(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+worker)
		req.Header.Set("If-Match", `"`+string(rune('0'+version))+`"`)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		apptest.Check(t, req, w)
		return w
	}
	for _, c := range []struct{ body, field, code string }{
		{`{"village": "Ấp 2", "code": "PB-2"}`, "code", "unknown"},
		{`{"classification": "poor"}`, "classification", "unknown"},
		{`{"members": [], "nonsense": 1}`, "members", "unknown"},
		{`{"village": 5}`, "village", "type"},
		{`{"ethnic_minority": "yes"}`, "ethnic_minority", "type"},
	} {
		p := apptest.Decode[web.Problem](t, patch(c.body, 1), 422)
		if len(p.Errors) != 1 || p.Errors[0].Field != c.field || p.Errors[0].Code != c.code {
			t.Errorf("%s: %+v, want %s %s", c.body, p.Errors, c.field, c.code)
		}
	}
	if w := patch(`[]`, 1); w.Code != 422 {
		t.Errorf("an array: %d %s", w.Code, w.Body.String())
	}
	w := patch(`{"Village": "Ấp Mới", "phone": null, "ethnic_minority": true}`, 1)
	got := apptest.Decode[struct {
		Version        int    `json:"version"`
		Village        string `json:"village"`
		Phone          string `json:"phone"`
		Address        string `json:"address"`
		EthnicMinority bool   `json:"ethnic_minority"`
	}](t, w, 200)
	if got.Version != 2 || got.Village != "Ấp Mới" || got.Phone != "0912345678" || got.Address != "tổ 3" || !got.EthnicMinority {
		t.Fatalf("patched: %+v", got)
	}
}
