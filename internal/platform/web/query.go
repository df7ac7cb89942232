package web

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/platform/apperr"
)

// Query parses query parameters, collecting every problem so that the client
// hears about all of them at once (Err returns them as one 422).
type Query struct {
	c    *gin.Context
	errs []apperr.FieldError
}

// NewQuery starts parsing c's query parameters.
func NewQuery(c *gin.Context) *Query { return &Query{c: c} }

func (q *Query) bad(name, code, msg string) {
	q.errs = append(q.errs, apperr.FieldError{Field: name, Code: code, Message: msg})
}

// Invalid records a problem the caller's own check found with a parameter.
func (q *Query) Invalid(name, msg string) { q.bad(name, "invalid", msg) }

// String is the parameter as given ("" when absent), limited to max bytes.
func (q *Query) String(name string, max int) string {
	v := q.c.Query(name)
	if len(v) > max {
		q.bad(name, "too_long", fmt.Sprintf("must be at most %d characters", max))
		return ""
	}
	return v
}

// Enum is the parameter when it is one of allowed ("" when absent); any other
// value is a problem naming the parameter, rather than a filter that matches
// nothing.
func (q *Query) Enum(name string, allowed ...string) string {
	v := q.c.Query(name)
	if v == "" || slices.Contains(allowed, v) {
		return v
	}
	q.bad(name, "invalid", "must be one of "+strings.Join(allowed, ", "))
	return ""
}

// UUID is the parameter as a UUID, nil when absent.
func (q *Query) UUID(name string) *uuid.UUID {
	v := q.c.Query(name)
	if v == "" {
		return nil
	}
	id, err := uuid.Parse(v)
	if err != nil {
		q.bad(name, "invalid", "must be a UUID")
		return nil
	}
	return &id
}

// Time is the parameter as an RFC 3339 time, nil when absent.
func (q *Query) Time(name string) *time.Time {
	v := q.c.Query(name)
	if v == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		q.bad(name, "invalid", "must be an RFC 3339 time such as 2026-11-28T09:00:00+07:00")
		return nil
	}
	t = t.UTC()
	return &t
}

// Date is the parameter as a calendar date (YYYY-MM-DD), nil when absent.
func (q *Query) Date(name string) *time.Time {
	v := q.c.Query(name)
	if v == "" {
		return nil
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		q.bad(name, "invalid", "must be a date such as 2026-11-28")
		return nil
	}
	return &t
}

// Bool is the parameter as true/false, nil when absent.
func (q *Query) Bool(name string) *bool {
	switch q.c.Query(name) {
	case "":
		return nil
	case "true", "1":
		v := true
		return &v
	case "false", "0":
		v := false
		return &v
	}
	q.bad(name, "invalid", "must be true or false")
	return nil
}

// Int is the parameter as a whole number within min..max, -1 when absent.
func (q *Query) Int(name string, min, max int) int {
	v := q.c.Query(name)
	if v == "" {
		return -1
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		q.bad(name, "invalid", fmt.Sprintf("must be a whole number from %d to %d", min, max))
		return -1
	}
	return n
}

// Limit is the page size: def when absent, within 1..max.
func (q *Query) Limit(def, max int) int {
	v := q.c.Query("limit")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		q.bad("limit", "invalid", fmt.Sprintf("must be a whole number from 1 to %d", max))
		return def
	}
	return n
}

// Cursor decodes the opaque ?cursor= into dst; it reports whether one was given.
func (q *Query) Cursor(dst any) bool {
	v := q.c.Query("cursor")
	if v == "" {
		return false
	}
	if err := DecodeCursor(v, dst); err != nil {
		q.bad("cursor", "invalid", "is not a cursor this server issued")
		return false
	}
	return true
}

// Require records a problem when the parameter is absent.
func (q *Query) Require(name string) {
	if q.c.Query(name) == "" {
		q.bad(name, "required", "is required")
	}
}

// Err is the collected problems as one Invalid error, or nil.
func (q *Query) Err() error { return apperr.Fields(q.errs) }

// EncodeCursor makes an opaque pagination cursor of a position.
func EncodeCursor(pos any) string {
	b, err := json.Marshal(pos)
	if err != nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor reads a cursor made by EncodeCursor.
func DecodeCursor(s string, dst any) error {
	if len(s) > 512 {
		return fmt.Errorf("cursor too long")
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, dst)
}

// Page is a list response: the items and, when more follow, the cursor of the
// next page.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// PageOf builds a page from rows fetched with limit+1: the extra row only says
// that more follow, and the last kept row's position becomes the cursor. A nil
// position function means the list has no next page (ranked search results).
func PageOf[T, U any](rows []T, limit int, toDTO func(T) U, position func(T) any) Page[U] {
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	page := Page[U]{Items: make([]U, 0, len(rows))}
	for _, r := range rows {
		page.Items = append(page.Items, toDTO(r))
	}
	if more && position != nil {
		page.NextCursor = EncodeCursor(position(rows[len(rows)-1]))
	}
	return page
}

// ServeIDPage answers one page of a list kept in id order: it reads limit
// (default def, at most max) and the cursor, returns any bad parameter of q,
// fetches limit+1 rows after the cursor's id, and writes the page uncached
// (lists hold personal data).
func ServeIDPage[T, U any](c *gin.Context, q *Query, def, max int,
	fetch func(ctx context.Context, after uuid.UUID, limit int) ([]T, error), toDTO func(T) U, id func(T) uuid.UUID) error {
	limit := q.Limit(def, max)
	var after uuid.UUID
	q.Cursor(&after)
	if err := q.Err(); err != nil {
		return err
	}
	rows, err := fetch(c.Request.Context(), after, limit+1)
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, PageOf(rows, limit, toDTO, func(r T) any { return id(r) }))
	return nil
}
