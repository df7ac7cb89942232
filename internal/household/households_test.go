package household_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/household"
)

func TestHouseholdRegistration(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "hh-worker", "commune_worker", "30791", false)
	apptest.CreateUser(t, a, "hh-worker2", "commune_worker", "31036", false)
	apptest.CreateUser(t, a, "hh-auditor", "province_auditor", "91", false)
	worker := apptest.Login(t, h, "hh-worker", apptest.Password).AccessToken
	worker2 := apptest.Login(t, h, "hh-worker2", apptest.Password).AccessToken
	auditor := apptest.Login(t, h, "hh-auditor", apptest.Password).AccessToken

	w := apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("VP-0001", "30791", "091078001234"))
	if w.Code != 201 || w.Header().Get("ETag") != `"1"` {
		t.Fatalf("create: %d %s", w.Code, w.Body.String())
	}
	hh := apptest.DecodeHousehold(t, w)
	if len(hh.Members) != 4 || hh.Members[0].IDNumber != "0*********34" || hh.Members[3].BirthDate != "2014" {
		t.Fatalf("created: %s", w.Body.String())
	}
	path := "/api/v1/households/" + hh.ID

	// The ID number is encrypted at rest: the database never holds it in clear.
	clear := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM members WHERE position('091078001234' in encode(id_sealed, 'escape')) > 0`)
	inAudit := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM audit_events WHERE doc::text LIKE '%091078001234%'`)
	if clear != 0 || inAudit != 0 {
		t.Fatal("a full ID number reached the database or the audit trail")
	}

	// The same ID number again: a pointer for a caller who may see it, no details for one who may not.
	w = apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("VP-0002", "30791", "091078001234"))
	if w.Code != 409 || !strings.Contains(w.Body.String(), hh.ID) || !strings.Contains(w.Body.String(), `"members[0].id_number"`) {
		t.Fatalf("duplicate ID in scope: %d %s", w.Code, w.Body.String())
	}
	w = apptest.Send(t, h, "POST", "/api/v1/households", worker2, apptest.HouseholdBody("DHA-0001", "31036", "091078001234"))
	if w.Code != 409 || strings.Contains(w.Body.String(), hh.ID) || !strings.Contains(w.Body.String(), "id_registered_elsewhere") {
		t.Fatalf("duplicate ID out of scope: %d %s", w.Code, w.Body.String())
	}
	// The same code in the same commune.
	if w := apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("VP-0001", "30791", "")); w.Code != 409 {
		t.Fatalf("duplicate code: %d", w.Code)
	}

	// Reveal: the worker may, the auditor may not; masked by default.
	if w := apptest.Send(t, h, "GET", path+"?reveal=id_number", worker, nil); w.Code != 200 || !strings.Contains(w.Body.String(), `"091078001234"`) {
		t.Fatalf("reveal as worker: %d %s", w.Code, w.Body.String())
	}
	if w := apptest.Send(t, h, "GET", path+"?reveal=id_number", auditor, nil); w.Code != 403 {
		t.Fatalf("reveal as auditor: %d", w.Code)
	}
	if w := apptest.Send(t, h, "GET", path, auditor, nil); w.Code != 200 || strings.Contains(w.Body.String(), "091078001234") {
		t.Fatalf("auditor read: %d", w.Code)
	}

	// Every read is in the access log.
	var flushErr error
	deadline := time.Now().Add(5 * time.Second)
	for {
		w = apptest.Send(t, h, "GET", "/api/v1/audit/access?subject_id="+hh.ID, auditor, nil)
		if strings.Count(w.Body.String(), `"subject_type":"household"`) >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(w.Body.String(), `"hh-worker"`) || !strings.Contains(w.Body.String(), `"hh-auditor"`) {
		t.Fatalf("access log: %v %s", flushErr, w.Body.String())
	}

	// Updates need If-Match; a stale one loses nothing.
	if w := apptest.Send(t, h, "PATCH", path, worker, map[string]string{"village": "Ấp Mới"}); w.Code != 428 {
		t.Fatalf("without If-Match: %d", w.Code)
	}
	w = apptest.SendWith(t, h, "PATCH", path, worker, map[string]string{"village": "Ấp Mới"}, map[string]string{"If-Match": `"1"`})
	if w.Code != 200 || apptest.DecodeHousehold(t, w).Village != "Ấp Mới" || w.Header().Get("ETag") != `"2"` {
		t.Fatalf("update: %d %s", w.Code, w.Body.String())
	}
	w = apptest.SendWith(t, h, "PATCH", path, worker, map[string]string{"village": "Ấp Cũ"}, map[string]string{"If-Match": `"1"`})
	if w.Code != 412 {
		t.Fatalf("stale If-Match: %d", w.Code)
	}
	if got := apptest.DecodeHousehold(t, apptest.Send(t, h, "GET", path, worker, nil)); got.Village != "Ấp Mới" || got.Version != 2 {
		t.Fatalf("after a stale update: %+v", got)
	}

	// A newborn joins; a second head is refused.
	w = apptest.SendWith(t, h, "POST", path+"/members", worker, map[string]any{"full_name": "Nguyễn Văn Em", "birth_date": time.Now().Format("2006-01-02"),
		"sex": "male", "relationship": "grandchild"}, map[string]string{"If-Match": `"2"`})
	if w.Code != 201 || len(apptest.DecodeHousehold(t, w).Members) != 5 {
		t.Fatalf("add member: %d %s", w.Code, w.Body.String())
	}
	w = apptest.SendWith(t, h, "POST", path+"/members", worker, map[string]any{"full_name": "Lê Văn Khác", "birth_date": "1970",
		"sex": "male", "relationship": "head"}, map[string]string{"If-Match": `"3"`})
	if w.Code != 422 || !strings.Contains(w.Body.String(), `"relationship"`) {
		t.Fatalf("second head: %d %s", w.Code, w.Body.String())
	}

	// Archive with a reason; an archived household takes no more changes.
	w = apptest.SendWith(t, h, "POST", path+"/archive", worker, map[string]string{"reason": "cả hộ chuyển đi nơi khác"}, map[string]string{"If-Match": `"3"`})
	if w.Code != 200 || apptest.DecodeHousehold(t, w).Status != "archived" {
		t.Fatalf("archive: %d %s", w.Code, w.Body.String())
	}
	if w := apptest.SendWith(t, h, "PATCH", path, worker, map[string]string{"village": "x"}, map[string]string{"If-Match": `"4"`}); w.Code != 409 {
		t.Fatalf("change after archive: %d", w.Code)
	}
	// Out of scope is not found.
	if w := apptest.Send(t, h, "GET", path, worker2, nil); w.Code != 404 {
		t.Fatalf("other commune's worker: %d", w.Code)
	}
}

func TestHouseholdValidation(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "val-worker", "commune_worker", "30791", false)
	worker := apptest.Login(t, h, "val-worker", apptest.Password).AccessToken
	future := time.Now().AddDate(0, 0, 3).Format("2006-01-02")
	cases := []struct {
		name  string
		edit  func(b map[string]any)
		field string
		code  string
	}{
		{"no code", func(b map[string]any) { b["code"] = "" }, "code", "invalid"},
		{"no village", func(b map[string]any) { b["village"] = "  " }, "village", "required"},
		{"area type", func(b map[string]any) { b["area_type"] = "suburban" }, "area_type", "invalid"},
		{"phone", func(b map[string]any) { b["phone"] = "12345" }, "phone", "invalid"},
		{"name", func(b map[string]any) { apptest.Member(b, 1)["full_name"] = " " }, "members[1].full_name", "required"},
		{"sex", func(b map[string]any) { apptest.Member(b, 1)["sex"] = "x" }, "members[1].sex", "invalid"},
		{"birth format", func(b map[string]any) { apptest.Member(b, 2)["birth_date"] = "02/05/2008" }, "members[2].birth_date", "invalid"},
		{"birth in future", func(b map[string]any) { apptest.Member(b, 2)["birth_date"] = future }, "members[2].birth_date", "future"},
		{"relationship", func(b map[string]any) { apptest.Member(b, 2)["relationship"] = "cousin" }, "members[2].relationship", "invalid"},
		{"ethnicity", func(b map[string]any) { apptest.Member(b, 0)["ethnicity_code"] = 55 }, "members[0].ethnicity_code", "invalid"},
		{"id format", func(b map[string]any) { apptest.Member(b, 0)["id_number"] = "12345" }, "members[0].id_number", "format"},
		{"id sex digit", func(b map[string]any) { apptest.Member(b, 0)["id_number"] = "091178001234" }, "members[0].id_number", "century_sex"},
		{"id birth year", func(b map[string]any) { apptest.Member(b, 0)["id_number"] = "091079001234" }, "members[0].id_number", "birth_year"},
		{"no head", func(b map[string]any) { apptest.Member(b, 0)["relationship"] = "parent" }, "members", "head"},
		{"two heads", func(b map[string]any) { apptest.Member(b, 1)["relationship"] = "head" }, "members", "head"},
		{"commune is a district", func(b map[string]any) { b["commune_code"] = "914" }, "commune_code", "invalid"},
		{"code the database refuses", func(b map[string]any) { b["code"] = "A#1" }, "code", "invalid"},
		{"school level", func(b map[string]any) { apptest.Member(b, 3)["school_level"] = "lớp 5" }, "members[3].school_level", "invalid"},
	}
	for _, tc := range cases {
		b := apptest.HouseholdBody("V-1", "30791", "")
		tc.edit(b)
		w := apptest.Send(t, h, "POST", "/api/v1/households", worker, b)
		if w.Code != 422 || !strings.Contains(w.Body.String(), fmt.Sprintf(`"field":"%s","code":"%s"`, tc.field, tc.code)) {
			t.Errorf("%s: want 422 on %s/%s, got %d %s", tc.name, tc.field, tc.code, w.Code, w.Body.String())
		}
	}
	// Names are kept as typed, only trimmed and normalised (NFC), never uppercased.
	b := apptest.HouseholdBody("V-2", "30791", "")
	apptest.Member(b, 1)["full_name"] = "  Tra\u0302\u0300n   Thi\u0323 Bi\u0301ch "
	w := apptest.Send(t, h, "POST", "/api/v1/households", worker, b)
	if w.Code != 201 || apptest.DecodeHousehold(t, w).Members[1].FullName != "Trần Thị Bích" {
		t.Fatalf("name normalisation: %d %s", w.Code, w.Body.String())
	}
	// Outside the worker's commune.
	if w := apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("V-3", "31036", "")); w.Code != 403 {
		t.Fatalf("another commune: %d", w.Code)
	}
}

