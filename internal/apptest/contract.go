package apptest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/ansinh/ansinh/docs"
)

// contract is docs/openapi.yaml, loaded once per test binary.
var contract struct {
	once   sync.Once
	router routers.Router
	err    error
}

func contractRouter() (routers.Router, error) {
	contract.once.Do(func() {
		// A CSV export is a document with its own title and footer lines, not
		// a table of equal rows: its schema is a string.
		openapi3filter.RegisterBodyDecoder("text/csv", func(body io.Reader, _ http.Header, _ *openapi3.SchemaRef,
			_ openapi3filter.EncodingFn) (any, error) {
			b, err := io.ReadAll(body)
			return string(b), err
		})
		doc, err := openapi3.NewLoader().LoadFromData(docs.OpenAPI)
		if err != nil {
			contract.err = fmt.Errorf("docs/openapi.yaml: %w", err)
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			contract.err = fmt.Errorf("docs/openapi.yaml is not a valid OpenAPI document: %w", err)
			return
		}
		contract.router, contract.err = gorillamux.NewRouter(doc)
	})
	return contract.router, contract.err
}

// CheckContract validates a response of the API against docs/openapi.yaml:
// the operation exists, the status is documented, and the body matches its
// schema for that status and content type. Responses outside /api/v1 are not
// part of the contract.
func CheckContract(req *http.Request, w *httptest.ResponseRecorder) error {
	if !strings.HasPrefix(req.URL.Path, "/api/v1/") {
		return nil
	}
	router, err := contractRouter()
	if err != nil {
		return err
	}
	r := req.Clone(context.Background())
	route, params, err := router.FindRoute(r)
	if err != nil {
		return fmt.Errorf("%s %s is not in docs/openapi.yaml: %w", req.Method, req.URL.Path, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status: w.Code,
		Header: w.Header(),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: false,
			ExcludeRequestBody: true},
	}
	in.SetBodyBytes(w.Body.Bytes())
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		body := w.Body.String()
		if len(body) > 300 {
			body = body[:300] + "…"
		}
		return fmt.Errorf("%s %s answered %d against docs/openapi.yaml: %v\n%s", req.Method, req.URL.Path, w.Code, err, body)
	}
	return nil
}

// Check validates the response to a request a test built by hand (a
// multipart or tus upload, a file as the body, a byte range) against
// docs/openapi.yaml, as Send does for JSON requests: call it after
// h.ServeHTTP(w, req).
func Check(t testing.TB, req *http.Request, w *httptest.ResponseRecorder) {
	t.Helper()
	if err := CheckContract(req, w); err != nil {
		t.Errorf("contract: %v", err)
	}
}

// ValidContract reports whether docs/openapi.yaml loads and validates.
func ValidContract() error {
	_, err := contractRouter()
	return err
}
