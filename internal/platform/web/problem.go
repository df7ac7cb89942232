package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
	"golang.org/x/text/language"

	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/reqinfo"
)

// Problem is an RFC 9457 problem details document, with ansinh's extensions:
// a stable machine code, the request id, and per-field errors.
type Problem struct {
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Detail    string       `json:"detail,omitempty"`
	Instance  string       `json:"instance,omitempty"`
	Code      string       `json:"code"`
	RequestID string       `json:"request_id,omitempty"`
	Errors    []FieldError `json:"errors,omitempty"`
	// CurrentState is the object's state when a conflict refused a change.
	CurrentState string `json:"current_state,omitempty"`
}

// FieldError is one field's problem in a Problem.
type FieldError struct {
	Field  string `json:"field"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// ProblemContentType is the media type of every error response.
const ProblemContentType = "application/problem+json"

// problemTypeBase prefixes the code to make the problem type URI.
const problemTypeBase = "urn:ansinh:problem:"

var statusOfKind = map[apperr.Kind]int{
	apperr.Invalid:            http.StatusUnprocessableEntity,
	apperr.NotFound:           http.StatusNotFound,
	apperr.Conflict:           http.StatusConflict,
	apperr.PreconditionFailed: http.StatusPreconditionFailed,
	apperr.PreconditionNeeded: http.StatusPreconditionRequired,
	apperr.Forbidden:          http.StatusForbidden,
	apperr.Unauthenticated:    http.StatusUnauthorized,
	apperr.TooManyRequests:    http.StatusTooManyRequests,
	apperr.Unavailable:        http.StatusServiceUnavailable,
	apperr.Gone:               http.StatusGone,
	apperr.TooLarge:           http.StatusRequestEntityTooLarge,
	apperr.UnsupportedMedia:   http.StatusUnsupportedMediaType,
	apperr.Internal:           http.StatusInternalServerError,
}

// statusError is a problem the plumbing raises with an explicit status (405,
// 413, 415, 400) that no domain kind implies.
type statusError struct {
	status int
	code   string
}

func (e *statusError) Error() string { return e.code }

func newPlumbingError(status int, code string) error { return &statusError{status: status, code: code} }

// classification is what the client is told about an error.
type classification struct {
	status   int
	code     string
	detailEN string
	fields   []apperr.FieldError
	state    string
}

// codeTimeout is a request past its deadline (Deadline), a statement past
// statement_timeout or a lock wait past lock_timeout (db.MapError).
const codeTimeout = "timeout"

// classify maps err, raised while serving a request with context ctx, to what
// the client is told. The context tells the two ends of a request apart: the
// client went away (canceled: 499) or the server's own deadline passed (503
// timeout, whatever the driver made of it: a closed connection, a refused
// commit).
func classify(ctx context.Context, err error) classification {
	var se *statusError
	if errors.As(err, &se) {
		return classification{status: se.status, code: se.code}
	}
	if errors.Is(err, context.Canceled) || errors.Is(ctx.Err(), context.Canceled) {
		// The client went away (a timeout, a cancelled request): nothing to
		// answer and nothing the server did wrong (nginx's 499).
		return classification{status: 499, code: "client_closed_request"}
	}
	if cl := classifyKind(err); cl.status != http.StatusInternalServerError || !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return cl
	}
	return classification{status: http.StatusServiceUnavailable, code: codeTimeout}
}

func classifyKind(err error) classification {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return classification{status: http.StatusRequestEntityTooLarge, code: codeTooLarge}
	}
	e, ok := apperr.As(err)
	if !ok && db.ConnectionLost(err) {
		// A lost connection a store returned without db.MapError is the same
		// outage: 503 with Retry-After, never 500.
		e, ok = apperr.As(db.MapError(err))
	}
	if !ok && errors.Is(err, context.DeadlineExceeded) {
		return classification{status: http.StatusServiceUnavailable, code: codeTimeout}
	}
	if !ok || e.Kind == apperr.Internal {
		return classification{status: http.StatusInternalServerError, code: "internal"}
	}
	status := statusOfKind[e.Kind]
	if e.Kind == apperr.Invalid && e.Code == codeInvalidJSON {
		status = http.StatusBadRequest
	}
	return classification{status: status, code: e.CodeOrKind(), detailEN: e.Message, fields: e.Fields, state: e.State}
}

// Vietnamese is chosen when the client prefers it; English otherwise.
var langMatcher = language.NewMatcher([]language.Tag{language.English, language.Vietnamese})

func wantsVietnamese(r *http.Request) bool {
	h := r.Header.Get("Accept-Language")
	if h == "" {
		return false
	}
	tags, _, err := language.ParseAcceptLanguage(h)
	if err != nil || len(tags) == 0 {
		return false
	}
	_, idx, conf := langMatcher.Match(tags...)
	return idx == 1 && conf != language.No
}

// NewProblem builds the problem document for err as the client will see it.
// Internal errors never expose their cause.
func NewProblem(r *http.Request, err error) Problem {
	cl := classify(r.Context(), err)
	vi := wantsVietnamese(r)
	p := Problem{
		Type:         problemTypeBase + cl.code,
		Title:        title(cl.status, vi),
		Status:       cl.status,
		Detail:       detail(cl.code, cl.detailEN, vi),
		Instance:     r.URL.Path,
		Code:         cl.code,
		RequestID:    reqinfo.From(r.Context()).RequestID,
		CurrentState: cl.state,
	}
	for _, f := range cl.fields {
		p.Errors = append(p.Errors, FieldError{Field: f.Field, Code: f.Code, Detail: fieldDetail(f, vi)})
	}
	return p
}

// WriteProblem writes err as problem+json (unless a response was already
// started) and aborts the handler chain. Server errors are logged once, here,
// with their cause; client errors are not (the access log has them).
func WriteProblem(c *gin.Context, log *slog.Logger, err error) {
	p := NewProblem(c.Request, err)
	if p.Status >= 500 && log != nil {
		log.ErrorContext(c.Request.Context(), "request failed",
			"request_id", p.RequestID, "route", c.FullPath(), "status", p.Status, "error", err.Error())
	}
	_ = c.Error(err)
	if c.Writer.Written() {
		c.Abort()
		return
	}
	if p.Status == http.StatusServiceUnavailable || p.Status == http.StatusTooManyRequests {
		if c.Writer.Header().Get("Retry-After") == "" {
			c.Header("Retry-After", "5")
		}
	}
	b, mErr := json.Marshal(p)
	if mErr != nil { // cannot happen for this struct; never leave the client without a status
		c.AbortWithStatus(p.Status)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Data(p.Status, ProblemContentType, b)
	c.Abort()
}