func TestHouseholdSearchWithoutDiacritics(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "search-worker", "commune_worker", "30791", false)
	worker := apptest.Login(t, h, "search-worker", apptest.Password).AccessToken
	for i, head := range []string{"Đặng Văn Đức", "Nguyễn Văn An", "Lê Thị Hồng"} {
		b := apptest.HouseholdBody(fmt.Sprintf("S-%d", i), "30791", "")
		apptest.Member(b, 0)["full_name"] = head
		if w := apptest.Send(t, h, "POST", "/api/v1/households", worker, b); w.Code != 201 {
			t.Fatalf("seed: %d %s", w.Code, w.Body.String())
		}
	}
	for q, want := range map[string]string{"dang van duc": "Đặng Văn Đức", "DANG VAN DUC": "Đặng Văn Đức", "le thi hong": "Lê Thị Hồng"} {
		w := apptest.Send(t, h, "GET", "/api/v1/households?q="+strings.ReplaceAll(q, " ", "%20"), worker, nil)
		var page struct{ Items []apptest.Household }
		if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil {
			t.Fatal(err)
		}
		if w.Code != 200 || len(page.Items) == 0 || page.Items[0].Members[0].FullName != want {
			t.Errorf("q=%q: %d %s", q, w.Code, w.Body.String())
		}
	}
	// People, not households: a search finds the person and where they live.
	w := apptest.Send(t, h, "GET", "/api/v1/members?q=dang%20van%20duc", worker, nil)
	var people struct {
		Items []struct {
			FullName      string `json:"full_name"`
			HouseholdCode string `json:"household_code"`
		}
	}
	if err := json.Unmarshal(w.Body.Bytes(), &people); err != nil {
		t.Fatal(err)
	}
	if w.Code != 200 || len(people.Items) == 0 || people.Items[0].FullName != "Đặng Văn Đức" || people.Items[0].HouseholdCode != "S-0" {
		t.Errorf("member search: %d %s", w.Code, w.Body.String())
	}
	w = apptest.Send(t, h, "GET", "/api/v1/members?age_max=15&sex=female", worker, nil)
	if err := json.Unmarshal(w.Body.Bytes(), &people); err != nil {
		t.Fatal(err)
	}
	if w.Code != 200 || len(people.Items) != 3 { // Nguyễn Thị Diệu (2014) in each of the three households
		t.Errorf("girls aged 15 or less: %d %s", w.Code, w.Body.String())
	}
	// Cursor pages cover every household once.
	seen := map[string]bool{}
	cursor := ""
	for range 5 {
		w := apptest.Send(t, h, "GET", "/api/v1/households?limit=2&cursor="+cursor, worker, nil)
		var page struct {
			Items      []apptest.Household
			NextCursor string `json:"next_cursor"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			if seen[it.ID] {
				t.Fatal("a household on two pages")
			}
			seen[it.ID] = true
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if len(seen) != 3 {
		t.Fatalf("paged through %d households", len(seen))
	}
}

func TestHouseholdLifecycle(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "life-worker", "commune_worker", "30791", false)
	worker := apptest.Login(t, h, "life-worker", apptest.Password).AccessToken
	w := apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("LC-1", "30791", "091078001111"))
	hh := apptest.DecodeHousehold(t, w)
	path := "/api/v1/households/" + hh.ID
	head, spouse := hh.Members[0].ID, hh.Members[1].ID
	im := func(v int) map[string]string { return map[string]string{"If-Match": fmt.Sprintf(`"%d"`, v)} }

	// The head cannot leave first.
	w = apptest.SendWith(t, h, "POST", path+"/members/"+head+"/status", worker, map[string]string{"status": "deceased", "date": "2026-01-15"}, im(1))
	if w.Code != 409 || !strings.Contains(w.Body.String(), "head_must_change_first") {
		t.Fatalf("head leaves: %d %s", w.Code, w.Body.String())
	}
	// Change of head, then the old head dies: his ID number is free again.
	if w := apptest.SendWith(t, h, "POST", path+"/head", worker, map[string]string{"member_id": spouse}, im(1)); w.Code != 200 {
		t.Fatalf("change head: %d %s", w.Code, w.Body.String())
	}
	if w := apptest.SendWith(t, h, "POST", path+"/members/"+head+"/status", worker, map[string]string{"status": "deceased", "date": "2099-01-01"}, im(2)); w.Code != 422 {
		t.Fatalf("a death in the future: %d", w.Code)
	}
	w = apptest.SendWith(t, h, "POST", path+"/members/"+head+"/status", worker, map[string]string{"status": "deceased", "date": "2026-01-15"}, im(2))
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"status":"deceased"`) {
		t.Fatalf("death: %d %s", w.Code, w.Body.String())
	}
	// A child moves out.
	child := hh.Members[2].ID
	if w := apptest.SendWith(t, h, "POST", path+"/members/"+child+"/status", worker,
		map[string]string{"status": "moved_out", "date": "2026-06-01", "destination": "TP. Hồ Chí Minh"}, im(3)); w.Code != 200 {
		t.Fatalf("move out: %d", w.Code)
	}
	// History: every change with its state before and after, newest first.
	w = apptest.Send(t, h, "GET", path+"/history", worker, nil)
	var hist struct {
		Items []struct {
			Action string          `json:"action"`
			Reason string          `json:"reason"`
			Before json.RawMessage `json:"before"`
		} `json:"items"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &hist); err != nil {
		t.Fatal(err)
	}
	actions := []string{}
	for _, it := range hist.Items {
		actions = append(actions, it.Action)
	}
	want := []string{"member.move_out", "member.death", "household.change_head", "household.create"}
	if w.Code != 200 || strings.Join(actions, ",") != strings.Join(want, ",") || hist.Items[0].Reason != "TP. Hồ Chí Minh" ||
		!strings.Contains(string(hist.Items[1].Before), `"relationship":"other"`) {
		t.Fatalf("history: %d %v %s", w.Code, actions, w.Body.String())
	}
	if strings.Contains(w.Body.String(), "091078001111") {
		t.Fatal("history must not show full ID numbers")
	}
	// The dead man's number may be registered to someone else now (a correction, say).
	if w := apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("LC-2", "30791", "091078001111")); w.Code != 201 {
		t.Fatalf("a released ID number: %d %s", w.Code, w.Body.String())
	}
}

func TestTransferAndMerge(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "tr-worker", "commune_worker", "30791", false)
	worker := apptest.Login(t, h, "tr-worker", apptest.Password).AccessToken
	src := apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("TR-1", "30791", "")))
	dst := apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("TR-2", "30791", "")))
	im := func(v int) map[string]string { return map[string]string{"If-Match": fmt.Sprintf(`"%d"`, v)} }
	srcPath := "/api/v1/households/" + src.ID

	// A child moves in with relatives: same member id, new household.
	child := src.Members[2].ID
	w := apptest.SendWith(t, h, "POST", srcPath+"/transfer", worker, map[string]any{"to_household_id": dst.ID, "member_ids": []string{child}}, im(1))
	if w.Code != 200 || !strings.Contains(w.Body.String(), child) || len(apptest.DecodeHousehold(t, w).Members) != 5 {
		t.Fatalf("transfer: %d %s", w.Code, w.Body.String())
	}
	// The head cannot leave a household that keeps members.
	if w := apptest.SendWith(t, h, "POST", srcPath+"/transfer", worker, map[string]any{"to_household_id": dst.ID,
		"member_ids": []string{src.Members[0].ID}}, im(2)); w.Code != 409 {
		t.Fatalf("head leaves: %d", w.Code)
	}
	// Everyone else: a merge; the source is archived with the reason.
	rest := []string{src.Members[0].ID, src.Members[1].ID, src.Members[3].ID}
	w = apptest.SendWith(t, h, "POST", srcPath+"/transfer", worker, map[string]any{"to_household_id": dst.ID, "member_ids": rest}, im(2))
	merged := apptest.DecodeHousehold(t, w)
	if w.Code != 200 || len(merged.Members) != 8 {
		t.Fatalf("merge: %d %s", w.Code, w.Body.String())
	}
	heads := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM members WHERE household_id = ? AND relationship = 'head' AND status = 'present'`, dst.ID)
	got := apptest.DecodeHousehold(t, apptest.Send(t, h, "GET", srcPath, worker, nil))
	if heads != 1 || got.Status != "archived" {
		t.Fatalf("after the merge: heads %d, source %s", heads, got.Status)
	}
	if w := apptest.Send(t, h, "GET", srcPath+"/history", worker, nil); !strings.Contains(w.Body.String(), "household.merge") {
		t.Fatalf("merge in history: %s", w.Body.String())
	}
}

