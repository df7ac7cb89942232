package access

import (
	"context"
	"encoding/csv"
	"fmt"
	"sort"
	"strings"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"

	"github.com/ansinh/ansinh/internal/platform/apperr"
)

// Authorizer decides, for the actor in a context, whether their roles allow an
// action on a kind of resource (Casbin, policy in configs/) and where: the
// scope is the areas of the assignments whose role allows it.
type Authorizer struct {
	enforcer *casbin.Enforcer
}

// NewAuthorizer loads the model and the policy lines ("p, role, resource, action").
func NewAuthorizer(modelText, policyCSV string) (*Authorizer, error) {
	m, err := model.NewModelFromString(modelText)
	if err != nil {
		return nil, fmt.Errorf("access: casbin model: %w", err)
	}
	e, err := casbin.NewEnforcer(m)
	if err != nil {
		return nil, fmt.Errorf("access: casbin: %w", err)
	}
	r := csv.NewReader(strings.NewReader(policyCSV))
	r.Comment = '#'
	r.TrimLeadingSpace = true
	r.FieldsPerRecord = -1
	lines, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("access: policy: %w", err)
	}
	var rules [][]string
	for _, l := range lines {
		if len(l) != 4 || l[0] != "p" {
			return nil, fmt.Errorf("access: policy line %q: want p, role, resource, action", strings.Join(l, ","))
		}
		rules = append(rules, l[1:])
	}
	if _, err := e.AddPolicies(rules); err != nil {
		return nil, fmt.Errorf("access: policy: %w", err)
	}
	return &Authorizer{enforcer: e}, nil
}

// Allows reports whether the role may perform action on resource.
func (a *Authorizer) Allows(role, resource, action string) bool {
	ok, err := a.enforcer.Enforce(role, resource, action)
	return err == nil && ok
}

// Permissions lists "resource:action" for the roles, sorted.
func (a *Authorizer) Permissions(roles ...string) []string {
	set := map[string]bool{}
	for _, role := range roles {
		rules, _ := a.enforcer.GetFilteredPolicy(0, role)
		for _, r := range rules {
			set[r[1]+":"+r[2]] = true
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

var (
	errUnauthenticated = apperr.New(apperr.Unauthenticated, "unauthenticated", "sign in to use this route")
	errForbidden       = apperr.New(apperr.Forbidden, "forbidden", "your role does not allow this")
)

// Scope is where the actor in ctx may perform action on resource: 401 without
// an actor, 403 when no role of theirs allows it.
func (a *Authorizer) Scope(ctx context.Context, resource, action string) (Scope, error) {
	actor, ok := ActorFrom(ctx)
	if !ok {
		return Scope{}, errUnauthenticated
	}
	if actor.IsSystem() {
		return Everywhere(), nil
	}
	var paths []string
	for _, as := range actor.Assignments {
		if a.Allows(as.Role, resource, action) {
			paths = append(paths, as.AreaPath)
			paths = append(paths, as.PastPaths...)
		}
	}
	if len(paths) == 0 {
		return Scope{}, errForbidden
	}
	return Within(paths...), nil
}
