package complaint_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/platform/vn"
)

type complaintOut struct {
	ID          string `json:"id"`
	Reference   string `json:"reference"`
	Instance    int    `json:"instance"`
	AppealOf    string `json:"appeal_of"`
	HandlerCode string `json:"handler_code"`
	State       string `json:"state"`
	AcceptBy    string `json:"accept_by"`
	SettleBy    string `json:"settle_by"`
	Overdue     bool   `json:"overdue"`
	Remote      bool   `json:"remote"`
	Outcome     string `json:"outcome"`
	Version     int    `json:"version"`
	Steps       []struct {
		Kind string `json:"kind"`
	} `json:"steps"`
}

type inboxOut struct {
	Items []struct {
		Kind      string `json:"kind"`
		SubjectID string `json:"subject_id"`
		Overdue   bool   `json:"overdue"`
	} `json:"items"`
}

// A complaint through the API: received for a household with a reference
// and its limit, overdue in the handler's inbox; accepted, worked on and
// settled by a reasoned decision — never by the official it is about;
// appealed to the district, which alone may handle the appeal; final after
// that; remote communes get longer limits; a refusal needs its reason; an
// appeal after its limit is late. Every step is audited; another commune
// sees nothing.
func TestComplaintFlow(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h, pool := a.Handler(), a.DB()
	workerID := apptest.CreateUser(t, a, "kn-worker", "commune_worker", "30791", false)
	worker := apptest.Login(t, h, "kn-worker", apptest.Password).AccessToken
	colleague := apptest.Token(t, a, "kn-colleague", "commune_worker", "30791")
	other := apptest.Token(t, a, "kn-other", "commune_worker", "31036")
	approver := apptest.Token(t, a, "kn-approver", "district_approver", "914")
	auditor := apptest.Token(t, a, "kn-auditor", "province_auditor", "91")
	hh := apptest.Decode[struct {
		ID string `json:"id"`
	}](t, apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("KN-1", "30791", "")), 201)
	today := vn.Today(time.Now())
	day := func(d int) string { return today.AddDate(0, 0, d).Format(time.DateOnly) }

	if w := apptest.Send(t, h, "POST", "/api/v1/complaints", worker, map[string]any{"household_id": hh.ID, "channel": "fax",
		"subject_kind": "staff_conduct", "complainant_name": "Nguyễn Văn An"}); w.Code != 422 || !strings.Contains(w.Body.String(), `"field":"channel"`) ||
		!strings.Contains(w.Body.String(), `"field":"content"`) || !strings.Contains(w.Body.String(), `"field":"respondent_user_id"`) {
		t.Fatalf("a bad intake: %d %s", w.Code, w.Body)
	}
	// The record it is about must be the household's.
	if w := apptest.Send(t, h, "POST", "/api/v1/complaints", worker, map[string]any{"household_id": hh.ID, "complainant_name": "Nguyễn Văn An",
		"channel": "phone", "subject_kind": "enrollment", "subject_id": hh.ID, "content": "x"}); w.Code != 422 ||
		!strings.Contains(w.Body.String(), `"field":"subject_id"`) {
		t.Fatalf("a subject that is not the household's: %d %s", w.Code, w.Body)
	}
	// About the worker's own conduct, received 12 days ago: two days overdue for acceptance.
	body := map[string]any{"household_id": hh.ID, "complainant_name": "Nguyễn Văn An", "channel": "in_person", "received_on": day(-12),
		"subject_kind": "staff_conduct", "respondent_user_id": workerID, "content": "Cán bộ không tiếp nhận hồ sơ đề nghị rà soát của hộ tôi"}
	first := apptest.Decode[complaintOut](t, apptest.Send(t, h, "POST", "/api/v1/complaints", worker, body), 201)
	if first.Reference != "KN-30791-"+day(-12)[:4]+"-0001" || first.State != "received" || first.AcceptBy != day(-2) || !first.Overdue ||
		first.Remote || first.Instance != 1 {
		t.Fatalf("received: %+v", first)
	}
	path := "/api/v1/complaints/" + first.ID
	if w := apptest.Send(t, h, "GET", path, other, nil); w.Code != 404 {
		t.Fatalf("another commune read it: %d", w.Code)
	}
	for _, tok := range []string{auditor, approver} {
		if w := apptest.Send(t, h, "GET", path, tok, nil); w.Code != 200 {
			t.Fatalf("a supervisor reads it: %d", w.Code)
		}
	}
	// Who complained and why is personal: the reads are in the access log.
	for deadline := time.Now().Add(15 * time.Second); apptest.Scalar[int](t, pool, `SELECT count(*) FROM audit_access
		WHERE subject_type = 'complaint' AND subject_ids @> ARRAY[?::uuid]`, first.ID) < 2; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the reads of the complaint were not logged")
		}
	}
	in := apptest.Decode[inboxOut](t, apptest.Send(t, h, "GET", "/api/v1/inbox?kind=complaint_to_accept", worker, nil), 200)
	if len(in.Items) != 1 || in.Items[0].SubjectID != first.ID || !in.Items[0].Overdue {
		t.Fatalf("the worker's inbox: %+v", in)
	}

	// The district handles the commune's appeals, not its complaints.
	if w := apptest.Send(t, h, "POST", path+"/accept", approver, map[string]any{}); w.Code != 403 || apptest.ProblemCode(t, w) != "not_the_handler" {
		t.Fatalf("the district accepts a commune's complaint: %d %s", w.Code, w.Body)
	}
	accepted := apptest.Decode[complaintOut](t, apptest.Send(t, h, "POST", path+"/accept", worker, map[string]any{}), 200)
	if accepted.State != "accepted" || accepted.SettleBy != day(30) || accepted.Overdue {
		t.Fatalf("accepted: %+v", accepted)
	}
	if w := apptest.Send(t, h, "POST", path+"/accept", worker, map[string]any{}); w.Code != 409 || apptest.ProblemCode(t, w) != "complaint_state" {
		t.Fatalf("accepted twice: %d %s", w.Code, w.Body)
	}
	step := apptest.Decode[complaintOut](t, apptest.Send(t, h, "POST", path+"/steps", worker, map[string]any{"kind": "meeting",
		"summary": "Đối thoại với ông An tại UBND xã"}), 200)
	if len(step.Steps) != 1 || step.Steps[0].Kind != "meeting" {
		t.Fatalf("a meeting: %+v", step)
	}
	in = apptest.Decode[inboxOut](t, apptest.Send(t, h, "GET", "/api/v1/inbox?kind=complaint_to_settle", colleague, nil), 200)
	if len(in.Items) != 1 || in.Items[0].Overdue {
		t.Fatalf("the colleague's inbox: %+v", in)
	}
	decision := map[string]any{"outcome": "rejected", "reasoning": "Hồ sơ đã được tiếp nhận ngày 02/11; không có căn cứ."}
	if w := apptest.Send(t, h, "POST", path+"/decide", worker, decision); w.Code != 403 || apptest.ProblemCode(t, w) != "self_decision" {
		t.Fatalf("a self-decision: %d %s", w.Code, w.Body)
	}
	if w := apptest.Send(t, h, "POST", path+"/decide", colleague, map[string]any{"outcome": "rejected"}); w.Code != 422 ||
		!strings.Contains(w.Body.String(), `"field":"reasoning"`) {
		t.Fatalf("a decision without reasons: %d %s", w.Code, w.Body)
	}
	settled := apptest.Decode[complaintOut](t, apptest.SendWith(t, h, "POST", path+"/decide", colleague, decision,
		map[string]string{"If-Match": `"3"`}), 200)
	if settled.State != "settled" || settled.Outcome != "rejected" {
		t.Fatalf("settled: %+v", settled)
	}

	// The appeal goes to the district (914): the commune cannot handle it.
	appeal := apptest.Decode[complaintOut](t, apptest.Send(t, h, "POST", path+"/appeal", worker, map[string]any{
		"content": "Tôi không đồng ý với quyết định giải quyết lần đầu"}), 201)
	if appeal.Instance != 2 || appeal.AppealOf != first.ID || appeal.HandlerCode != "914" || appeal.Reference != "KN-914-"+day(0)[:4]+"-0001" {
		t.Fatalf("the appeal: %+v", appeal)
	}
	apath := "/api/v1/complaints/" + appeal.ID
	if w := apptest.Send(t, h, "POST", apath+"/accept", worker, map[string]any{}); w.Code != 403 || apptest.ProblemCode(t, w) != "not_the_handler" {
		t.Fatalf("the commune accepts the appeal: %d %s", w.Code, w.Body)
	}
	if got := apptest.Decode[complaintOut](t, apptest.Send(t, h, "POST", apath+"/accept", approver, map[string]any{"complex": true}), 200); got.SettleBy != day(60) {
		t.Fatalf("a complex appeal: %+v", got)
	}
	apptest.Decode[complaintOut](t, apptest.Send(t, h, "POST", apath+"/decide", approver, map[string]any{"outcome": "partly_upheld",
		"reasoning": "Xã chậm tiếp nhận hồ sơ 5 ngày; yêu cầu rút kinh nghiệm."}), 200)
	if w := apptest.Send(t, h, "POST", apath+"/appeal", worker, map[string]any{"content": "lần ba"}); w.Code != 409 ||
		apptest.ProblemCode(t, w) != "complaint_final" {
		t.Fatalf("an appeal of an appeal: %d %s", w.Code, w.Body)
	}
	list := apptest.Decode[struct {
		Items []complaintOut `json:"items"`
	}](t, apptest.Send(t, h, "GET", "/api/v1/complaints?household="+hh.ID, worker, nil), 200)
	if len(list.Items) != 2 {
		t.Fatalf("the household's complaints: %+v", list.Items)
	}

	// In a zone III commune: 45 days at first instance. A refusal needs its reason.
	apptest.Exec(t, pool, `INSERT INTO area_designations (id, kind, zone, area_edition, area_code, area_path, valid_from, decision_number, decision_date)
		VALUES (gen_random_uuid(), 'ethnic_mountainous_zone', 'III', '2025-03', '30791', '91.914.30791', '2021-06-04', '861/QĐ-TTg', '2021-06-04')`)
	body["subject_kind"], body["respondent_user_id"], body["received_on"] = "classification", nil, day(0)
	remote := apptest.Decode[complaintOut](t, apptest.Send(t, h, "POST", "/api/v1/complaints", worker, body), 201)
	if !remote.Remote || !strings.HasSuffix(remote.Reference, "-0002") {
		t.Fatalf("a remote commune's complaint: %+v", remote)
	}
	if got := apptest.Decode[complaintOut](t, apptest.Send(t, h, "POST", "/api/v1/complaints/"+remote.ID+"/accept", worker, map[string]any{}), 200); got.SettleBy != day(45) {
		t.Fatalf("remote: %+v", got)
	}
	receive := func() string {
		return apptest.Decode[complaintOut](t, apptest.Send(t, h, "POST", "/api/v1/complaints", worker, body), 201).ID
	}
	refused := apptest.Decode[complaintOut](t, apptest.Send(t, h, "POST", "/api/v1/complaints", worker, body), 201)
	if w := apptest.Send(t, h, "POST", "/api/v1/complaints/"+refused.ID+"/refuse", worker, map[string]any{}); w.Code != 422 {
		t.Fatalf("a refusal without reason: %d %s", w.Code, w.Body)
	}
	if got := apptest.Decode[complaintOut](t, apptest.Send(t, h, "POST", "/api/v1/complaints/"+refused.ID+"/refuse", worker,
		map[string]any{"reason": "Đã hết thời hiệu khiếu nại (90 ngày)"}), 200); got.State != "not_accepted" {
		t.Fatalf("refused: %+v", got)
	}
	// Not settled in its time, a complaint may be appealed; the first
	// instance is then closed, and appealed once only.
	apptest.Exec(t, pool, `UPDATE complaints SET settle_by = ? WHERE id = ?`, today.AddDate(0, 0, -1), remote.ID)
	if got := apptest.Decode[complaintOut](t, apptest.Send(t, h, "GET", "/api/v1/complaints/"+remote.ID, worker, nil), 200); !got.Overdue {
		t.Fatalf("past its limit and not overdue: %+v", got)
	}
	if w := apptest.Send(t, h, "POST", "/api/v1/complaints/"+remote.ID+"/appeal", worker, map[string]any{"content": "quá hạn"}); w.Code != 201 {
		t.Fatalf("an appeal of an unsettled complaint: %d %s", w.Code, w.Body)
	}
	// Closed by its appeal, it is no longer overdue.
	if got := apptest.Decode[complaintOut](t, apptest.Send(t, h, "GET", "/api/v1/complaints/"+remote.ID, worker, nil), 200); got.Overdue {
		t.Fatalf("an appealed complaint still overdue: %+v", got)
	}
	if w := apptest.Send(t, h, "POST", "/api/v1/complaints/"+remote.ID+"/decide", colleague, decision); w.Code != 409 ||
		apptest.ProblemCode(t, w) != "complaint_state" {
		t.Fatalf("a decision after the appeal: %d %s", w.Code, w.Body)
	}
	if w := apptest.Send(t, h, "POST", "/api/v1/complaints/"+remote.ID+"/appeal", worker, map[string]any{"content": "lần nữa"}); w.Code != 409 ||
		apptest.ProblemCode(t, w) != "complaint_state" {
		t.Fatalf("a second appeal: %d %s", w.Code, w.Body)
	}
	// An appeal more than 45 days (remote) after the first decision is late.
	late := receive()
	apptest.Exec(t, pool, `UPDATE complaints SET state = 'accepted', accepted_on = ?, settle_by = ? WHERE id = ?`,
		today.AddDate(0, 0, -60), today.AddDate(0, 0, -50), late)
	remote.ID = late
	apptest.Exec(t, pool, `UPDATE complaints SET state = 'settled', decided_on = ?, outcome = 'rejected', reasoning = 'x' WHERE id = ?`,
		today.AddDate(0, 0, -46), remote.ID)
	if w := apptest.Send(t, h, "POST", "/api/v1/complaints/"+remote.ID+"/appeal", worker, map[string]any{"content": "muộn"}); w.Code != 422 ||
		!strings.Contains(w.Body.String(), `"code":"late"`) {
		t.Fatalf("a late appeal: %d %s", w.Code, w.Body)
	}
	for action, n := range map[string]int{"complaint.receive": 4, "complaint.accept": 3, "complaint.step": 1, "complaint.decide": 2,
		"complaint.appeal": 2, "complaint.not_accept": 1} {
		if got := apptest.CountEvents(t, a, action); got != n {
			t.Errorf("%d %s events, want %d", got, action, n)
		}
	}
}