func TestSplit(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "sp-worker", "commune_worker", "30791", false)
	worker := apptest.Login(t, h, "sp-worker", apptest.Password).AccessToken
	src := apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("SP-1", "30791", "")))
	path := "/api/v1/households/" + src.ID
	son, daughter := src.Members[2].ID, src.Members[3].ID
	body := map[string]any{"code": "SP-2", "village": "Ấp 5", "area_type": "rural", "member_ids": []string{son, daughter}, "head_member_id": son}
	if w := apptest.SendWith(t, h, "POST", path+"/split", worker, map[string]any{"code": "SP-3", "village": "Ấp 5", "area_type": "rural",
		"member_ids": []string{src.Members[0].ID}, "head_member_id": src.Members[0].ID}, map[string]string{"If-Match": `"1"`}); w.Code != 409 {
		t.Fatalf("splitting off the head: %d", w.Code)
	}
	w := apptest.SendWith(t, h, "POST", path+"/split", worker, body, map[string]string{"If-Match": `"1"`})
	if w.Code != 201 {
		t.Fatalf("split: %d %s", w.Code, w.Body.String())
	}
	created := apptest.DecodeHousehold(t, w)
	if len(created.Members) != 2 || created.Members[0].ID != son {
		t.Fatalf("new household: %s", w.Body.String())
	}
	if left := apptest.DecodeHousehold(t, apptest.Send(t, h, "GET", path, worker, nil)); len(left.Members) != 2 || left.Version != 2 {
		t.Fatalf("the source after the split: %+v", left)
	}
	if w := apptest.SendWith(t, h, "POST", path+"/split", worker, body, map[string]string{"If-Match": `"1"`}); w.Code != 412 {
		t.Fatalf("a stale split: %d", w.Code)
	}
}

