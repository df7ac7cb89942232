package audit

import (
	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/platform/apperr"
)

// errNoEvent answers an event id that is not a UUID.
var errNoEvent = apperr.New(apperr.NotFound, "audit_event_not_found", "no such audit event")

// eventNotFound answers an event that does not exist or lies outside the scope.
func eventNotFound(id uuid.UUID) error {
	return apperr.New(apperr.NotFound, "audit_event_not_found", "no audit event %s", id)
}

// errAreaNotPath refuses an events filter whose area is not an ltree path.
var errAreaNotPath = apperr.Fields([]apperr.FieldError{{Field: "area", Code: "invalid", Message: "must be an area path such as 91.914"}})

// exportTooLarge refuses a CSV export of more than MaxExport events.
func exportTooLarge(n int64) error {
	return apperr.New(apperr.Invalid, "export_too_large",
		"the filter matches %d events; narrow it (from, to, area) to at most %d", n, MaxExport)
}
