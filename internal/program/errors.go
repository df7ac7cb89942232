package program

import (
	"fmt"

	"github.com/ansinh/ansinh/internal/platform/apperr"
)

var (
	errProgramNotFound    = apperr.New(apperr.NotFound, "program_not_found", "no such program")
	errEnrollmentNotFound = apperr.New(apperr.NotFound, "enrollment_not_found", "no such enrollment")
	errCampaignNotFound   = apperr.New(apperr.NotFound, "campaign_not_found", "no such campaign")
	errHouseholdNotFound  = apperr.New(apperr.NotFound, "household_not_found", "no such household")
	errNationalProgram    = apperr.New(apperr.Forbidden, "national_program",
		"a national program changes with the law (a migration), not through the API; create a local program instead")
	errNotCampaignProgram = apperr.New(apperr.Conflict, "not_a_campaign_program", "only gift and relief programs run campaigns")
	errBudgetNeedsVersion = apperr.New(apperr.PreconditionNeeded, "precondition_required",
		"this budget exists: send If-Match with the version you read")
	errPackageDelivered = apperr.New(apperr.Conflict, "package_delivered", "this enrollment already received its package of this campaign")
)

// wrongState refuses an action the enrollment's state does not allow.
func wrongState(action, state string) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: "enrollment_state", State: state,
		Message: "an enrollment that is " + state + " cannot " + action}
}

// stale refuses a change made at a version that is no longer the stored one;
// state is the object's state when it has one (enrollments), else empty.
func stale(what string, version, now int, state string) error {
	return &apperr.Error{Kind: apperr.PreconditionFailed, Code: "precondition_failed", State: state,
		Message: fmt.Sprintf("the %s was changed since you read it (version %d, now %d): read it again", what, version, now)}
}

// fieldError is a single invalid field.
func fieldError(field, code, message string) error {
	return apperr.Fields([]apperr.FieldError{{Field: field, Code: code, Message: message}})
}
