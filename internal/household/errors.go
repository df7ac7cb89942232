package household

import "github.com/ansinh/ansinh/internal/platform/apperr"

var (
	errHouseholdNotFound = apperr.New(apperr.NotFound, "household_not_found", "no such household")
	errCommuneOutside    = apperr.New(apperr.Forbidden, "area_outside_scope", "you can register households only in your own communes")
	errNotCommune        = apperr.Fields([]apperr.FieldError{{Field: "commune_code", Code: "invalid", Message: "must be the code of a commune"}})
	errArchived          = apperr.New(apperr.Conflict, "household_archived", "the household is archived")
)

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
