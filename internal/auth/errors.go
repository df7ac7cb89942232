package auth

import "github.com/ansinh/ansinh/internal/platform/apperr"

var (
	errBadCredentials = apperr.New(apperr.Unauthenticated, "invalid_credentials", "the username or password is wrong")
	errBadRefresh     = apperr.New(apperr.Unauthenticated, "invalid_refresh_token", "the refresh token is not valid; sign in again")

	errUserNotFound       = apperr.New(apperr.NotFound, "user_not_found", "no such user")
	errAssignmentNotFound = apperr.New(apperr.NotFound, "assignment_not_found", "no such active assignment")
	errGrantOutsideScope  = apperr.New(apperr.Forbidden, "grant_outside_scope",
		"you can grant roles only at areas inside your own")
	errOwnAccount     = apperr.New(apperr.Conflict, "own_account", "you cannot change the status of your own account")
	errOwnAssignments = apperr.New(apperr.Forbidden, "own_assignments",
		"you cannot grant, revoke or approve roles on your own account: another administrator must")
	errGrantNotPending = apperr.New(apperr.Conflict, "grant_not_pending", "this grant is not awaiting approval")
)

// errSessionEnded is a signed-in user's session that has ended (err, when
// not nil, is why it could not be read).
func errSessionEnded(err error) error {
	return apperr.Wrap(err, apperr.Unauthenticated, "session_ended", "the session has ended; sign in again")
}

// errStale is an update from a version that is no longer the user's.
func errStale(given, current int) error {
	return apperr.New(apperr.PreconditionFailed, "precondition_failed",
		"the user was changed since you read it (version %d, now %d)", given, current)
}
