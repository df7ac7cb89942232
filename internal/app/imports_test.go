package app_test

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ansinh/ansinh/internal/apptest"
)

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
	upload := func(mode, ctype, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/api/v1/imports?mode="+mode+"&name=ho-ngheo.csv", strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Authorization", "Bearer "+worker)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	if w := upload("valid_only", "application/json", "{}"); w.Code != 422 {
		t.Fatalf("a JSON body: %d %s", w.Code, w.Body.String())
	}
	if w := upload("sometimes", "text/csv", file); w.Code != 422 {
		t.Fatalf("an unknown mode: %d", w.Code)
	}
	w := upload("valid_only", "text/csv", file)
	if w.Code != 202 || w.Header().Get("Location") == "" {
		t.Fatalf("submit: %d %s", w.Code, w.Body.String())
	}
	var job struct {
		ID                string `json:"id"`
		Status            string `json:"status"`
		HouseholdsCreated int    `json:"households_created"`
		HouseholdsInvalid int    `json:"households_invalid"`
		Problems          int    `json:"problems"`
	}
	json.Unmarshal(w.Body.Bytes(), &job)
	for deadline := time.Now().Add(20 * time.Second); job.Status != "succeeded" && job.Status != "failed"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the job did not finish: %+v", job)
		}
		json.Unmarshal(apptest.Send(t, h, "GET", "/api/v1/imports/"+job.ID, worker, nil).Body.Bytes(), &job)
	}
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
	w = apptest.Send(t, h, "GET", "/api/v1/imports/template.xlsx", worker, nil)
	if w.Code != 200 || !bytes.HasPrefix(w.Body.Bytes(), []byte("PK")) {
		t.Fatalf("template: %d", w.Code)
	}
}
