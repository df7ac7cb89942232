package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/ansinh/ansinh/internal/apptest"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/attachment/attachmenttest"
	"github.com/ansinh/ansinh/internal/audit"
)

// The authorization matrix: every /api/v1 route the router has, for every
// role inside and outside the data's area and for an anonymous caller, answers
// the expected status. The routes come from the router itself, so a new route
// without an entry here fails the test.
//
// The data lies in commune 30791 (path 91.914.30791). "Inside" users hold
// their role at the commune (worker), its district 914 (approver) or its
// province 91 (the rest); "outside" users hold the same role in province 79.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()

	roles := []string{"commune_worker", "district_approver", "province_auditor", "program_manager", "system_admin"}
	insideArea := map[string]string{"commune_worker": "30791", "district_approver": "914", "province_auditor": "91",
		"program_manager": "91", "system_admin": "91"}
	tokens := map[string]string{"anonymous": ""}
	for _, r := range roles {
		for where, area := range map[string]string{"inside": insideArea[r], "outside": "79"} {
			name := fmt.Sprintf("%s-%s", strings.ReplaceAll(r, "_", "-"), where)
			apptest.CreateUser(t, a, name, r, area, false)
			tokens[r+"/"+where] = apptest.Login(t, h, name, apptest.Password).AccessToken
		}
	}
	// A user in the commune for the administrators to manage.
	victim := apptest.CreateUser(t, a, "victim", "commune_worker", "30791", false)
	victimAssignment := apptest.Scalar[string](t, a.DB(), `SELECT id::text FROM role_assignments WHERE user_id = ?`, victim)
	users := "/api/v1/users/" + victim.String()
	// Two data-role grants to the victim awaiting approval, asked for by another administrator.
	asker := apptest.Token(t, a, "grant-asker", "system_admin", "91")
	pendingGrant := func(role, area string) string {
		w := apptest.Send(t, h, "POST", users+"/assignments", asker, map[string]string{"role": role, "area_code": area})
		g := apptest.Decode[struct{ Assignment struct{ ID string } }](t, w, 202)
		return users + "/assignments/" + g.Assignment.ID
	}
	toApprove, toReject := pendingGrant("district_approver", "914"), pendingGrant("province_auditor", "91")

	// A household in the commune, registered by the inside worker.
	hw := apptest.Send(t, h, "POST", "/api/v1/households", tokens["commune_worker/inside"], apptest.HouseholdBody("MX-1", "30791", ""))
	if hw.Code != 201 {
		t.Fatalf("seed household: %d %s", hw.Code, hw.Body.String())
	}
	var seeded struct{ ID string }
	json.Unmarshal(hw.Body.Bytes(), &seeded)
	hh := "/api/v1/households/" + seeded.ID

	// A review of the commune with an assessment of that household.
	rw := apptest.Send(t, h, "POST", "/api/v1/reviews", tokens["commune_worker/inside"], map[string]any{"kind": "periodic", "commune_code": "30791", "year": 2026})
	var review struct{ ID string }
	json.Unmarshal(rw.Body.Bytes(), &review)
	aw := apptest.Send(t, h, "POST", hh+"/assessments", tokens["commune_worker/inside"], map[string]any{"review_id": review.ID,
		"income_per_person": 1_000_000, "answers": apptest.WorkerAnswers("toilet")})
	if rw.Code != 201 || aw.Code != 201 {
		t.Fatalf("seed review: %d %s / %d %s", rw.Code, rw.Body.String(), aw.Code, aw.Body.String())
	}
	var assessed struct{ ID string }
	json.Unmarshal(aw.Body.Bytes(), &assessed)
	rv := "/api/v1/reviews/" + review.ID

	// A proposal to enroll the (poor) household in legal aid.
	apptest.Exec(t, a.DB(), `UPDATE households SET classification = 'poor' WHERE code = 'MX-1'`)
	ew := apptest.Send(t, h, "POST", "/api/v1/enrollments", tokens["commune_worker/inside"], map[string]any{"program_code": "legal_aid",
		"household_id": seeded.ID, "starts_on": "2026-01-01"})
	if ew.Code != 201 {
		t.Fatalf("seed enrollment: %d %s", ew.Code, ew.Body.String())
	}
	var enrolled struct{ ID string }
	json.Unmarshal(ew.Body.Bytes(), &enrolled)
	en := "/api/v1/enrollments/" + enrolled.ID
	nobody := "/api/v1/enrollments/" + uuid.NewString()

	// A complaint of the household's, received by the inside worker.
	complaintBody := map[string]any{"household_id": seeded.ID, "complainant_name": "Nguyễn Văn An", "channel": "in_person",
		"subject_kind": "classification", "content": "Hộ tôi không đồng ý với kết quả rà soát"}
	cw := apptest.Send(t, h, "POST", "/api/v1/complaints", tokens["commune_worker/inside"], complaintBody)
	if cw.Code != 201 {
		t.Fatalf("seed complaint: %d %s", cw.Code, cw.Body.String())
	}
	var complained struct{ ID string }
	json.Unmarshal(cw.Body.Bytes(), &complained)
	kn := "/api/v1/complaints/" + complained.ID

	// A photo of the household's house, attached by the inside worker.
	pw := apptest.AttachFile(t, h, tokens["commune_worker/inside"], map[string]string{"subject_type": "household", "subject_id": seeded.ID,
		"kind": "house_photo"}, "nha.png", attachmenttest.PNG())
	if pw.Code != 201 {
		t.Fatalf("seed attachment: %d %s", pw.Code, pw.Body.String())
	}
	var photo struct{ ID string }
	json.Unmarshal(pw.Body.Bytes(), &photo)
	att := "/api/v1/attachments/" + photo.ID
	upload := "/api/v1/uploads/" + strings.ReplaceAll(uuid.NewString(), "-", "")

	// An audited change about a household in the commune.
	subject := uuid.Must(uuid.NewV7())
	ctx := access.WithActor(context.Background(), access.System("test"))
	err := a.DB().WithTx(ctx, func(ctx context.Context) error {
		return audit.Record(ctx, a.DB().Conn(ctx), audit.Event{Action: "household.create", EntityType: "household",
			EntityID: subject.String(), AreaPath: "91.914.30791", After: map[string]any{"head": "Lê Thị C"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	eventID := apptest.Scalar[string](t, a.DB(), `SELECT id::text FROM audit_events WHERE entity_id = ?`, subject.String())

	type request struct {
		method, path string
		body         any
	}
	// expect gives, per caller, the status; "*" is every signed-in caller.
	type entry struct {
		req    request
		expect map[string]int
	}
	auditorsOnly := func(inside, outside int) map[string]int {
		m := map[string]int{"anonymous": 401, "*": 403}
		m["province_auditor/inside"], m["province_auditor/outside"] = inside, outside
		return m
	}
	adminsOnly := func(inside, outside int) map[string]int {
		m := map[string]int{"anonymous": 401, "*": 403}
		m["system_admin/inside"], m["system_admin/outside"] = inside, outside
		return m
	}
	readers := func(inside, outside int) map[string]int {
		m := map[string]int{"anonymous": 401, "*": 403}
		for _, r := range []string{"commune_worker", "district_approver", "province_auditor"} {
			m[r+"/inside"], m[r+"/outside"] = inside, outside
		}
		return m
	}
	workers := func(inside, outside int) map[string]int {
		m := map[string]int{"anonymous": 401, "*": 403}
		m["commune_worker/inside"], m["commune_worker/outside"] = inside, outside
		return m
	}
	approvers := func(inside, outside int) map[string]int {
		m := map[string]int{"anonymous": 401, "*": 403}
		m["district_approver/inside"], m["district_approver/outside"] = inside, outside
		return m
	}
	handlers := func(inside, outside int) map[string]int { // who handle complaints: workers and approvers
		m := workers(inside, outside)
		m["district_approver/inside"], m["district_approver/outside"] = inside, outside
		return m
	}
	everyone := map[string]int{"anonymous": 401, "*": 200}
	// withManager adds the program manager (held at the province) to a reader map.
	withManager := func(m map[string]int, inside, outside int) map[string]int {
		m["program_manager/inside"], m["program_manager/outside"] = inside, outside
		return m
	}
	managers := func(inside, outside int) map[string]int {
		return withManager(map[string]int{"anonymous": 401, "*": 403}, inside, outside)
	}
	budgetReaders := func(inside, outside int) map[string]int {
		m := withManager(readers(inside, outside), inside, outside)
		m["commune_worker/inside"], m["commune_worker/outside"] = 403, 403
		return m
	}
	matrix := map[string]entry{
		"GET /api/v1/programs": {request{"GET", "/api/v1/programs", nil}, withManager(readers(200, 200), 200, 200)},
		"POST /api/v1/programs": {request{"POST", "/api/v1/programs", map[string]any{"code": "mx_gift", "name_vi": "Quà", "name_en": "Gift",
			"legal_basis": "Kế hoạch tỉnh", "kind": "gift", "level": "household", "area_code": "91", "rule": []map[string]string{
				{"when": `household.classification == "poor"`, "because_vi": "hộ nghèo", "because_en": "poor"}}}}, managers(201, 403)},
		"GET /api/v1/programs/:code":   {request{"GET", "/api/v1/programs/bhyt_poor", nil}, withManager(readers(200, 200), 200, 200)},
		"PATCH /api/v1/programs/:code": {request{"PATCH", "/api/v1/programs/mx_gift", map[string]any{}}, managers(428, 428)},
		"GET /api/v1/programs/:code/campaigns": {request{"GET", "/api/v1/programs/holiday_gift/campaigns", nil},
			withManager(readers(200, 200), 200, 200)},
		"POST /api/v1/programs/:code/campaigns": {request{"POST", "/api/v1/programs/holiday_gift/campaigns", map[string]any{"name": "Tết",
			"area_code": "91", "starts_on": "2026-01-20", "ends_on": "2026-02-15", "package_amount": 700000}}, managers(201, 403)},
		"PATCH /api/v1/programs/:code/campaigns/:id": {request{"PATCH", "/api/v1/programs/holiday_gift/campaigns/" + uuid.NewString(),
			map[string]any{}}, managers(428, 428)},
		"GET /api/v1/programs/:code/budgets": {request{"GET", "/api/v1/programs/housing_new/budgets", nil}, budgetReaders(200, 200)},
		"PUT /api/v1/programs/:code/budgets/:area/:year": {request{"PUT", "/api/v1/programs/housing_new/budgets/91/2026",
			map[string]any{"amount": 1_000_000_000}}, managers(200, 403)},
		"GET /api/v1/programs/:code/gaps": {request{"GET", "/api/v1/programs/bhyt_poor/gaps?area=30791", nil},
			withManager(readers(200, 404), 200, 404)},
		"GET /api/v1/households/:id/eligibility": {request{"GET", hh + "/eligibility", nil}, withManager(readers(200, 404), 200, 404)},
		"POST /api/v1/enrollments": {request{"POST", "/api/v1/enrollments", map[string]any{"program_code": "electricity",
			"household_id": seeded.ID, "starts_on": "2026-01-01"}}, workers(201, 404)},
		"GET /api/v1/enrollments":               {request{"GET", "/api/v1/enrollments", nil}, withManager(readers(200, 200), 200, 200)},
		"GET /api/v1/enrollments/:id":           {request{"GET", en, nil}, withManager(readers(200, 404), 200, 404)},
		"POST /api/v1/enrollments/:id/resubmit": {request{"POST", en + "/resubmit", nil}, workers(409, 404)},
		"POST /api/v1/enrollments/:id/approve":  {request{"POST", nobody + "/approve", nil}, approvers(404, 404)},
		"POST /api/v1/enrollments/:id/return":   {request{"POST", nobody + "/return", map[string]any{"reason": "x"}}, approvers(404, 404)},
		"POST /api/v1/enrollments/:id/reject":   {request{"POST", nobody + "/reject", map[string]any{"reason": "x"}}, approvers(404, 404)},
		"POST /api/v1/enrollments/:id/end": {request{"POST", en + "/end", map[string]any{"date": "2026-06-01", "reason": "x"}},
			approvers(409, 404)},
		"POST /api/v1/enrollments/:id/deliveries": {request{"POST", en + "/deliveries", map[string]any{"record": map[string]any{}}},
			workers(409, 404)},
		"GET /api/v1/enrollments/:id/deliveries": {request{"GET", en + "/deliveries", nil}, withManager(readers(200, 404), 200, 404)},
		"GET /api/v1/deliveries/expiring-cards":  {request{"GET", "/api/v1/deliveries/expiring-cards", nil}, withManager(readers(200, 200), 200, 200)},
		"GET /api/v1/reports/poverty": {request{"GET", "/api/v1/reports/poverty?area=914", nil},
			withManager(readers(200, 404), 200, 404)},
		"GET /api/v1/reports/support": {request{"GET", "/api/v1/reports/support?area=914", nil},
			withManager(readers(200, 404), 200, 404)},
		"GET /api/v1/reports/targets": {request{"GET", "/api/v1/reports/targets?area=914", nil},
			withManager(readers(200, 404), 200, 404)},
		"GET /api/v1/reports/designations": {request{"GET", "/api/v1/reports/designations?area=914", nil},
			withManager(readers(200, 404), 200, 404)},
		"GET /api/v1/reports/trend": {request{"GET", "/api/v1/reports/trend?area=914&from=2024", nil},
			withManager(readers(200, 404), 200, 404)},
		"GET /api/v1/reports/complaints": {request{"GET", "/api/v1/reports/complaints?area=914", nil},
			withManager(readers(200, 404), 200, 404)},
		"GET /api/v1/reports/inbox": {request{"GET", "/api/v1/reports/inbox", nil}, withManager(readers(200, 200), 200, 200)},
		"POST /api/v1/reports/targets": {request{"POST", "/api/v1/reports/targets", map[string]any{"area_code": "914", "metric": "poverty_rate",
			"year": 2026, "value": 5}}, func() map[string]int {
			m := managers(200, 404)
			m["district_approver/inside"], m["district_approver/outside"] = 200, 404
			return m
		}()},
		"GET /api/v1/reports/lists/:kind": {request{"GET", "/api/v1/reports/lists/poor?area=914", nil},
			withManager(readers(200, 404), 200, 404)},
		"POST /api/v1/imports":              {request{"POST", "/api/v1/imports", nil}, workers(422, 422)},
		"GET /api/v1/imports/template.xlsx": {request{"GET", "/api/v1/imports/template.xlsx", nil}, workers(200, 200)},
		"GET /api/v1/imports/:id":           {request{"GET", "/api/v1/imports/" + uuid.NewString(), nil}, workers(404, 404)},
		"GET /api/v1/imports/:id/problems":  {request{"GET", "/api/v1/imports/" + uuid.NewString() + "/problems", nil}, workers(404, 404)},
		"GET /api/v1/poverty-standards":     {request{"GET", "/api/v1/poverty-standards", nil}, everyone},
		// tus discovery describes the protocol to anyone; the rest needs attachment permissions.
		"OPTIONS /api/v1/uploads": {request{"OPTIONS", "/api/v1/uploads", nil}, map[string]int{"anonymous": 200, "*": 200}},
		// No Upload-Length: refused before any scope question.
		"POST /api/v1/uploads":                  {request{"POST", "/api/v1/uploads", nil}, workers(422, 422)},
		"HEAD /api/v1/uploads/:id":              {request{"HEAD", upload, nil}, workers(404, 404)},
		"PATCH /api/v1/uploads/:id":             {request{"PATCH", upload, nil}, workers(404, 404)},
		"DELETE /api/v1/uploads/:id":            {request{"DELETE", upload, nil}, workers(404, 404)},
		"POST /api/v1/attachments":              {request{"POST", "/api/v1/attachments", map[string]string{"upload_id": "x"}}, workers(404, 404)},
		"GET /api/v1/attachments":               {request{"GET", "/api/v1/attachments", nil}, readers(200, 200)},
		"GET /api/v1/attachments/:id":           {request{"GET", att, nil}, readers(200, 404)},
		"GET /api/v1/attachments/:id/content":   {request{"GET", att + "/content", nil}, readers(200, 404)},
		"GET /api/v1/attachments/:id/thumbnail": {request{"GET", att + "/thumbnail", nil}, readers(200, 404)},
		"POST /api/v1/attachments/:id/archive":  {request{"POST", att + "/archive", map[string]string{"reason": "x"}}, workers(428, 428)},
		"GET /api/v1/poverty-standards/:code":   {request{"GET", "/api/v1/poverty-standards/ND07-2021", nil}, everyone},
		"POST /api/v1/poverty-standards": {request{"POST", "/api/v1/poverty-standards", map[string]any{"code": "KG-2030",
			"name": "Chuẩn nghèo tỉnh Kiên Giang 2030", "legal_source": "Nghị quyết HĐND tỉnh (thử)", "area_code": "91",
			"valid_from": "2030-01-01", "valid_to": "2030-12-31", "income_line_rural": 2_400_000, "income_line_urban": 3_000_000,
			"average_max_rural": 3_600_000, "average_max_urban": 4_500_000}}, func() map[string]int {
			m := map[string]int{"anonymous": 401, "*": 403}
			m["program_manager/inside"] = 201
			return m
		}()},
		"POST /api/v1/households/:id/assessments": {request{"POST", hh + "/assessments", map[string]any{"review_id": review.ID,
			"income_per_person": 1_000_000, "answers": apptest.WorkerAnswers()}}, workers(409, 404)},
		"GET /api/v1/households/:id/assessments": {request{"GET", hh + "/assessments", nil}, readers(200, 200)},
		"GET /api/v1/assessments/:id":            {request{"GET", "/api/v1/assessments/" + assessed.ID, nil}, readers(200, 404)},
		"PATCH /api/v1/assessments/:id":          {request{"PATCH", "/api/v1/assessments/" + assessed.ID, map[string]any{}}, workers(428, 428)},
		"POST /api/v1/reviews": {request{"POST", "/api/v1/reviews", map[string]any{"kind": "periodic", "commune_code": "30791", "year": 2025}},
			workers(201, 403)},
		"GET /api/v1/reviews":                     {request{"GET", "/api/v1/reviews", nil}, readers(200, 200)},
		"GET /api/v1/reviews/:id":                 {request{"GET", rv, nil}, readers(200, 404)},
		"GET /api/v1/reviews/:id/assessments":     {request{"GET", rv + "/assessments", nil}, readers(200, 404)},
		"GET /api/v1/reviews/:id/lists/:kind":     {request{"GET", rv + "/lists/newly_poor", nil}, readers(409, 404)},
		"POST /api/v1/reviews/:id/record-meeting": {request{"POST", rv + "/record-meeting", map[string]any{}}, workers(422, 422)},
		"POST /api/v1/reviews/:id/post":           {request{"POST", rv + "/post", map[string]any{}}, workers(422, 422)},
		"POST /api/v1/reviews/:id/objections":     {request{"POST", rv + "/objections", map[string]any{}}, workers(422, 422)},
		"POST /api/v1/reviews/:id/objections/:objection/resolve": {request{"POST", rv + "/objections/" + uuid.NewString() + "/resolve",
			map[string]any{"outcome": "dismissed", "resolution": "x"}}, workers(409, 404)},
		"POST /api/v1/reviews/:id/submit": {request{"POST", rv + "/submit", nil}, workers(409, 404)},
		"POST /api/v1/reviews/:id/reopen": {request{"POST", rv + "/reopen", map[string]any{"reason": "x"}}, workers(409, 404)},
		"POST /api/v1/reviews/:id/recognize": {request{"POST", rv + "/recognize", map[string]any{"decision_number": "1/QĐ-UBND",
			"decision_date": "2026-11-01", "signer": "x"}}, approvers(409, 404)},
		"POST /api/v1/reviews/:id/return":              {request{"POST", rv + "/return", map[string]any{"reason": "x"}}, approvers(409, 404)},
		"POST /api/v1/households":                      {request{"POST", "/api/v1/households", apptest.HouseholdBody("MX-2", "30791", "")}, workers(201, 403)},
		"GET /api/v1/households":                       {request{"GET", "/api/v1/households", nil}, readers(200, 200)},
		"PATCH /api/v1/households/:id/members/:member": {request{"PATCH", hh + "/members/" + uuid.NewString(), map[string]string{}}, workers(428, 428)},
		"GET /api/v1/members":                          {request{"GET", "/api/v1/members", nil}, readers(200, 200)},
		"GET /api/v1/duplicates":                       {request{"GET", "/api/v1/duplicates", nil}, readers(200, 200)},
		"POST /api/v1/duplicates/:id/resolve": {request{"POST", "/api/v1/duplicates/" + uuid.NewString() + "/resolve",
			map[string]string{"resolution": "different"}}, workers(404, 404)},
		"POST /api/v1/households/:id/split":    {request{"POST", hh + "/split", map[string]any{}}, workers(428, 428)},
		"POST /api/v1/households/:id/transfer": {request{"POST", hh + "/transfer", map[string]any{}}, workers(428, 428)},
		"GET /api/v1/households/:id/history":   {request{"GET", hh + "/history", nil}, readers(200, 404)},
		"POST /api/v1/households/:id/head":     {request{"POST", hh + "/head", map[string]string{"member_id": "x"}}, workers(428, 428)},
		"POST /api/v1/households/:id/members/:member/status": {request{"POST", hh + "/members/" + uuid.NewString() + "/status",
			map[string]string{"status": "deceased"}}, workers(428, 428)},
		"GET /api/v1/sync/changes":            {request{"GET", "/api/v1/sync/changes", nil}, readers(200, 200)},
		"GET /api/v1/households/:id":          {request{"GET", hh, nil}, readers(200, 404)},
		"PATCH /api/v1/households/:id":        {request{"PATCH", hh, map[string]string{"village": "Ấp Mới"}}, workers(428, 428)},
		"POST /api/v1/households/:id/archive": {request{"POST", hh + "/archive", map[string]string{"reason": "x"}}, workers(428, 428)},
		"POST /api/v1/households/:id/members": {request{"POST", hh + "/members", map[string]string{"full_name": "x"}}, workers(428, 428)},
		"GET /api/v1/users":                   {request{"GET", "/api/v1/users", nil}, adminsOnly(200, 200)},
		"POST /api/v1/users": {request{"POST", "/api/v1/users", map[string]any{"username": "new-worker", "full_name": "Nguyễn Văn Mới",
			"assignments": []map[string]string{{"role": "commune_worker", "area_code": "30791"}}}}, adminsOnly(201, 403)},
		"GET /api/v1/users/:id":   {request{"GET", users, nil}, adminsOnly(200, 404)},
		"PATCH /api/v1/users/:id": {request{"PATCH", users, map[string]string{"phone": "0912345678"}}, adminsOnly(428, 428)},
		"POST /api/v1/users/:id/disable": {request{"POST", users + "/disable", map[string]string{"reason": "left the commune office"}},
			adminsOnly(200, 404)},
		"POST /api/v1/users/:id/enable":         {request{"POST", users + "/enable", nil}, adminsOnly(200, 404)},
		"POST /api/v1/users/:id/reset-password": {request{"POST", users + "/reset-password", nil}, adminsOnly(200, 404)},
		"POST /api/v1/users/:id/assignments": {request{"POST", users + "/assignments", map[string]string{"role": "commune_worker", "area_code": "30793"}},
			adminsOnly(202, 403)},
		"POST /api/v1/users/:id/assignments/:assignment/approve": {request{"POST", toApprove + "/approve", nil}, adminsOnly(200, 404)},
		"POST /api/v1/users/:id/assignments/:assignment/reject": {request{"POST", toReject + "/reject", map[string]string{"reason": "not needed"}},
			adminsOnly(200, 404)},
		"DELETE /api/v1/users/:id/assignments/:assignment": {request{"DELETE", users + "/assignments/" + victimAssignment, nil},
			adminsOnly(200, 404)},
		"POST /api/v1/auth/login": {request{"POST", "/api/v1/auth/login", map[string]string{}},
			map[string]int{"anonymous": 422, "*": 422}},
		"POST /api/v1/auth/refresh": {request{"POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": "x"}},
			map[string]int{"anonymous": 401, "*": 401}},
		"POST /api/v1/auth/logout": {request{"POST", "/api/v1/auth/logout", map[string]string{"refresh_token": "x"}},
			map[string]int{"anonymous": 204, "*": 204}},
		"GET /api/v1/me":               {request{"GET", "/api/v1/me", nil}, map[string]int{"anonymous": 401, "*": 200}},
		"GET /api/v1/inbox":            {request{"GET", "/api/v1/inbox", nil}, map[string]int{"anonymous": 401, "*": 200}},
		"GET /api/v1/me/notifications": {request{"GET", "/api/v1/me/notifications", nil}, map[string]int{"anonymous": 401, "*": 200}},
		"PUT /api/v1/me/notifications": {request{"PUT", "/api/v1/me/notifications", map[string]any{"language": "fr"}},
			map[string]int{"anonymous": 401, "*": 422}},
		"POST /api/v1/complaints":            {request{"POST", "/api/v1/complaints", complaintBody}, handlers(201, 422)},
		"GET /api/v1/complaints":             {request{"GET", "/api/v1/complaints", nil}, readers(200, 200)},
		"GET /api/v1/complaints/:id":         {request{"GET", kn, nil}, readers(200, 404)},
		"POST /api/v1/complaints/:id/accept": {request{"POST", kn + "/accept", map[string]any{"accepted_on": "2999-01-01"}}, handlers(422, 422)},
		"POST /api/v1/complaints/:id/refuse": {request{"POST", kn + "/refuse", map[string]any{}}, func() map[string]int {
			m := handlers(422, 404)
			m["district_approver/inside"] = 403 // the district handles the commune's complaints' appeals, not the complaints
			return m
		}()},
		"POST /api/v1/complaints/:id/steps":  {request{"POST", kn + "/steps", map[string]any{}}, handlers(422, 422)},
		"POST /api/v1/complaints/:id/decide": {request{"POST", kn + "/decide", map[string]any{"decided_on": "2999-01-01"}}, handlers(422, 422)},
		"POST /api/v1/complaints/:id/appeal": {request{"POST", kn + "/appeal", map[string]any{}}, handlers(422, 422)},
		// A system administrator reads none of the records the summary counts.
		"GET /api/v1/inbox/summary": {request{"GET", "/api/v1/inbox/summary", nil}, map[string]int{"anonymous": 401,
			"system_admin/inside": 403, "system_admin/outside": 403, "*": 200}},
		// A new password too short: refused before the current one is checked (wrong ones count against
		// the login throttle, and every caller here comes from the same address).
		"POST /api/v1/me/password": {request{"POST", "/api/v1/me/password", map[string]string{"current_password": "wrong", "new_password": "short"}},
			map[string]int{"anonymous": 401, "*": 422}},
		"GET /api/v1/areas":       {request{"GET", "/api/v1/areas?parent=914", nil}, map[string]int{"anonymous": 401, "*": 200}},
		"GET /api/v1/areas/:code": {request{"GET", "/api/v1/areas/30791?edition=2025-03", nil}, map[string]int{"anonymous": 401, "*": 200}},
		// A dry run only: a started reorganization would move the matrix's own data.
		"POST /api/v1/reorganizations": {request{"POST", "/api/v1/reorganizations", map[string]any{"to_edition": "2026-04", "dry_run": true}},
			adminsOnly(200, 200)},
		"GET /api/v1/reorganizations/:id": {request{"GET", "/api/v1/reorganizations/" + uuid.NewString(), nil},
			adminsOnly(404, 404)},
		"GET /api/v1/reorganizations/:id/queue": {request{"GET", "/api/v1/reorganizations/" + uuid.NewString() + "/queue", nil},
			map[string]int{"anonymous": 401, "*": 403, "commune_worker/inside": 404, "commune_worker/outside": 404,
				"province_auditor/inside": 404, "province_auditor/outside": 404}},
		"POST /api/v1/reorganizations/:id/queue/:household": {request{"POST", "/api/v1/reorganizations/" + uuid.NewString() + "/queue/" + uuid.NewString(),
			map[string]string{"commune_code": "30793"}}, workers(404, 404)},
		"GET /api/v1/areas/:code/designations": {request{"GET", "/api/v1/areas/30791/designations?edition=2025-03", nil},
			map[string]int{"anonymous": 401, "*": 200}},
		"GET /api/v1/area-editions": {request{"GET", "/api/v1/area-editions", nil}, map[string]int{"anonymous": 401, "*": 200}},
		// Outside auditors get an answer, with none of the province's rows in it (checked below).
		"GET /api/v1/audit/events":     {request{"GET", "/api/v1/audit/events", nil}, auditorsOnly(200, 200)},
		"GET /api/v1/audit/events/:id": {request{"GET", "/api/v1/audit/events/" + eventID, nil}, auditorsOnly(200, 404)},
		"GET /api/v1/audit/access":     {request{"GET", "/api/v1/audit/access?subject_id=" + subject.String(), nil}, auditorsOnly(200, 200)},
		"GET /api/v1/audit/verify": {request{"GET", "/api/v1/audit/verify", nil}, func() map[string]int {
			m := auditorsOnly(200, 200)
			m["system_admin/inside"], m["system_admin/outside"] = 200, 200
			return m
		}()},
	}

	for _, route := range a.APIRoutes() {
		key := route.Method + " " + route.Path
		e, ok := matrix[key]
		if !ok {
			t.Errorf("route %s has no entry in the authorization matrix", key)
			continue
		}
		delete(matrix, key)
		for caller, token := range tokens {
			want, ok := e.expect[caller]
			if !ok {
				want = e.expect["*"]
			}
			w := apptest.Send(t, h, e.req.method, e.req.path, token, e.req.body)
			if w.Code != want {
				t.Errorf("%s as %s: got %d, want %d: %s", key, caller, w.Code, want, w.Body.String())
			}
			if caller == "province_auditor/outside" && w.Code == 200 && strings.Contains(w.Body.String(), subject.String()) {
				t.Errorf("%s as %s leaks data from outside the caller's area", key, caller)
			}
		}
	}
	for key := range matrix {
		t.Errorf("matrix entry %s matches no route", key)
	}
}
