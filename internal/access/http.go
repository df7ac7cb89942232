package access

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/ratelimit"
	"github.com/ansinh/ansinh/internal/platform/web"
)

// RouteInfo is a registered route and what it requires.
type RouteInfo struct {
	Method, Path     string
	Resource, Action string // empty for public or sign-in-only routes
	Public           bool   // no sign-in needed
	Kind             ratelimit.Kind
}

// Routes registers routes with the permission each requires, so that every
// route declares its resource and action (never a URL-keyed policy) and the
// authorization matrix test can enumerate them.
type Routes struct {
	group  *gin.RouterGroup
	authz  *Authorizer
	log    *slog.Logger
	list   *[]RouteInfo
	writes []gin.HandlerFunc
	limits *Limits        // nil: no rate limits
	kind   ratelimit.Kind // of the routes registered through this value (Kind)
}

// OnWrites adds middleware that runs, after the permission check, on every
// guarded route that changes something (POST, PUT, PATCH, DELETE): the
// Idempotency-Key handling.
func (r *Routes) OnWrites(mw ...gin.HandlerFunc) { r.writes = append(r.writes, mw...) }

// NewRoutes registers on group.
func NewRoutes(group *gin.RouterGroup, authz *Authorizer, log *slog.Logger) *Routes {
	return &Routes{group: group, authz: authz, log: log, list: &[]RouteInfo{}}
}

// List is every route registered so far.
func (r *Routes) List() []RouteInfo { return append([]RouteInfo(nil), *r.list...) }

func (r *Routes) add(info RouteInfo, handlers ...gin.HandlerFunc) {
	info.Path = r.group.BasePath() + info.Path
	info.Kind = r.kindOf(info.Method)
	*r.list = append(*r.list, info)
	if r.limits != nil {
		handlers = append([]gin.HandlerFunc{r.limits.middleware(info.Kind)}, handlers...)
	}
	r.group.Handle(info.Method, info.Path[len(r.group.BasePath()):], handlers...)
}

// Handle registers a route that requires the permission resource:action; the
// handler finds the actor's scope for it with ScopeFrom.
func (r *Routes) Handle(method, path, resource, action string, h web.HandlerFunc) {
	chain := []gin.HandlerFunc{r.guard(resource, action)}
	if method != http.MethodGet && method != http.MethodHead {
		chain = append(chain, r.writes...)
	}
	r.add(RouteInfo{Method: method, Path: path, Resource: resource, Action: action}, append(chain, web.Adapt(r.log, h))...)
}

// HandleStream registers a guarded route whose protocol makes retries safe
// by itself (tus uploads resume at the offset the server reports): the write
// middleware (Idempotency-Key), which would hold a whole body to replay it,
// does not run on it.
func (r *Routes) HandleStream(method, path, resource, action string, h web.HandlerFunc) {
	r.add(RouteInfo{Method: method, Path: path, Resource: resource, Action: action}, r.guard(resource, action), web.Adapt(r.log, h))
}

// Owner names the actor in ctx for per-caller records (idempotency keys).
func Owner(ctx context.Context) string {
	a, _ := ActorFrom(ctx)
	return a.Kind + ":" + a.Username
}

// SignedIn registers a route any signed-in user may call (their own profile),
// even one who must change their password first.
func (r *Routes) SignedIn(method, path string, h web.HandlerFunc) {
	r.add(RouteInfo{Method: method, Path: path}, func(c *gin.Context) {
		if _, ok := ActorFrom(c.Request.Context()); !ok {
			web.WriteProblem(c, r.log, errUnauthenticated)
			return
		}
		c.Next()
	}, web.Adapt(r.log, h))
}

// Public registers a route that needs no sign-in (signing in itself).
func (r *Routes) Public(method, path string, h web.HandlerFunc) {
	r.add(RouteInfo{Method: method, Path: path, Public: true}, web.Adapt(r.log, h))
}

var errMustChangePassword = apperr.New(apperr.Forbidden, "password_change_required",
	"change your password (POST /api/v1/me/password) before doing anything else")

func (r *Routes) guard(resource, action string) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx := c.Request.Context()
		scope, err := r.authz.Scope(ctx, resource, action)
		if err != nil {
			web.WriteProblem(c, r.log, err)
			return
		}
		if mustChangePassword(ctx) {
			web.WriteProblem(c, r.log, errMustChangePassword)
			return
		}
		c.Request = c.Request.WithContext(context.WithValue(ctx, scopeKey{}, scope))
		c.Next()
	}
}

type scopeKey struct{}

// ScopeFrom is the scope the route's guard granted (the zero Scope, which
// allows nothing, outside a guarded route).
func ScopeFrom(ctx context.Context) Scope {
	s, _ := ctx.Value(scopeKey{}).(Scope)
	return s
}

type mustChangeKey struct{}

// WithPasswordChangeRequired marks the actor as having to change their
// password before anything else.
func WithPasswordChangeRequired(ctx context.Context) context.Context {
	return context.WithValue(ctx, mustChangeKey{}, true)
}

func mustChangePassword(ctx context.Context) bool {
	v, _ := ctx.Value(mustChangeKey{}).(bool)
	return v
}
