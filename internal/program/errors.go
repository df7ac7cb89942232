package program

import "github.com/ansinh/ansinh/internal/platform/apperr"

var (
	errProgramNotFound    = apperr.New(apperr.NotFound, "program_not_found", "no such program")
	errEnrollmentNotFound = apperr.New(apperr.NotFound, "enrollment_not_found", "no such enrollment")
	errCampaignNotFound   = apperr.New(apperr.NotFound, "campaign_not_found", "no such campaign")
	errNationalProgram    = apperr.New(apperr.Forbidden, "national_program",
		"a national program changes with the law (a migration), not through the API; create a local program instead")
)

// wrongState refuses an action the enrollment's state does not allow.
func wrongState(action, state string) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: "enrollment_state", State: state,
		Message: "an enrollment that is " + state + " cannot " + action}
}
