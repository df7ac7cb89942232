package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/platform/apperr"
)

// BindJSON decodes the request body into dst strictly: the body must be
// application/json, one JSON value, with no unknown fields. Errors are
// client-facing (400, 413, 415, 422 with the offending field) and never 500.
// Domain validation happens after, in the service, which collects every field
// error at once.
func BindJSON(c *gin.Context, dst any) error {
	ct := c.GetHeader("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return newPlumbingError(http.StatusUnsupportedMediaType, codeUnsupportedMedia)
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return apperr.Wrap(err, apperr.Invalid, codeInvalidJSON, "the request body could not be read")
	}
	if !utf8.Valid(body) && json.Valid(body) {
		// Bytes that are not UTF-8 inside strings: encoding/json would store
		// U+FFFD in their place. (Outside strings, they are a syntax error.)
		var fe apperr.FieldList
		for _, f := range notUTF8("", body, nil) {
			fe.Add(f, "invalid_utf8", "is not UTF-8 text")
		}
		return fe.Err()
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err, body, dst)
	}
	if dec.More() {
		return apperr.New(apperr.Invalid, codeInvalidJSON, "the request body holds more than one JSON value")
	}
	return nil
}

func jsonError(err error, body []byte, dst any) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return apperr.New(apperr.Invalid, codeInvalidJSON, "the request body is empty")
	case errors.As(err, &syn):
		return apperr.New(apperr.Invalid, codeInvalidJSON, "the request body is not valid JSON (at byte %d)", syn.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(body)"
		}
		return apperr.Fields([]apperr.FieldError{{Field: field, Code: "type", Message: fmt.Sprintf("must be %s", jsonKind(typ.Type.Kind().String()))}})
	}
	const unknownPrefix = "json: unknown field "
	if msg := err.Error(); len(msg) > len(unknownPrefix) && msg[:len(unknownPrefix)] == unknownPrefix {
		var name string
		_ = json.Unmarshal([]byte(msg[len(unknownPrefix):]), &name)
		return apperr.Fields([]apperr.FieldError{{Field: name, Code: "unknown", Message: "is not a known field"}})
	}
	// A field's own UnmarshalJSON or UnmarshalText refused its value (a
	// malformed UUID): encoding/json does not say which field, so find it.
	if t := reflect.TypeOf(dst); t != nil && t.Kind() == reflect.Pointer && json.Valid(body) {
		if field, ft := refusedValue("", body, t.Elem()); field != "" {
			return apperr.Fields([]apperr.FieldError{{Field: field, Code: "invalid", Message: refusedMessage(ft)}})
		}
	}
	return apperr.Wrap(err, apperr.Invalid, codeInvalidJSON, "the request body is not valid JSON for this operation")
}

// refusedMessage tells what a value of type t, which its own decoder
// refused, must be.
func refusedMessage(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[uuid.UUID]():
		return "must be a UUID"
	case reflect.TypeFor[time.Time]():
		return "must be an RFC 3339 time such as 2026-11-28T09:00:00+07:00"
	}
	return "is not valid"
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	default:
		return "a number"
	}
}

// ParseDate reads a calendar date (YYYY-MM-DD) from a request field, noting
// a problem in fe when it is malformed, or missing and required. It returns
// nil when the field is empty or bad.
func ParseDate(fe *apperr.FieldList, field, s string, required bool) *time.Time {
	if s == "" {
		if required {
			fe.Add(field, "required", "is required (YYYY-MM-DD)")
		}
		return nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		fe.Add(field, "invalid", "must be a date, YYYY-MM-DD")
		return nil
	}
	return &t
}
