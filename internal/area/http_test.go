package area_test

import (
	"encoding/json"
	"testing"

	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/area"
	"github.com/ansinh/ansinh/internal/platform/apperr"
)

func TestAreasAPI(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "worker-areas", "commune_worker", "30791", false)
	tok := apptest.Login(t, h, "worker-areas", apptest.Password).AccessToken
	type page struct {
		Items []struct {
			Code, Name, Level, Path string
		} `json:"items"`
		NextCursor string `json:"next_cursor"`
	}
	get := func(path string) (int, page) {
		w := apptest.Send(t, h, "GET", path, tok, nil)
		var p page
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
			t.Fatalf("%s: %v: %s", path, err, w.Body.String())
		}
		return w.Code, p
	}
	// Kiên Giang's districts, in pages.
	code, p := get("/api/v1/areas?parent=91&limit=10")
	if code != 200 || len(p.Items) != 10 || p.Items[0].Code != "899" || p.NextCursor == "" {
		t.Fatalf("districts page 1: %d %+v", code, p)
	}
	_, p2 := get("/api/v1/areas?parent=91&limit=10&cursor=" + p.NextCursor)
	if len(p2.Items) != 5 || p2.NextCursor != "" || p2.Items[4].Code != "914" {
		t.Fatalf("districts page 2: %+v", p2)
	}
	// Names without diacritics find the commune.
	_, p = get("/api/v1/areas?q=dong%20hung%20a&level=commune&limit=5")
	if len(p.Items) == 0 || p.Items[0].Name != "Đông Hưng A" || p.Items[0].Path != "91.909.31036" {
		t.Fatalf("search: %+v", p)
	}
	_, p = get("/api/v1/areas?q=vinh%20phu&level=commune")
	found := false
	for _, it := range p.Items {
		found = found || it.Code == "30791"
	}
	if !found {
		t.Fatalf("Vĩnh Phú not found: %+v", p)
	}
	if w := apptest.Send(t, h, "GET", "/api/v1/areas/30791", tok, nil); w.Code != 200 {
		t.Fatalf("get: %d", w.Code)
	}
	for path, want := range map[string]int{
		"/api/v1/areas/99999":        404,
		"/api/v1/areas/abc":          404,
		"/api/v1/areas?level=hamlet": 422,
		"/api/v1/areas?parent=9x":    422,
		"/api/v1/areas?limit=501":    422,
	} {
		if code, _ := get(path); code != want {
			t.Errorf("%s: %d, want %d", path, code, want)
		}
	}
	for _, code := range []string{"99999", "abc"} {
		if c := apptest.ProblemCode(t, apptest.Send(t, h, "GET", "/api/v1/areas/"+code, tok, nil)); c != "area_not_found" {
			t.Errorf("area %s: problem %q", code, c)
		}
	}
	// The 2025-03 edition is loaded whole.
	if n := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM areas`); n != 10794 {
		t.Errorf("areas loaded: %d, want 10794", n)
	}
}

// The store's Get is what other domains' area lookups stand on: a found area
// whole, and for an unknown code the NotFound area_not_found they turn into
// their own 422.
func TestStoreGet(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	s := area.NewStore(a.DB())
	got, err := s.Get(t.Context(), "30791")
	if err != nil {
		t.Fatal(err)
	}
	if got.Code != "30791" || got.Level != "commune" || got.ParentCode != "914" || got.Path != "91.914.30791" || got.Name == "" {
		t.Fatalf("Get(30791) = %+v", got)
	}
	_, err = s.Get(t.Context(), "99999")
	if e, ok := apperr.As(err); !ok || e.Kind != apperr.NotFound || e.Code != "area_not_found" {
		t.Fatalf("Get(99999): %v", err)
	}
}
