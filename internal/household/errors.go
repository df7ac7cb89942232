package household

import (
	"errors"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/platform/apperr"
)

var (
	errHouseholdNotFound   = apperr.New(apperr.NotFound, "household_not_found", "no such household")
	errCommuneOutside      = apperr.New(apperr.Forbidden, "area_outside_scope", "you can register households only in your own communes")
	errNotCommune          = apperr.Fields([]apperr.FieldError{{Field: "commune_code", Code: "invalid", Message: "must be the code of a commune"}})
	errArchived            = apperr.New(apperr.Conflict, "household_archived", "the household is archived")
	errHeadMustChangeFirst = apperr.New(apperr.Conflict, "head_must_change_first", "choose a new head before the head leaves the household")
	errNoMember            = apperr.New(apperr.NotFound, "member_not_found", "no such member")
	errCandidateNotFound   = apperr.New(apperr.NotFound, "candidate_not_found", "no such duplicate candidate")
	errRevealNotAllowed    = apperr.New(apperr.Forbidden, "reveal_not_allowed", "your role may not see full ID numbers here")
)

// errUnchanged ends a change that has nothing to do, before it writes anything.
var errUnchanged = errors.New("household: unchanged")

// errMemberNotFound: no present member with this id in the household.
func errMemberNotFound(id uuid.UUID) error {
	return apperr.New(apperr.NotFound, "member_not_found", "no present member %s in this household", id)
}

// errStale is the 412 for a change made from an older version.
func errStale(version, now int) error {
	return apperr.New(apperr.PreconditionFailed, "precondition_failed",
		"the household was changed since you read it (version %d, now %d): read it again", version, now)
}

// idRegistered is the 409 for an ID number another present person holds:
// with a pointer when the caller may see that record, without when not.
func idRegistered(field string, visible bool, householdID, memberID string) error {
	if !visible {
		return &apperr.Error{Kind: apperr.Conflict, Code: "id_registered_elsewhere",
			Message: "this ID number is registered to a person outside your area",
			Fields:  []apperr.FieldError{{Field: field, Code: "registered_elsewhere", Message: "is registered elsewhere"}}}
	}
	return &apperr.Error{Kind: apperr.Conflict, Code: "id_registered",
		Message: "this ID number is already registered: member " + memberID + " of household " + householdID,
		Fields:  []apperr.FieldError{{Field: field, Code: "registered", Message: "belongs to member " + memberID + " of household " + householdID}}}
}
