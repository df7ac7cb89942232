package auth_test

import (
	"testing"

	"github.com/ansinh/ansinh/internal/apptest"
)

// A role at a unit of today's map reaches the records made under the units
// it took in whole (their past), not those of a unit that was divided
// (whose successors each took a part; the province sees them).
func TestScopeReachesThePastOfUnitsTakenInWhole(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	register := func(username, commune, code string) string {
		t.Helper()
		tok := apptest.Token(t, a, username, "commune_worker", commune)
		return apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", tok,
			apptest.HouseholdBody(code, commune, ""))).ID
	}
	// Records under the three-tier map: Vĩnh Phú (30791, merged whole into
	// Vĩnh Điều 30793) and Phước Hưng (30358, divided among An Phú 30337,
	// Nhơn Hội 30346 and Phú Hữu 30352).
	vinhPhu := register("old-30791", "30791", "VP-1")
	phuocHung := register("old-30358", "30358", "PH-1")

	// Roles at units of the two-tier map (as a reorganization re-binds them).
	onToday := func(username, role, code string) string {
		t.Helper()
		id := apptest.CreateUser(t, a, username, role, "91", false)
		apptest.Exec(t, a.DB(), `UPDATE role_assignments SET area_edition = '2026-04', area_code = ? WHERE user_id = ?`, code, id)
		return apptest.Login(t, h, username, apptest.Password).AccessToken
	}
	vinhDieu := onToday("new-30793", "commune_worker", "30793")
	anPhu := onToday("new-30337", "commune_worker", "30337")
	anGiang := onToday("new-91", "province_auditor", "91")

	for _, c := range []struct {
		who, token, household string
		want                  int
	}{
		{"Vĩnh Điều's worker, Vĩnh Phú's household", vinhDieu, vinhPhu, 200},
		{"Vĩnh Điều's worker, Phước Hưng's household", vinhDieu, phuocHung, 404},
		{"An Phú's worker, divided Phước Hưng's household", anPhu, phuocHung, 404},
		{"An Phú's worker, Vĩnh Phú's household", anPhu, vinhPhu, 404},
		// The new An Giang took in the old An Giang (89) and Kiên Giang (91).
		{"An Giang's auditor, Phước Hưng's household", anGiang, phuocHung, 200},
		{"An Giang's auditor, Vĩnh Phú's household", anGiang, vinhPhu, 200},
	} {
		if w := apptest.Send(t, h, "GET", "/api/v1/households/"+c.household, c.token, nil); w.Code != c.want {
			t.Errorf("%s: %d, want %d", c.who, w.Code, c.want)
		}
	}
}
