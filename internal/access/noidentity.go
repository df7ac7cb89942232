package access

import (
	"context"

	"github.com/ansinh/ansinh/internal/platform/apperr"
)

// NoIdentity is the authorizer in force until sign-in exists (the identity
// issue): it knows nobody, so every protected route answers 401. It never
// grants anything.
type NoIdentity struct{}

// Scope always refuses.
func (NoIdentity) Scope(context.Context, string, string) (Scope, error) {
	return Scope{}, apperr.New(apperr.Unauthenticated, "unauthenticated", "sign in to use this route")
}
