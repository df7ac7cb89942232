package complaint

import "github.com/ansinh/ansinh/internal/platform/apperr"

// The package's errors, by stable code.
var (
	errNotFound          = apperr.New(apperr.NotFound, "complaint_not_found", "no such complaint in your areas")
	errHouseholdNotFound = apperr.Fields([]apperr.FieldError{{Field: "household_id", Code: "not_found", Message: "no such household in your areas"}})
	errSubjectNotFound   = apperr.Fields([]apperr.FieldError{{Field: "subject_id", Code: "not_found",
		Message: "no record of that kind of the household's: a classification change, an enrollment or a delivery"}})
	errNotHandler    = apperr.New(apperr.Forbidden, "not_the_handler", "the complaint is settled at another level than yours")
	errNoHigherLevel = apperr.New(apperr.Conflict, "no_higher_level", "the complaint was settled at the highest level the registry knows: the complainant may go to court")
)

// errState is a step the complaint's state does not allow.
func errState(state, step string) error {
	return apperr.New(apperr.Conflict, "complaint_state", "a complaint that is %s cannot be %s", state, step)
}