func TestDuplicateCandidates(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "dup-worker", "commune_worker", "30791", false)
	worker := apptest.Login(t, h, "dup-worker", apptest.Password).AccessToken
	first := apptest.HouseholdBody("DU-1", "30791", "")
	apptest.Member(first, 0)["full_name"] = "Phạm Văn Tuấn"
	apptest.Member(first, 0)["birth_date"] = "1970-02-03"
	one := apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", worker, first))
	// The same man registered again elsewhere in the commune, without diacritics and with another ID status.
	second := apptest.HouseholdBody("DU-2", "30791", "")
	apptest.Member(second, 1)["full_name"] = "Pham Van Tuan"
	apptest.Member(second, 1)["birth_date"] = "1970-02-03"
	apptest.Member(second, 1)["sex"] = "male"
	apptest.Member(second, 1)["relationship"] = "sibling"
	two := apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", worker, second))

	type pair struct {
		ID     string `json:"id"`
		Reason string `json:"reason"`
		A, B   struct {
			MemberID string `json:"member_id"`
		}
	}
	// Found after the registrations commit, by the scan of the queue they wrote.
	if n := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM duplicate_candidates`); n != 0 {
		t.Fatalf("candidates found on the write path: %d", n)
	}
	if n := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM duplicate_scans WHERE member_id = ?`, two.Members[1].ID); n != 1 {
		t.Fatalf("the registration queued its member %d times", n)
	}
	list := func() []pair {
		if err := a.Households().DrainDuplicates(context.Background()); err != nil {
			t.Fatal(err)
		}
		var page struct{ Items []pair }
		if err := json.Unmarshal(apptest.Send(t, h, "GET", "/api/v1/duplicates", worker, nil).Body.Bytes(), &page); err != nil {
			t.Fatal(err)
		}
		return page.Items
	}
	var found *pair
	for _, p := range list() {
		ids := p.A.MemberID + p.B.MemberID
		if strings.Contains(ids, one.Members[0].ID) && strings.Contains(ids, two.Members[1].ID) {
			found = &p
		}
	}
	if found == nil || found.Reason != "same_name_and_birth_date" {
		t.Fatalf("the pair was not proposed: %+v", list())
	}
	// Same person: the sibling record retires into the head's.
	if w := apptest.Send(t, h, "POST", "/api/v1/duplicates/"+found.ID+"/resolve", worker, map[string]string{"resolution": "same", "keep_member_id": one.Members[0].ID}); w.Code != 204 {
		t.Fatalf("resolve same: %d %s", w.Code, w.Body.String())
	}
	var status, mergedInto string
	if err := a.DB().Conn(context.Background()).Raw(`SELECT status, merged_into::text FROM members WHERE id = ?`, two.Members[1].ID).Row().Scan(&status, &mergedInto); err != nil {
		t.Fatal(err)
	}
	if status != "merged" || mergedInto != one.Members[0].ID {
		t.Fatalf("after merging: %s into %s", status, mergedInto)
	}
	if w := apptest.Send(t, h, "POST", "/api/v1/duplicates/"+found.ID+"/resolve", worker, map[string]string{"resolution": "different"}); w.Code != 409 {
		t.Fatalf("resolving twice: %d", w.Code)
	}
	// Different people: dismissed for good, even when the member is written again.
	third := apptest.HouseholdBody("DU-3", "30791", "")
	apptest.Member(third, 0)["full_name"] = "Phạm Văn Tuấn"
	apptest.Member(third, 0)["birth_date"] = "1970-02-03"
	apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", worker, third))
	for _, p := range list() {
		if p.Reason == "same_name_and_birth_date" {
			if w := apptest.Send(t, h, "POST", "/api/v1/duplicates/"+p.ID+"/resolve", worker, map[string]string{"resolution": "different"}); w.Code != 204 {
				t.Fatalf("dismiss: %d", w.Code)
			}
		}
	}
	for _, p := range list() {
		if p.Reason == "same_name_and_birth_date" {
			t.Fatalf("a dismissed pair is proposed again: %+v", p)
		}
	}
	audited := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM audit_events WHERE action = 'duplicate.resolve'`)
	if audited < 2 {
		t.Fatalf("resolutions are audited: %d", audited)
	}
}

func TestHouseholdFilters(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "flt-worker", "commune_worker", "30791", false)
	worker := apptest.Login(t, h, "flt-worker", apptest.Password).AccessToken
	young := apptest.HouseholdBody("F-1", "30791", "") // children born 2008 and 2014
	old := apptest.HouseholdBody("F-2", "30791", "")
	old["ethnic_minority"] = true
	old["members"] = []map[string]any{{"full_name": "Thạch Thị Sa", "birth_date": "1940", "sex": "female", "relationship": "head", "ethnicity_code": 5}}
	y := apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", worker, young))
	o := apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", worker, old))
	ids := func(path string) string {
		w := apptest.Send(t, h, "GET", path, worker, nil)
		var page struct{ Items []apptest.Household }
		if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, it := range page.Items {
			out = append(out, it.ID)
		}
		return strings.Join(out, ",")
	}
	if got := ids("/api/v1/households?ethnic_minority=true"); got != o.ID {
		t.Errorf("ethnic minority: %s", got)
	}
	if got := ids("/api/v1/households?member_age_min=80"); got != o.ID {
		t.Errorf("a member aged 80+: %s", got)
	}
	if got := ids("/api/v1/households?member_age_max=15"); got != y.ID {
		t.Errorf("a member aged 15 or less: %s", got)
	}
	if w := apptest.Send(t, h, "GET", "/api/v1/households?member_age_min=-3&ethnic_minority=maybe", worker, nil); w.Code != 422 ||
		!strings.Contains(w.Body.String(), "member_age_min") || !strings.Contains(w.Body.String(), "ethnic_minority") {
		t.Errorf("bad filters: %d %s", w.Code, w.Body.String())
	}
}

func TestUpdateMemberAndPhoneDuplicates(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "um-worker", "commune_worker", "30791", false)
	worker := apptest.Login(t, h, "um-worker", apptest.Password).AccessToken
	one := apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("UM-1", "30791", "091078002222")))
	path := "/api/v1/households/" + one.ID + "/members/" + one.Members[1].ID
	im := func(v int) map[string]string { return map[string]string{"If-Match": fmt.Sprintf(`"%d"`, v)} }
	// The spouse gets her CCCD recorded; a wrong one is refused field by field.
	if w := apptest.SendWith(t, h, "PATCH", path, worker, map[string]string{"id_number": "091081009999"}, im(1)); w.Code != 422 ||
		!strings.Contains(w.Body.String(), `"field":"id_number","code":"century_sex"`) {
		t.Fatalf("a man's number on a woman: %d %s", w.Code, w.Body.String())
	}
	w := apptest.SendWith(t, h, "PATCH", path, worker, map[string]string{"id_number": "091181009999", "occupation": "làm ruộng"}, im(1))
	if w.Code != 200 || !strings.Contains(w.Body.String(), "0*********99") || !strings.Contains(w.Body.String(), "làm ruộng") {
		t.Fatalf("update member: %d %s", w.Code, w.Body.String())
	}
	if w := apptest.SendWith(t, h, "PATCH", path, worker, map[string]string{"relationship": "head"}, im(2)); w.Code != 422 {
		t.Fatalf("making a head by PATCH: %d", w.Code)
	}
	// Two heads whose households share a phone are proposed as the same person.
	two := apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("UM-2", "30791", "")))
	// The other household's spouse cannot take a number someone present holds.
	if w := apptest.SendWith(t, h, "PATCH", "/api/v1/households/"+two.ID+"/members/"+two.Members[1].ID, worker,
		map[string]string{"id_number": "091181009999"}, im(1)); w.Code != 409 || !strings.Contains(w.Body.String(), one.ID) {
		t.Fatalf("a number already held: %d %s", w.Code, w.Body.String())
	}
	if err := a.Households().DrainDuplicates(context.Background()); err != nil {
		t.Fatal(err)
	}
	w = apptest.Send(t, h, "GET", "/api/v1/duplicates", worker, nil)
	if !strings.Contains(w.Body.String(), `"reason":"same_phone"`) {
		t.Fatalf("same phone: %s", w.Body.String())
	}
}

// Name search takes its candidates from the (area, name) index nearest first;
// the household filters apply to them, widening the candidates when they cut
// the page short, and the scope is the members' own area path, which follows
// their household (moves between households, a household's new area).
func TestNameSearchFiltersScopeAndAreaPath(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "ns-worker", "commune_worker", "30791", false)
	apptest.CreateUser(t, a, "ns-other", "commune_worker", "30793", false)
	worker := apptest.Login(t, h, "ns-worker", apptest.Password).AccessToken
	other := apptest.Login(t, h, "ns-other", apptest.Password).AccessToken
	for i := range 20 { // twenty exact matches come before the one wanted
		if w := apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody(fmt.Sprintf("NS-%d", i), "30791", "")); w.Code != 201 {
			t.Fatalf("seed: %d %s", w.Code, w.Body.String())
		}
	}
	wanted := apptest.HouseholdBody("NS-E", "30791", "")
	wanted["ethnic_minority"] = true
	apptest.Member(wanted, 0)["full_name"] = "Nguyễn Văn Ánh"
	e := apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", worker, wanted))
	elsewhere := apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", other, apptest.HouseholdBody("NS-X", "30793", "")))
	page := func(token, path string) []apptest.Household {
		t.Helper()
		w := apptest.Send(t, h, "GET", path, token, nil)
		var p struct{ Items []apptest.Household }
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || w.Code != 200 {
			t.Fatalf("%s: %d %s", path, w.Code, w.Body.String())
		}
		return p.Items
	}
	if got := page(worker, "/api/v1/households?q=nguyen%20van%20an&ethnic_minority=true&limit=1"); len(got) != 1 || got[0].ID != e.ID {
		t.Fatalf("filtered search must widen past the first candidates: %+v", got)
	}
	got := page(worker, "/api/v1/households?q=nguyen%20van%20an&limit=50")
	if len(got) != 21 || got[20].ID != e.ID {
		t.Fatalf("21 households in scope, the inexact match last: %d", len(got))
	}
	for _, x := range got {
		if x.ID == elsewhere.ID {
			t.Fatal("a household of another commune in the worker's search")
		}
	}
	// A member moved into a household elsewhere takes its area path.
	apptest.Exec(t, a.DB(), `UPDATE members SET household_id = ? WHERE id = ?`, e.ID, elsewhere.Members[3].ID)
	path := apptest.Scalar[string](t, a.DB(), `SELECT area_path::text FROM members WHERE id = ?`, elsewhere.Members[3].ID)
	if path != "91.914.30791" {
		t.Fatalf("a moved member's area path: %q", path)
	}
	// A household given a new area takes its members along.
	apptest.Exec(t, a.DB(), `UPDATE households SET area_path = '91.914.30793', commune_code = '30793' WHERE id = ?`, e.ID)
	stale := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM members m JOIN households h ON h.id = m.household_id WHERE m.area_path <> h.area_path`)
	if stale != 0 {
		t.Fatalf("%d members left behind their household's area", stale)
	}
	if got := page(other, "/api/v1/households?q=nguyen%20van%20anh&ethnic_minority=true"); len(got) != 1 || got[0].ID != e.ID {
		t.Fatalf("the household searched in its new commune: %+v", got)
	}
}

