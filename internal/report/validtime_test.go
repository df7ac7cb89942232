package report_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ansinh/ansinh/internal/apptest"
)

// Reports and lists count by valid time: a household entered in 2026 but
// established in 2019 is in 2020's report and not in 2018's; one ended in
// 2024 is gone from that day; a death and a move away with past dates
// change the past member counts of a list.
func TestValidTime(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	worker := apptest.Token(t, a, "vt-worker", "commune_worker", "30791")
	body := apptest.HouseholdBody("VT-1", "30791", "")
	for bad, want := range map[string]string{"2099-01-01": "future", "2019-13-01": "invalid"} {
		body["established_on"] = bad
		if w := apptest.Send(t, h, "POST", "/api/v1/households", worker, body); w.Code != 422 || !containsField(w.Body.String(), "established_on", want) {
			t.Fatalf("established %s: %d %s", bad, w.Code, w.Body)
		}
	}
	body["established_on"] = "2019-05-01"
	hh := apptest.Decode[struct {
		ID            string `json:"id"`
		EstablishedOn string `json:"established_on"`
		Members       []struct {
			ID string `json:"id"`
		} `json:"members"`
	}](t, apptest.Send(t, h, "POST", "/api/v1/households", worker, body), 201)
	if hh.EstablishedOn != "2019-05-01" {
		t.Fatalf("established_on: %q", hh.EstablishedOn)
	}
	// Entered late, and the trail says so.
	if d := apptest.Scalar[string](t, a.DB(), `SELECT doc->'after'->'entered_late'->>'event_date' FROM audit_events
		WHERE action = 'household.create' AND entity_id = ?`, hh.ID); d != "2019-05-01" {
		t.Fatalf("the registration's audit event: entered late %q", d)
	}
	apptest.Exec(t, a.DB(), `UPDATE households SET classification = 'poor' WHERE id = ?`, hh.ID)
	count := func(date string) any {
		t.Helper()
		r := apptest.Decode[reportOut](t, apptest.Send(t, h, "GET", "/api/v1/reports/poverty?area=30791&date="+date, worker, nil), 200)
		return r.Totals["households"]
	}
	if n := count("2020-12-31"); n != float64(1) {
		t.Fatalf("in 2020: %v", n)
	}
	if n := count("2018-12-31"); n != float64(0) {
		t.Fatalf("in 2018: %v", n)
	}

	// A death in 2022, entered today: the list of 2021 counts the person.
	members := func(date string) any {
		t.Helper()
		l := apptest.Decode[reportOut](t, apptest.Send(t, h, "GET", "/api/v1/reports/lists/poor?area=30791&date="+date, worker, nil), 200)
		if len(l.Items) != 1 {
			t.Fatalf("poor list of %s: %+v", date, l.Items)
		}
		return l.Items[0]["members"]
	}
	path := "/api/v1/households/" + hh.ID
	if w := apptest.SendWith(t, h, "POST", path+"/members/"+hh.Members[1].ID+"/status", worker,
		map[string]string{"status": "deceased", "date": "2022-06-01"}, map[string]string{"If-Match": `"1"`}); w.Code != 200 {
		t.Fatalf("death: %d %s", w.Code, w.Body)
	}
	if n2021, n2023 := members("2021-12-31"), members("2023-12-31"); n2021 != float64(4) || n2023 != float64(3) {
		t.Fatalf("members in 2021 and 2023: %v %v", n2021, n2023)
	}
	// A move away in 2022 too, entered today: 2021 still counts the person, 2023 not.
	if w := apptest.SendWith(t, h, "POST", path+"/members/"+hh.Members[2].ID+"/status", worker,
		map[string]string{"status": "moved_out", "date": "2022-09-01", "destination": "TP. Hồ Chí Minh"},
		map[string]string{"If-Match": `"2"`}); w.Code != 200 {
		t.Fatalf("a move: %d %s", w.Code, w.Body)
	}
	if n2021, n2023 := members("2021-12-31"), members("2023-12-31"); n2021 != float64(4) || n2023 != float64(2) {
		t.Fatalf("members in 2021 and 2023 after the move: %v %v", n2021, n2023)
	}
	if d := apptest.Scalar[string](t, a.DB(), `SELECT doc->'after'->'entered_late'->>'event_date' FROM audit_events
		WHERE action = 'member.death' AND entity_id = ?`, hh.ID); d != "2022-06-01" {
		t.Fatalf("the death's audit event: entered late %q", d)
	}
	// A birth in 2023, entered today: counted from then on.
	baby := map[string]any{"full_name": "Nguyễn Thị Én", "birth_date": "2023-06-01", "sex": "female", "relationship": "child",
		"arrived_on": "2023-06-01"}
	if w := apptest.SendWith(t, h, "POST", path+"/members", worker, baby, map[string]string{"If-Match": `"3"`}); w.Code != 201 {
		t.Fatalf("a birth: %d %s", w.Code, w.Body)
	}
	if n2022, n2023 := members("2022-12-31"), members("2023-12-31"); n2022 != float64(2) || n2023 != float64(3) {
		t.Fatalf("members in 2022 and 2023 with the birth: %v %v", n2022, n2023)
	}
	baby["arrived_on"] = "2099-01-01"
	if w := apptest.SendWith(t, h, "POST", path+"/members", worker, baby, map[string]string{"If-Match": `"4"`}); w.Code != 422 ||
		!containsField(w.Body.String(), "arrived_on", "future") {
		t.Fatalf("an arrival in the future: %d %s", w.Code, w.Body)
	}

	// Ended in 2024: not before it was established, not in the future.
	for ended, want := range map[string]string{"2018-01-01": "before_established", "2099-01-01": "future"} {
		w := apptest.SendWith(t, h, "POST", path+"/archive", worker, map[string]string{"reason": "moved away", "ended_on": ended},
			map[string]string{"If-Match": `"4"`})
		if w.Code != 422 || !containsField(w.Body.String(), "ended_on", want) {
			t.Fatalf("ended %s: %d %s", ended, w.Code, w.Body)
		}
	}
	if w := apptest.SendWith(t, h, "POST", path+"/archive", worker, map[string]string{"reason": "moved away", "ended_on": "2024-03-01"},
		map[string]string{"If-Match": `"4"`}); w.Code != 200 {
		t.Fatalf("archive: %d %s", w.Code, w.Body)
	}
	if n := count("2023-12-31"); n != float64(1) {
		t.Fatalf("in 2023, before it ended: %v", n)
	}
	if n := count("2024-12-31"); n != float64(0) {
		t.Fatalf("in 2024, after it ended: %v", n)
	}
}

func containsField(body, field, code string) bool {
	return strings.Contains(body, fmt.Sprintf(`"field":%q,"code":%q`, field, code))
}
