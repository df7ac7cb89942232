package program_test

import (
	"strings"
	"testing"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/area"
)

// A program's rule can use the designations of a household's commune and
// hamlet on the reference date (household.designations).
func TestRuleOnDesignations(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	list, err := area.ReadDesignations(strings.NewReader(
		"kind,zone,area_edition,area_code,village,valid_from,valid_to,decision_number,decision_date,issuer\n" +
			"ethnic_mountainous_zone,III,2025-03,30791,,2021-01-01,,861/QĐ-TTg,2021-06-04,Thủ tướng\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := area.NewStore(a.DB()).LoadDesignations(access.WithActor(t.Context(), access.System("test")), list, false, "test"); err != nil {
		t.Fatal(err)
	}
	manager := apptest.Token(t, a, "zone-manager", "program_manager", "91")
	program := map[string]any{"code": "kg_zone3", "name_vi": "Hỗ trợ xã khu vực III", "name_en": "Zone III support",
		"legal_basis": "Kế hoạch của UBND tỉnh (thử)", "kind": "gift", "level": "household", "area_code": "91",
		"rule": []map[string]string{{"when": `"ethnic_mountainous_zone_III" in household.designations`,
			"because_vi": "hộ ở xã khu vực III", "because_en": "lives in a zone III commune"}},
		"amount": "300000", "funding": []string{"province"}}
	if w := apptest.Send(t, h, "POST", "/api/v1/programs", manager, program); w.Code != 201 {
		t.Fatalf("program: %d %s", w.Code, w.Body)
	}
	eligible := func(commune string) bool {
		t.Helper()
		worker := apptest.Token(t, a, "zone-worker-"+commune, "commune_worker", commune)
		hh := apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("Z-"+commune, commune, "")))
		out := apptest.Decode[struct {
			Items []struct {
				ProgramCode string `json:"program_code"`
				Eligible    bool   `json:"eligible"`
			} `json:"items"`
		}](t, apptest.Send(t, h, "GET", "/api/v1/households/"+hh.ID+"/eligibility", worker, nil), 200)
		for _, p := range out.Items {
			if p.ProgramCode == "kg_zone3" {
				return p.Eligible
			}
		}
		t.Fatalf("the program was not judged in %s", commune)
		return false
	}
	if !eligible("30791") || eligible("30793") {
		t.Fatal("the zone III commune's household is eligible, its neighbour's is not")
	}
}