// Without filters a name search starts with few candidates (twice the page);
// when people of the same household take them all, it widens to fill the page.
func TestNameSearchWidensWhenHouseholdsShareTheName(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "nw-worker", "commune_worker", "30796", false)
	worker := apptest.Login(t, h, "nw-worker", apptest.Password).AccessToken
	var ids []string
	for i, exact := range []int{4, 4, 0} { // two households of four exact matches, then one near match
		body := apptest.HouseholdBody(fmt.Sprintf("NW-%d", i), "30796", "")
		for j := range exact {
			apptest.Member(body, j)["full_name"] = "Lâm Văn Khải"
		}
		if exact == 0 {
			apptest.Member(body, 0)["full_name"] = "Lê Văn Khải"
		}
		w := apptest.Send(t, h, "POST", "/api/v1/households", worker, body)
		if w.Code != 201 {
			t.Fatalf("seed: %d %s", w.Code, w.Body.String())
		}
		ids = append(ids, apptest.DecodeHousehold(t, w).ID)
	}
	w := apptest.Send(t, h, "GET", "/api/v1/households?q=lam%20van%20khai&limit=3", worker, nil)
	var p struct{ Items []apptest.Household }
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || w.Code != 200 {
		t.Fatalf("search: %d %s", w.Code, w.Body.String())
	}
	if len(p.Items) != 3 || p.Items[2].ID != ids[2] {
		t.Fatalf("the near match must follow the two households of exact matches: %+v", p.Items)
	}
}