// The time to complain: 90 days from when the person learned of the
// decision or act. A complaint received later is recorded all the same,
// marked filed late; it is accepted only with the reason the time did not
// run (else refused). One in time is accepted as any other; the day learned
// may not come after the day received.
func TestFilingPeriod(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	worker := apptest.Token(t, a, "fp-worker", "commune_worker", "30791")
	hh := apptest.Decode[struct {
		ID string `json:"id"`
	}](t, apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("FP-1", "30791", "")), 201)
	today := vn.Today(time.Now())
	day := func(d int) string { return today.AddDate(0, 0, d).Format(time.DateOnly) }
	intake := func(known string) map[string]any {
		return map[string]any{"household_id": hh.ID, "complainant_name": "Phạm Thị Dung", "channel": "letter", "subject_kind": "classification",
			"known_on": known, "content": "Hộ tôi bị đưa ra khỏi danh sách hộ cận nghèo"}
	}
	if w := apptest.Send(t, h, "POST", "/api/v1/complaints", worker, intake(day(1))); w.Code != 422 ||
		!strings.Contains(w.Body.String(), `"field":"known_on"`) {
		t.Fatalf("learned after it was received: %d %s", w.Code, w.Body)
	}
	type filed struct {
		ID         string `json:"id"`
		FileBy     string `json:"file_by"`
		FiledLate  bool   `json:"filed_late"`
		LateReason string `json:"late_reason"`
		State      string `json:"state"`
	}
	late := apptest.Decode[filed](t, apptest.Send(t, h, "POST", "/api/v1/complaints", worker, intake(day(-100))), 201)
	if !late.FiledLate || late.FileBy != day(-10) || late.State != "received" {
		t.Fatalf("filed 100 days after learning: %+v", late)
	}
	path := "/api/v1/complaints/" + late.ID + "/accept"
	if w := apptest.Send(t, h, "POST", path, worker, map[string]any{}); w.Code != 422 ||
		!strings.Contains(w.Body.String(), `"code":"filing_period_passed"`) {
		t.Fatalf("accepting a late complaint without a reason: %d %s", w.Code, w.Body)
	}
	got := apptest.Decode[filed](t, apptest.Send(t, h, "POST", path, worker, map[string]any{
		"late_reason": "Bà Dung nằm viện từ tháng 8 đến tháng 10 (giấy ra viện kèm theo)"}), 200)
	if got.State != "accepted" || !strings.HasPrefix(got.LateReason, "Bà Dung nằm viện") {
		t.Fatalf("accepted with its reason: %+v", got)
	}
	inTime := apptest.Decode[filed](t, apptest.Send(t, h, "POST", "/api/v1/complaints", worker, intake(day(-89))), 201)
	if inTime.FiledLate || inTime.FileBy != day(1) {
		t.Fatalf("filed in time: %+v", inTime)
	}
	if got := apptest.Decode[filed](t, apptest.Send(t, h, "POST", "/api/v1/complaints/"+inTime.ID+"/accept", worker, map[string]any{}), 200); got.State != "accepted" || got.LateReason != "" {
		t.Fatalf("accepting one in time: %+v", got)
	}
}
