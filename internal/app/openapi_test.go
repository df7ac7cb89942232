package app_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/ansinh/ansinh/docs"
	"github.com/ansinh/ansinh/internal/apptest"
)

// streamRoutes are the guarded writes registered with access.HandleStream:
// the tus protocol resumes at the offset the server reports, so the
// Idempotency-Key middleware (which would hold a whole body) does not run.
var streamRoutes = map[string]bool{
	"POST /api/v1/uploads":       true,
	"PATCH /api/v1/uploads/:id":  true,
	"DELETE /api/v1/uploads/:id": true,
}

// createdWithoutLocation are the 201 answers that name no new resource of
// their own: the household a member joined, the user granted a role, and a
// campaign or delivery record, which have no URL to read them by. (A grant
// awaiting approval, 202, names none either.)
var createdWithoutLocation = map[string]bool{
	"addMember":      true,
	"grantRole":      true,
	"createCampaign": true,
	"recordDelivery": true,
}

// docs/openapi.yaml says what the server enforces (issue 18 item 14): the
// Idempotency-Key header on exactly the routes the idempotency middleware
// wraps, the 400 (not JSON), 413 (too large) and 415 (not application/json)
// answers of every operation that binds a JSON body (web.BindJSON), and a
// required Location header on every create that names a new resource. The
// contract validation of every HTTP test (apptest) then holds the server to
// the headers it declares.
func TestOpenAPIDocumentsWhatTheServerEnforces(t *testing.T) {
	t.Parallel()
	doc, err := openapi3.NewLoader().LoadFromData(docs.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	a := apptest.New(t)
	param := regexp.MustCompile(`:([A-Za-z_]+)`)
	for _, route := range a.APIRoutes() {
		key := route.Method + " " + route.Path
		item := doc.Paths.Value(param.ReplaceAllString(route.Path, "{$1}"))
		if item == nil || item.GetOperation(route.Method) == nil {
			t.Errorf("%s is not in docs/openapi.yaml", key)
			continue
		}
		op := item.GetOperation(route.Method)
		wrapped := route.Method != http.MethodGet && route.Method != http.MethodHead && route.Method != http.MethodOptions &&
			!route.Public && route.Resource != "" && !streamRoutes[key]
		if declared := op.Parameters.GetByInAndName(openapi3.ParameterInHeader, "Idempotency-Key") != nil; declared != wrapped {
			t.Errorf("%s (%s): declares Idempotency-Key %v, the idempotency middleware runs on it %v", key, op.OperationID, declared, wrapped)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := method + " " + path + " (" + op.OperationID + ")"
			if op.RequestBody != nil && op.RequestBody.Value.Content.Get("application/json") != nil {
				for _, status := range []int{400, 413, 415} {
					if op.Responses.Status(status) == nil {
						t.Errorf("%s takes a JSON body but does not document %d", name, status)
					}
				}
			}
			for _, status := range []int{http.StatusCreated, http.StatusAccepted} {
				r := op.Responses.Status(status)
				if r == nil || !strings.HasPrefix(path, "/api/v1/") || createdWithoutLocation[op.OperationID] {
					continue
				}
				if h := r.Value.Headers["Location"]; h == nil || !h.Value.Required {
					t.Errorf("%s answers %d without a required Location header", name, status)
				}
			}
		}
	}
}
