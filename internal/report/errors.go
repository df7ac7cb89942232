package report

import "github.com/ansinh/ansinh/internal/platform/apperr"

// errNoArea answers a code that names no administrative area (422).
func errNoArea(field string) error {
	return apperr.Fields([]apperr.FieldError{{Field: field, Code: "invalid", Message: "must be the code of an administrative area"}})
}

// errAreaOutsideScope answers a report on an area the caller has no part of:
// not found, so that it does not tell which areas exist.
func errAreaOutsideScope(code string) error {
	return apperr.New(apperr.NotFound, "area_outside_scope", "area %s is outside your areas", code)
}

// errTargetOutsideScope answers a target for an area above the caller's.
func errTargetOutsideScope() error {
	return apperr.New(apperr.Forbidden, "area_outside_scope", "you set targets only for your own areas")
}

func errListNotFound(kind string) error {
	return apperr.New(apperr.NotFound, "list_not_found", "no list %q", kind)
}

func errProgramRequired() error {
	return apperr.Fields([]apperr.FieldError{{Field: "program", Code: "required", Message: "name the program whose enrollees to list"}})
}

func errPeriod() error {
	return apperr.Fields([]apperr.FieldError{{Field: "to", Code: "invalid", Message: "is before from"}})
}

func errFormat() error {
	return apperr.Fields([]apperr.FieldError{{Field: "format", Code: "invalid", Message: "must be json, csv or xlsx"}})
}
