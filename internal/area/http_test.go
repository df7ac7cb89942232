package area_test

import (
	"encoding/json"
	"strings"
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
	// Kiên Giang's districts, in pages (in the three-tier edition).
	code, p := get("/api/v1/areas?edition=2025-03&parent=91&limit=10")
	if code != 200 || len(p.Items) != 10 || p.Items[0].Code != "899" || p.NextCursor == "" {
		t.Fatalf("districts page 1: %d %+v", code, p)
	}
	_, p2 := get("/api/v1/areas?edition=2025-03&parent=91&limit=10&cursor=" + p.NextCursor)
	if len(p2.Items) != 5 || p2.NextCursor != "" || p2.Items[4].Code != "914" {
		t.Fatalf("districts page 2: %+v", p2)
	}
	// Names without diacritics find the commune.
	_, p = get("/api/v1/areas?edition=2025-03&q=dong%20hung%20a&level=commune&limit=5")
	if len(p.Items) == 0 || p.Items[0].Name != "Đông Hưng A" || p.Items[0].Path != "91.909.31036" {
		t.Fatalf("search: %+v", p)
	}
	_, p = get("/api/v1/areas?edition=2025-03&q=vinh%20phu&level=commune")
	found := false
	for _, it := range p.Items {
		found = found || it.Code == "30791"
	}
	if !found {
		t.Fatalf("Vĩnh Phú not found: %+v", p)
	}
	if w := apptest.Send(t, h, "GET", "/api/v1/areas/30791?edition=2025-03", tok, nil); w.Code != 200 {
		t.Fatalf("get: %d", w.Code)
	}
	for path, want := range map[string]int{
		"/api/v1/areas/99999":                 404,
		"/api/v1/areas/abc":                   404,
		"/api/v1/areas?level=hamlet":          422,
		"/api/v1/areas?parent=9x":             422,
		"/api/v1/areas?limit=501":             422,
		"/api/v1/areas?edition=2024":          422,
		"/api/v1/areas?edition=1999-01":       422,
		"/api/v1/areas/30791?edition=1999-01": 422,
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
	// Both editions are loaded whole.
	for edition, want := range map[string]int{"2025-03": 10794, "2026-04": 3355} {
		if n := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM areas WHERE edition = ?`, edition); n != want {
			t.Errorf("areas of %s: %d, want %d", edition, n, want)
		}
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
	if got.Edition != "2025-03" || got.Code != "30791" || got.Level != "commune" || got.ParentCode != "914" || got.Path != "91.914.30791" || got.Name == "" {
		t.Fatalf("Get(30791) = %+v", got)
	}
	_, err = s.Get(t.Context(), "99999")
	if e, ok := apperr.As(err); !ok || e.Kind != apperr.NotFound || e.Code != "area_not_found" {
		t.Fatalf("Get(99999): %v", err)
	}
}

// Both editions are served, today's by default: a unit is (edition, code),
// and each names the units it came from and became.
func TestEditionsAPI(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "worker-editions", "commune_worker", "30791", false)
	tok := apptest.Login(t, h, "worker-editions", apptest.Password).AccessToken
	get := func(path string, v any) {
		t.Helper()
		w := apptest.Send(t, h, "GET", path, tok, nil)
		if w.Code != 200 {
			t.Fatalf("%s: %d %s", path, w.Code, w.Body)
		}
		if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
			t.Fatal(err)
		}
	}
	var editions struct {
		Items []struct {
			Edition, ValidFrom string
			ValidTo            *string `json:"valid_to"`
			Units              int
			InForce            bool `json:"in_force"`
			InUse              bool `json:"in_use"`
		} `json:"items"`
	}
	get("/api/v1/area-editions", &editions)
	e := editions.Items
	if len(e) != 2 || e[0].Edition != "2025-03" || e[0].ValidTo == nil || *e[0].ValidTo != "2025-06-30" || !e[0].InUse || e[0].InForce ||
		e[1].Edition != "2026-04" || e[1].ValidTo != nil || e[1].Units != 3355 || !e[1].InForce || e[1].InUse {
		t.Fatalf("editions: %+v", e)
	}

	// Today's map by default: the new An Giang (91) has communes and no
	// districts.
	type unit struct {
		Edition, Code, Name, Level, Path string
		ParentCode                       string `json:"parent_code"`
		Divided                          bool
	}
	var page struct{ Items []unit }
	get("/api/v1/areas?parent=91&limit=500", &page)
	if len(page.Items) != 102 {
		t.Fatalf("communes of the new An Giang: %d", len(page.Items))
	}
	for _, u := range page.Items {
		if u.Edition != "2026-04" || u.Level != "commune" || u.Path != "91."+u.Code {
			t.Fatalf("unit of today's map: %+v", u)
		}
	}

	// The same code, two units.
	type detail struct {
		unit
		Predecessors, Successors []unit
	}
	var old, now detail
	get("/api/v1/areas/31036?edition=2025-03", &old)
	get("/api/v1/areas/31036", &now)
	if old.Name != "Đông Hưng A" || old.Path != "91.909.31036" || now.Name != "Đông Hưng" || now.Path != "91.31036" || now.Edition != "2026-04" {
		t.Fatalf("31036: %+v / %+v", old.unit, now.unit)
	}
	if len(old.Successors) != 1 || old.Successors[0].Code != "31036" || old.Successors[0].Edition != "2026-04" || old.Successors[0].Divided {
		t.Fatalf("successors of Đông Hưng A: %+v", old.Successors)
	}
	found := false
	for _, p := range now.Predecessors {
		found = found || p.Edition == "2025-03" && p.Code == "31036" && p.Name == "Đông Hưng A"
	}
	if !found || len(now.Successors) != 0 {
		t.Fatalf("predecessors of Đông Hưng: %+v, successors %+v", now.Predecessors, now.Successors)
	}
	var vinhPhu detail
	get("/api/v1/areas/30791?edition=2025-03", &vinhPhu)
	if len(vinhPhu.Successors) != 1 || vinhPhu.Successors[0].Code != "30793" {
		t.Fatalf("Vĩnh Phú became %+v", vinhPhu.Successors)
	}
	// A divided commune names every successor.
	var divided detail
	get("/api/v1/areas/30358?edition=2025-03", &divided)
	var codes []string
	for _, s := range divided.Successors {
		if !s.Divided {
			t.Errorf("successor %s of a divided commune not marked divided", s.Code)
		}
		codes = append(codes, s.Code)
	}
	if strings.Join(codes, ",") != "30337,30346,30352" {
		t.Fatalf("Phước Hưng became %v", codes)
	}
	// Provinces: the new An Giang took in the old An Giang and Kiên Giang.
	var province detail
	get("/api/v1/areas/91", &province)
	codes = nil
	for _, p := range province.Predecessors {
		codes = append(codes, p.Edition+"/"+p.Code)
	}
	if strings.Join(codes, ",") != "2025-03/89,2025-03/91" {
		t.Fatalf("An Giang's predecessors: %v", codes)
	}
}
