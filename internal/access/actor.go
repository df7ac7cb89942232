// Package access knows who is acting (the Actor in a request's context) and
// where they may act (their Scope: the administrative-area paths of their role
// assignments). The Casbin enforcer and the role policy live here too once the
// identity issue lands.
package access

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// Actor kinds.
const (
	KindUser   = "user"
	KindSystem = "system"
)

// Assignment is one role held at one administrative area.
type Assignment struct {
	Role        string `json:"role"`
	AreaEdition string `json:"area_edition"` // of the list of units
	AreaCode    string `json:"area"`
	// AreaPath is the area's ltree path, e.g. 91.914.30791.
	AreaPath string `json:"area_path"`
	// PastPaths are the paths of units of earlier editions the area took in
	// whole: records made under them are in the assignment's scope.
	PastPaths []string `json:"past_paths,omitempty"`
}

// Actor is whoever performs an action: a signed-in user, or a named system
// job (a CLI command, the sealer) that acts everywhere.
type Actor struct {
	Kind        string
	UserID      uuid.UUID // zero for system actors
	Username    string    // the user's name, or the system job's name
	Assignments []Assignment
}

// System is the actor of a command-line job or background task.
func System(name string) Actor { return Actor{Kind: KindSystem, Username: "system:" + name} }

// IsSystem reports whether the actor is a system job.
func (a Actor) IsSystem() bool { return a.Kind == KindSystem }

type actorKey struct{}

// WithActor returns ctx carrying the actor.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom is the actor in ctx, if any.
func ActorFrom(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok && a.Username != ""
}

// Scope is the set of area subtrees an actor may act on for one permission.
// The zero Scope allows nothing; Everywhere allows all (system jobs only).
type Scope struct {
	everywhere bool
	paths      []string
}

// Everywhere is the unlimited scope of system jobs.
func Everywhere() Scope { return Scope{everywhere: true} }

// Within is a scope over the subtrees rooted at the given ltree paths.
func Within(paths ...string) Scope {
	return Scope{paths: append([]string(nil), paths...)}
}

// IsEverywhere reports whether the scope is unlimited.
func (s Scope) IsEverywhere() bool { return s.everywhere }

// Paths are the subtree roots (empty for Everywhere).
func (s Scope) Paths() []string { return s.paths }

// Empty reports whether the scope allows nothing.
func (s Scope) Empty() bool { return !s.everywhere && len(s.paths) == 0 }

// Contains reports whether an object at areaPath lies in the scope. An object
// with no area is only in the unlimited scope.
func (s Scope) Contains(areaPath string) bool {
	if s.everywhere {
		return true
	}
	if areaPath == "" {
		return false
	}
	for _, p := range s.paths {
		if areaPath == p || strings.HasPrefix(areaPath, p+".") {
			return true
		}
	}
	return false
}

// Fingerprint identifies the scope's subtrees, whatever their order: a sync
// position records it, so that a client whose areas changed since (a role
// re-bound by a reorganization, granted or revoked) starts over instead of
// keeping copies it may no longer hold.
func (s Scope) Fingerprint() string {
	if s.everywhere {
		return "*"
	}
	paths := slices.Clone(s.paths)
	slices.Sort(paths)
	sum := sha256.Sum256([]byte(strings.Join(slices.Compact(paths), " ")))
	return base64.RawURLEncoding.EncodeToString(sum[:9])
}

// SQL is a condition limiting column (an ltree path) to the scope, with its
// arguments: one `column <@ path` per subtree, ORed, so that a GiST index on
// the column serves each (an ltree[] argument would not use it). Everywhere
// is TRUE; an empty scope, FALSE.
func (s Scope) SQL(column string) (string, []any) {
	if s.everywhere {
		return "TRUE", nil
	}
	if len(s.paths) == 0 {
		return "FALSE", nil
	}
	parts := make([]string, len(s.paths))
	args := make([]any, len(s.paths))
	for i, p := range s.paths {
		parts[i] = column + " <@ ?::ltree"
		args[i] = p
	}
	return "(" + strings.Join(parts, " OR ") + ")", args
}

// ActorID is the signed-in user acting in ctx, for created_by and updated_by
// columns: nil for a system job or without an actor.
func ActorID(ctx context.Context) *uuid.UUID {
	a, _ := ActorFrom(ctx)
	if a.UserID == uuid.Nil {
		return nil
	}
	return &a.UserID
}
