package importer

import (
	"errors"

	"github.com/ansinh/ansinh/internal/platform/apperr"
)

func errMode() error {
	return apperr.Fields([]apperr.FieldError{{Field: "mode", Code: "invalid", Message: "must be dry_run, all_or_nothing or valid_only"}})
}

func errWhat() error {
	return apperr.Fields([]apperr.FieldError{{Field: "kind", Code: "invalid", Message: "must be households or history"}})
}

func errKind() error {
	return apperr.New(apperr.Invalid, "import_file", "send a CSV (text/csv) or XLSX file")
}

func errMediaType() error {
	return apperr.New(apperr.Invalid, "import_file", "send the file as text/csv or %s", XLSXType)
}

func errJobNotFound() error {
	return apperr.New(apperr.NotFound, "import_not_found", "no such import of yours")
}

// errTooManyJobs is a submission past the cap on a user's jobs.
func errTooManyJobs(n int) error {
	return apperr.New(apperr.TooManyRequests, "too_many_jobs",
		"you have %d import jobs queued or running, as many as one user may: submit this one when one has finished", n)
}

// fileProblem is a file that cannot be read as a whole (its rows' problems
// are Problems instead).
func fileProblem(format string, args ...any) error {
	return apperr.New(apperr.Invalid, "import_file", format, args...)
}

// errStop ends reading early (a context cancelled).
var errStop = errors.New("import stopped")

// errDoomed rolls back an all-or-nothing import that found an invalid household.
var errDoomed = errors.New("import: invalid households: nothing written")
