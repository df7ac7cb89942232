// Package apperr defines the few error kinds that imply an HTTP status. Services
// return them (wrapped or not); one function in platform/web turns them into
// problem+json. It knows nothing of HTTP itself.
package apperr

import (
	"errors"
	"fmt"
)

// Kind classifies an error by what the caller can do about it.
type Kind int

// The kinds. Internal is the zero value so that an unclassified error is never
// mistaken for the client's fault.
const (
	Internal           Kind = iota
	Invalid                 // the input is wrong: 400 or 422 with field errors
	NotFound                // no such object, or not one the caller may know of
	Conflict                // the object exists or the state forbids the change
	PreconditionFailed      // If-Match did not match
	PreconditionNeeded      // If-Match is required but absent
	Forbidden               // authenticated, but not allowed
	Unauthenticated         // no or bad credentials
	TooManyRequests         // throttled
	Unavailable             // a dependency is down; retry later
	Gone                    // what the client refers to is no longer kept (start over)
	TooLarge                // the content is larger than allowed: 413
	UnsupportedMedia        // the content's type is not accepted: 415
)

func (k Kind) String() string {
	switch k {
	case Invalid:
		return "invalid"
	case NotFound:
		return "not_found"
	case Conflict:
		return "conflict"
	case PreconditionFailed:
		return "precondition_failed"
	case PreconditionNeeded:
		return "precondition_required"
	case Forbidden:
		return "forbidden"
	case Unauthenticated:
		return "unauthenticated"
	case TooManyRequests:
		return "too_many_requests"
	case Unavailable:
		return "unavailable"
	case Gone:
		return "gone"
	case TooLarge:
		return "too_large"
	case UnsupportedMedia:
		return "unsupported_media_type"
	default:
		return "internal"
	}
}

// FieldError is one problem with one input field. Field is the JSON path
// (members[2].birth_date); Code is stable for clients; Message is English.
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"detail"`
}

// Error is an error with a kind, a stable code and an English message safe to
// show to the client.
type Error struct {
	Kind    Kind
	Code    string // stable machine code, e.g. "household_not_found"; defaults to the kind
	Message string // English, safe for the client
	Fields  []FieldError
	// State is the object's current state, told with a Conflict so that a
	// client that lost a race sees where things stand.
	State string
	Err   error // the cause, never shown to the client
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.Kind.String()
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// CodeOrKind is the stable code, falling back to the kind's name.
func (e *Error) CodeOrKind() string {
	if e.Code != "" {
		return e.Code
	}
	return e.Kind.String()
}

// New makes an error of a kind with a stable code and a client-safe message.
func New(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap classifies a cause without exposing it.
func Wrap(err error, kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message, Err: err}
}

// FieldList collects field errors, to return together with Err.
type FieldList []FieldError

// Add notes a problem with a field.
func (f *FieldList) Add(field, code, format string, args ...any) {
	*f = append(*f, FieldError{Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
}

// Err is the Invalid error of the collected problems, nil when there are none.
func (f FieldList) Err() error { return Fields(f) }

// Fields is an Invalid error carrying field errors, or nil when there are none.
// Collect every field error first, then return them together.
func Fields(fe []FieldError) error {
	if len(fe) == 0 {
		return nil
	}
	return &Error{Kind: Invalid, Code: "validation_failed", Message: "the request has invalid fields", Fields: fe}
}

// As finds the *Error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// KindOf is the kind of err, Internal when it carries none.
func KindOf(err error) Kind {
	if e, ok := As(err); ok {
		return e.Kind
	}
	return Internal
}

// Is reports whether err is of kind k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }
