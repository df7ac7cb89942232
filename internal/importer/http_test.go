package importer_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ansinh/ansinh/internal/apptest"
)

// jobView is an import job as the API shows it (the fields the tests read).
type jobView struct {
	ID                string `json:"id"`
	Status            string `json:"status"`
	Error             string `json:"error"`
	RowsRead          int    `json:"rows_read"`
	HouseholdsValid   int    `json:"households_valid"`
	HouseholdsCreated int    `json:"households_created"`
	HouseholdsInvalid int    `json:"households_invalid"`
	Problems          int    `json:"problems"`
}

// upload sends a file as an import's body.
func upload(t testing.TB, h http.Handler, token, mode, ctype, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("POST", "/api/v1/imports?mode="+mode+"&name=ho-ngheo.csv", strings.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	apptest.Check(t, req, w)
	return w
}

// finished polls a job until it has succeeded or failed.
func finished(t *testing.T, h http.Handler, token string, job jobView) jobView {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); job.Status != "succeeded" && job.Status != "failed"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the job did not finish: %+v", job)
		}
		job = apptest.Decode[jobView](t, apptest.Send(t, h, "GET", "/api/v1/imports/"+job.ID, token, nil), 200)
	}
	return job
}

// An import through the API: the file is the body, the job runs on after
// the answer, its progress and problems are the submitter's to read.
func TestImportThroughTheAPI(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "im-worker", "commune_worker", "30791", false)
	apptest.CreateUser(t, a, "im-other", "commune_worker", "30791", false)
	worker := apptest.Login(t, h, "im-worker", apptest.Password).AccessToken
	other := apptest.Login(t, h, "im-other", apptest.Password).AccessToken
	file := "commune_code,household_code,village,area_type,full_name,birth_date,sex,relationship\n" +
		"30791,IM-1,Ấp 1,rural,Nguyễn Văn An,1978,male,head\n" +
		"30791,IM-1,Ấp 1,rural,Trần Thị Bích,1981,female,spouse\n" +
		"30791,IM-2,Ấp 2,rural,Lê Văn Công,1990,male,head\n" +
		"31036,IM-3,Ấp 3,rural,Phạm Văn Dũng,1990,male,head\n" // another commune: outside the worker's area
	if w := upload(t, h, worker, "valid_only", "application/json", "{}"); w.Code != 422 || apptest.ProblemCode(t, w) != "import_file" {
		t.Fatalf("a JSON body: %d %s", w.Code, w.Body.String())
	}
	if w := upload(t, h, worker, "sometimes", "text/csv", file); w.Code != 422 || apptest.ProblemCode(t, w) != "validation_failed" {
		t.Fatalf("an unknown mode: %d %s", w.Code, w.Body.String())
	}
	w := upload(t, h, worker, "valid_only", "text/csv", file)
	if w.Code != 202 || w.Header().Get("Location") == "" {
		t.Fatalf("submit: %d %s", w.Code, w.Body.String())
	}
	job := finished(t, h, worker, apptest.Decode[jobView](t, w, 202))
	if job.Status != "succeeded" || job.HouseholdsCreated != 2 || job.HouseholdsInvalid != 1 || job.Problems != 1 {
		t.Fatalf("job: %+v", job)
	}
	w = apptest.Send(t, h, "GET", "/api/v1/imports/"+job.ID+"/problems", worker, nil)
	if !strings.Contains(w.Body.String(), `"row":5`) || !strings.Contains(w.Body.String(), `"column":"commune_code"`) ||
		!strings.Contains(w.Body.String(), "Dòng 5, cột commune_code") {
		t.Fatalf("problems: %s", w.Body.String())
	}
	if w := apptest.Send(t, h, "GET", "/api/v1/imports/"+job.ID, other, nil); w.Code != 404 {
		t.Fatalf("another user read the job: %d", w.Code)
	}
	if w := apptest.Send(t, h, "GET", "/api/v1/households?q=Bich", worker, nil); !strings.Contains(w.Body.String(), "IM-1") {
		t.Fatalf("imported household not found: %s", w.Body.String())
	}
	// Imported people are scanned for duplicates as registered ones are: the
	// import queued them, and a head registered later matches the imported one.
	if n := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM duplicate_scans s JOIN members m ON m.id = s.member_id
		JOIN households h ON h.id = m.household_id WHERE h.code IN ('IM-1', 'IM-2')`); n != 3 {
		t.Fatalf("the import queued %d people for the duplicate scan, want 3", n)
	}
	if w := apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("IM-9", "30791", "")); w.Code != 201 {
		t.Fatalf("register: %d %s", w.Code, w.Body.String())
	}
	if err := a.Households().DrainDuplicates(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM duplicate_candidates d JOIN members m ON m.id IN (d.member_a, d.member_b)
		JOIN households h ON h.id = m.household_id WHERE h.code = 'IM-1' AND m.relationship = 'head'`); n != 1 {
		t.Fatalf("the imported head's candidates: %d", n)
	}
	w = apptest.Send(t, h, "GET", "/api/v1/imports/template.xlsx", worker, nil)
	if w.Code != 200 || !bytes.HasPrefix(w.Body.Bytes(), []byte("PK")) {
		t.Fatalf("template: %d", w.Code)
	}
}