// A registration the database refuses as a duplicate (the checks before it
// could not see it) is a 409 on the field of the member it names.
func TestRegistrationConflictNamesTheMember(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	worker := apptest.Token(t, a, "rc-worker", "commune_worker", "30791")
	first := apptest.HouseholdBody("RC-1", "30791", "")
	memberID := "0190a8c0-0000-7000-8000-00000000abcd"
	apptest.Member(first, 2)["id"] = memberID
	if w := apptest.Send(t, h, "POST", "/api/v1/households", worker, first); w.Code != 201 {
		t.Fatalf("create: %d %s", w.Code, w.Body.String())
	}
	second := apptest.HouseholdBody("RC-2", "30791", "")
	apptest.Member(second, 2)["id"] = memberID
	w := apptest.Send(t, h, "POST", "/api/v1/households", worker, second)
	if w.Code != 409 || apptest.ProblemCode(t, w) != "id_registered_elsewhere" || !strings.Contains(w.Body.String(), `"members[2].id_number"`) {
		t.Fatalf("a member id taken: %d %s", w.Code, w.Body.String())
	}
	if n := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM households WHERE code = 'RC-2'`); n != 0 {
		t.Fatalf("the refused household was written: %d", n)
	}
	// The household's own code again in its commune.
	w = apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("RC-1", "30791", ""))
	if w.Code != 409 || apptest.ProblemCode(t, w) != "household_exists" {
		t.Fatalf("the same code: %d %s", w.Code, w.Body.String())
	}
}

// One registration goes through the same array-bound insert as an import's
// batch: what a client left out is NULL, what it gave is kept as typed.
func TestRegistrationStoresWhatWasGiven(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	worker := apptest.Token(t, a, "rs-worker", "commune_worker", "30791")
	body := apptest.HouseholdBody("RS-1", "30791", "091078001234")
	body["phone"] = ""
	m := apptest.Member(body, 1)
	m["insurance_card"], m["insurance_expiry"], m["education_level"], m["ethnicity_code"], m["disability"] = "GD4797924", "2026-12-31", "upper_secondary", 5, true
	w := apptest.Send(t, h, "POST", "/api/v1/households", worker, body)
	if w.Code != 201 {
		t.Fatalf("create: %d %s", w.Code, w.Body.String())
	}
	hh := apptest.DecodeHousehold(t, w)
	if got := apptest.Scalar[string](t, a.DB(), `SELECT concat_ws('|', phone IS NULL, area_path, created_by IS NOT NULL) FROM households WHERE id = ?`, hh.ID); got != "t|91.914.30791|t" {
		t.Fatalf("household: %s", got)
	}
	got := apptest.Scalar[string](t, a.DB(), `SELECT concat_ws('|', birth_date, birth_year, insurance_card, insurance_expiry, education_level,
		occupation IS NULL, ethnicity_code, disability, student, status, id_sealed IS NULL) FROM members WHERE id = ?`, hh.Members[1].ID)
	if got != "1981-03-04|1981|GD4797924|2026-12-31|upper_secondary|t|5|t|f|present|t" {
		t.Fatalf("spouse: %s", got)
	}
	got = apptest.Scalar[string](t, a.DB(), `SELECT concat_ws('|', birth_date IS NULL, birth_year, id_kind, id_lookup IS NOT NULL, relationship)
		FROM members WHERE id = ?`, hh.Members[0].ID)
	if got != "t|1978|cccd|t|head" {
		t.Fatalf("head: %s", got)
	}
	if w := apptest.Send(t, h, "GET", "/api/v1/households/"+hh.ID+"?reveal=id_number", worker, nil); !strings.Contains(w.Body.String(), `"091078001234"`) {
		t.Fatalf("the sealed number opens: %d %s", w.Code, w.Body.String())
	}

	// The answer to a registration is the household as stored (it comes
	// back from the INSERTs, not from a read): the same as reading it, the
	// members in the same order (the head first, then by birth year, then
	// by id) whatever order they were given in.
	body = apptest.HouseholdBody("RS-2", "30791", "")
	members := body["members"].([]map[string]any)
	slices.Reverse(members)
	twin := maps.Clone(members[0])
	twin["full_name"] = "Lê Thị Bé"
	body["members"] = append(members, twin) // the same birth year: ordered by id
	created := apptest.Decode[map[string]any](t, apptest.Send(t, h, "POST", "/api/v1/households", worker, body), 201)
	read := apptest.Decode[map[string]any](t, apptest.Send(t, h, "GET", "/api/v1/households/"+created["id"].(string), worker, nil), 200)
	if !reflect.DeepEqual(created, read) {
		t.Fatalf("registration answered\n%v\nbut reads\n%v", created, read)
	}
	if ms := read["members"].([]any); len(ms) != 5 || ms[0].(map[string]any)["relationship"] != "head" {
		t.Fatalf("members: %v", ms)
	}
}

// An import's check of existing households plans its one statement afresh
// (the plan cached while an import's table was nearly empty scanned it
// whole), and only that statement: the rest of the transaction keeps cached
// plans, whose loss slowed the members' foreign-key checks.
func TestCheckBatchPlansOnlyItsLookupAfresh(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	hs := []household.Household{{Code: "CB-1", CommuneCode: "30791"}, {Code: "CB-2", CommuneCode: "30791"}}
	var mode string
	err := a.DB().WithTx(t.Context(), func(ctx context.Context) error {
		res, err := a.Households().CheckBatch(ctx, access.Everywhere(), hs)
		if err != nil {
			return err
		}
		if len(res.Existing) != 0 || len(res.Conflicts) != 0 {
			return fmt.Errorf("new households found existing or in conflict: %+v", res)
		}
		return a.DB().Conn(ctx).Raw(`SHOW plan_cache_mode`).Row().Scan(&mode)
	})
	if err != nil || mode != "auto" {
		t.Fatalf("after the check the transaction plans as before: %q %v", mode, err)
	}
}