// A job's problems and its figures are its owner's only; an id that is not
// one is no import; a file the import cannot read fails the job with the
// reason, and a later page of problems starts after the one asked.
func TestImportJobStatesAndProblemsPages(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	worker := apptest.Token(t, a, "im-pages", "commune_worker", "30791")
	other := apptest.Token(t, a, "im-pages-other", "commune_worker", "30791")
	for _, path := range []string{"/api/v1/imports/not-an-id", "/api/v1/imports/not-an-id/problems"} {
		if w := apptest.Send(t, h, "GET", path, worker, nil); w.Code != 404 || apptest.ProblemCode(t, w) != "import_not_found" {
			t.Fatalf("%s: %d %s", path, w.Code, w.Body.String())
		}
	}

	// A header the template does not have: the job fails, with why.
	w := upload(t, h, worker, "dry_run", "text/csv", "commune_code,household_code,name\n30791,X,Y\n")
	job := finished(t, h, worker, apptest.Decode[jobView](t, w, 202))
	if job.Status != "failed" || !strings.Contains(job.Error, "not in the template") {
		t.Fatalf("a foreign header: %+v", job)
	}

	// Three households without a village: three problems, read in pages.
	file := "commune_code,household_code,village,area_type,full_name,birth_date,sex,relationship\n" +
		"30791,PG-1,,rural,Nguyễn Văn An,1978,male,head\n" +
		"30791,PG-2,,rural,Lê Văn Công,1990,male,head\n" +
		"30791,PG-3,,rural,Phạm Văn Dũng,1990,male,head\n"
	job = finished(t, h, worker, apptest.Decode[jobView](t, upload(t, h, worker, "all_or_nothing", "text/csv", file), 202))
	if job.Status != "succeeded" || job.RowsRead != 3 || job.HouseholdsInvalid != 3 || job.Problems != 3 || job.HouseholdsCreated != 0 {
		t.Fatalf("job: %+v", job)
	}
	type page struct {
		Items []struct {
			Row    int    `json:"row"`
			Column string `json:"column"`
			Code   string `json:"code"`
		} `json:"items"`
	}
	p := apptest.Decode[page](t, apptest.Send(t, h, "GET", "/api/v1/imports/"+job.ID+"/problems?after=1&limit=1", worker, nil), 200)
	if len(p.Items) != 1 || p.Items[0].Row != 3 || p.Items[0].Column != "village" || p.Items[0].Code != "required" {
		t.Fatalf("the second problem: %+v", p)
	}
	if w := apptest.Send(t, h, "GET", "/api/v1/imports/"+job.ID+"/problems", other, nil); w.Code != 404 {
		t.Fatalf("another user read the problems: %d", w.Code)
	}
}

// A history through the API: kind=history runs the history import as a
// job; its figures count years; its template is the history's; an unknown
// kind is refused before anything is kept.
func TestHistoryImportThroughTheAPI(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	worker := apptest.Token(t, a, "im-history", "commune_worker", "30791")
	file := historyHead +
		"2019,30791,HS-1,Nguyễn Văn An,poor,12/QĐ-UBND,2019-12-20,Ấp 1,rural,1978,male\n" +
		"2020,30791,HS-1,Nguyễn Văn An,near_poor,15/QĐ-UBND,2020-12-18\n" +
		"2020,31036,HS-2,Lê Văn Bình,poor,15/QĐ-UBND,2020-12-18,Ấp 1,rural,1978,male\n" // another commune
	send := func(kind string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/api/v1/imports?mode=valid_only&kind="+kind, strings.NewReader(file))
		req.Header.Set("Content-Type", "text/csv")
		req.Header.Set("Authorization", "Bearer "+worker)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		apptest.Check(t, req, w)
		return w
	}
	if w := send("people"); w.Code != 422 || apptest.ProblemCode(t, w) != "validation_failed" {
		t.Fatalf("an unknown kind: %d %s", w.Code, w.Body.String())
	}
	type historyJob struct {
		jobView
		Kind          string `json:"kind"`
		YearsRecorded int    `json:"years_recorded"`
	}
	w := send("history")
	job := apptest.Decode[historyJob](t, w, 202)
	for deadline := time.Now().Add(20 * time.Second); job.Status != "succeeded" && job.Status != "failed"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the job did not finish: %+v", job)
		}
		job = apptest.Decode[historyJob](t, apptest.Send(t, h, "GET", "/api/v1/imports/"+job.ID, worker, nil), 200)
	}
	if job.Status != "succeeded" || job.Kind != "history" || job.YearsRecorded != 2 || job.HouseholdsCreated != 1 ||
		job.HouseholdsInvalid != 1 || job.Problems != 1 {
		t.Fatalf("history job: %+v", job)
	}
	w = apptest.Send(t, h, "GET", "/api/v1/imports/"+job.ID+"/problems", worker, nil)
	if !strings.Contains(w.Body.String(), `"row":4`) || !strings.Contains(w.Body.String(), `"code":"outside_scope"`) {
		t.Fatalf("problems: %s", w.Body.String())
	}
	w = apptest.Send(t, h, "GET", "/api/v1/imports/template.xlsx?kind=history", worker, nil)
	if w.Code != 200 || !strings.Contains(w.Header().Get("Content-Disposition"), "lich-su") || !bytes.HasPrefix(w.Body.Bytes(), []byte("PK")) {
		t.Fatalf("history template: %d %v", w.Code, w.Header())
	}
}
