package auth

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/approval"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/web"
)

// Handler serves sign-in, tokens and the signed-in user's own profile.
type Handler struct {
	svc   *Service
	authz *access.Authorizer
	log   *slog.Logger
}

// NewHandler makes the handlers.
func NewHandler(svc *Service, authz *access.Authorizer, log *slog.Logger) *Handler {
	return &Handler{svc: svc, authz: authz, log: log}
}

// Register mounts the routes.
func (h *Handler) Register(r *access.Routes) {
	r.Public(http.MethodPost, "/auth/login", h.login)
	r.Public(http.MethodPost, "/auth/refresh", h.refresh)
	r.Public(http.MethodPost, "/auth/logout", h.logout)
	r.SignedIn(http.MethodGet, "/me", h.me)
	r.SignedIn(http.MethodPost, "/me/password", h.changePassword)
}

// RegisterJWKS serves the public keys at /.well-known/jwks.json.
func (h *Handler) RegisterJWKS(e *gin.Engine) {
	e.GET("/.well-known/jwks.json", func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=300")
		c.JSON(http.StatusOK, gin.H{"keys": h.svc.Tokens().JWKS()})
	})
}

// Middleware authenticates a bearer token when one is sent and puts the actor
// in the request context; a bad token answers 401 at once. Requests without a
// token go on anonymous: the routes' guards refuse them where needed.
func (h *Handler) Middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		hdr := c.GetHeader("Authorization")
		if hdr == "" {
			c.Next()
			return
		}
		scheme, token, ok := strings.Cut(hdr, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			web.WriteProblem(c, h.log, apperr.New(apperr.Unauthenticated, "invalid_token", "use Authorization: Bearer <access token>"))
			return
		}
		actor, mustChange, err := h.svc.Authenticate(c.Request.Context(), token)
		if err != nil {
			c.Header("WWW-Authenticate", `Bearer error="invalid_token"`)
			web.WriteProblem(c, h.log, err)
			return
		}
		ctx := access.WithActor(c.Request.Context(), actor)
		if mustChange {
			ctx = access.WithPasswordChangeRequired(ctx)
		}
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type tokenResponse struct {
	AccessToken        string `json:"access_token"`
	TokenType          string `json:"token_type"`
	ExpiresIn          int    `json:"expires_in"`
	RefreshToken       string `json:"refresh_token"`
	RefreshExpiresIn   int    `json:"refresh_expires_in"`
	MustChangePassword bool   `json:"must_change_password"`
}

func sessionResponse(s Session) tokenResponse {
	return tokenResponse{AccessToken: s.AccessToken, TokenType: "Bearer",
		ExpiresIn: int(time.Until(s.AccessExpires).Seconds()), RefreshToken: s.RefreshToken,
		RefreshExpiresIn: int(time.Until(s.RefreshExpires).Seconds()), MustChangePassword: s.MustChangePassword}
}

func (h *Handler) login(c *gin.Context) error {
	var in loginRequest
	if err := web.BindJSON(c, &in); err != nil {
		return err
	}
	var fe []apperr.FieldError
	if strings.TrimSpace(in.Username) == "" || len(in.Username) > 64 {
		fe = append(fe, apperr.FieldError{Field: "username", Code: "required", Message: "is required (at most 64 characters)"})
	}
	if in.Password == "" || len(in.Password) > 256 {
		fe = append(fe, apperr.FieldError{Field: "password", Code: "required", Message: "is required (at most 256 characters)"})
	}
	if err := apperr.Fields(fe); err != nil {
		return err
	}
	s, err := h.svc.Login(c.Request.Context(), in.Username, in.Password, c.ClientIP())
	if err != nil {
		return throttled(c, err)
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, sessionResponse(s))
	return nil
}

// throttled passes err on, telling a throttled client when to come back.
func throttled(c *gin.Context, err error) error {
	if apperr.Is(err, apperr.TooManyRequests) {
		c.Header("Retry-After", "60")
	}
	return err
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

func bindRefresh(c *gin.Context) (string, error) {
	var in refreshRequest
	if err := web.BindJSON(c, &in); err != nil {
		return "", err
	}
	if in.RefreshToken == "" || len(in.RefreshToken) > 128 {
		return "", apperr.Fields([]apperr.FieldError{{Field: "refresh_token", Code: "required", Message: "is required"}})
	}
	return in.RefreshToken, nil
}

func (h *Handler) refresh(c *gin.Context) error {
	token, err := bindRefresh(c)
	if err != nil {
		return err
	}
	s, err := h.svc.Refresh(c.Request.Context(), token)
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, sessionResponse(s))
	return nil
}

func (h *Handler) logout(c *gin.Context) error {
	token, err := bindRefresh(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	if _, signedIn := access.ActorFrom(ctx); !signedIn {
		ctx = access.WithActor(ctx, systemAuth)
	}
	if err := h.svc.Logout(ctx, token); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

type assignmentDTO struct {
	Role        string `json:"role"`
	AreaEdition string `json:"area_edition"`
	AreaCode    string `json:"area_code"`
	AreaPath    string `json:"area_path"`
	// PastPaths: units of earlier editions the area took in whole.
	PastPaths []string `json:"past_paths,omitempty"`
}

type meResponse struct {
	ID                 uuid.UUID       `json:"id"`
	Username           string          `json:"username"`
	FullName           string          `json:"full_name"`
	Phone              string          `json:"phone,omitempty"`
	Email              string          `json:"email,omitempty"`
	MustChangePassword bool            `json:"must_change_password"`
	LastLoginAt        *time.Time      `json:"last_login_at,omitempty"`
	Assignments        []assignmentDTO `json:"assignments"`
	Permissions        []string        `json:"permissions"`
}

func (h *Handler) me(c *gin.Context) error {
	ctx := c.Request.Context()
	u, err := h.svc.Me(ctx)
	if err != nil {
		return err
	}
	actor, _ := access.ActorFrom(ctx)
	out := meResponse{ID: u.ID, Username: u.Username, FullName: u.FullName, Phone: u.Phone, Email: u.Email,
		MustChangePassword: u.MustChangePassword, LastLoginAt: u.LastLoginAt, Assignments: []assignmentDTO{}}
	var roles []string
	for _, a := range actor.Assignments {
		out.Assignments = append(out.Assignments, assignmentDTO{Role: a.Role, AreaEdition: a.AreaEdition, AreaCode: a.AreaCode, AreaPath: a.AreaPath,
			PastPaths: a.PastPaths})
		roles = append(roles, a.Role)
	}
	out.Permissions = h.authz.Permissions(roles...)
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
	return nil
}

type passwordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

func (h *Handler) changePassword(c *gin.Context) error {
	var in passwordRequest
	if err := web.BindJSON(c, &in); err != nil {
		return err
	}
	if len(in.NewPassword) > 256 || len(in.CurrentPassword) > 256 {
		return apperr.Fields([]apperr.FieldError{{Field: "new_password", Code: "too_long", Message: "must be at most 256 characters"}})
	}
	actor, _ := access.ActorFrom(c.Request.Context())
	if err := h.svc.ChangePassword(c.Request.Context(), actor.UserID, in.CurrentPassword, in.NewPassword, c.ClientIP()); err != nil {
		return throttled(c, err)
	}
	c.Status(http.StatusNoContent)
	return nil
}

// RegisterAdmin mounts the user administration routes (system_admin).
func (h *Handler) RegisterAdmin(r *access.Routes) {
	r.Handle(http.MethodGet, "/users", "user", "read", h.listUsers)
	r.Handle(http.MethodPost, "/users", "user", "write", h.createUser)
	r.Handle(http.MethodGet, "/users/:id", "user", "read", h.getUser)
	r.Handle(http.MethodPatch, "/users/:id", "user", "write", h.updateUser)
	r.Handle(http.MethodPost, "/users/:id/disable", "user", "write", h.setStatus(true))
	r.Handle(http.MethodPost, "/users/:id/enable", "user", "write", h.setStatus(false))
	r.Handle(http.MethodPost, "/users/:id/reset-password", "user", "write", h.resetPassword)
	r.Handle(http.MethodPost, "/users/:id/assignments", "user", "write", h.grant)
	r.Handle(http.MethodDelete, "/users/:id/assignments/:assignment", "user", "write", h.revoke)
	r.Handle(http.MethodPost, "/users/:id/assignments/:assignment/approve", "user", "write", h.decideGrant(approval.Approve))
	r.Handle(http.MethodPost, "/users/:id/assignments/:assignment/reject", "user", "write", h.decideGrant(approval.Reject))
}

type userDTO struct {
	ID                 uuid.UUID       `json:"id"`
	Username           string          `json:"username"`
	FullName           string          `json:"full_name"`
	Phone              string          `json:"phone,omitempty"`
	Email              string          `json:"email,omitempty"`
	Status             string          `json:"status"`
	MustChangePassword bool            `json:"must_change_password"`
	LastLoginAt        *time.Time      `json:"last_login_at,omitempty"`
	Version            int             `json:"version"`
	Assignments        []assignmentOut `json:"assignments"`
}

type assignmentOut struct {
	ID          uuid.UUID `json:"id"`
	Role        string    `json:"role"`
	AreaEdition string    `json:"area_edition"`
	AreaCode    string    `json:"area_code"`
	AreaPath    string    `json:"area_path"`
	Status      string    `json:"status"`
}

func assignmentOf(a AssignmentView) assignmentOut {
	return assignmentOut{ID: a.ID, Role: a.Role, AreaEdition: a.AreaEdition, AreaCode: a.AreaCode, AreaPath: a.AreaPath, Status: a.Status}
}

// pendingGrantOut is a grant awaiting a second administrator's approval.
type pendingGrantOut struct {
	Assignment assignmentOut `json:"assignment"`
	Approval   struct {
		State string `json:"state"`
	} `json:"approval"`
	User userDTO `json:"user"`
}

func userOut(v UserView) userDTO {
	out := userDTO{ID: v.ID, Username: v.Username, FullName: v.FullName, Phone: v.Phone, Email: v.Email, Status: v.Status,
		MustChangePassword: v.MustChangePassword, LastLoginAt: v.LastLoginAt, Version: v.Version, Assignments: []assignmentOut{}}
	for _, a := range v.Assignments {
		out.Assignments = append(out.Assignments, assignmentOf(a))
	}
	return out
}

func writeUser(c *gin.Context, status int, v UserView) error {
	web.SetVersionETag(c, v.Version)
	c.Header("Cache-Control", "no-store")
	c.JSON(status, userOut(v))
	return nil
}

// userID parses :id; a malformed one is simply not found.
func userID(c *gin.Context) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return uuid.Nil, errUserNotFound
	}
	return id, nil
}

func (h *Handler) listUsers(c *gin.Context) error {
	q := web.NewQuery(c)
	limit := q.Limit(50, 200)
	var after string
	q.Cursor(&after)
	if err := q.Err(); err != nil {
		return err
	}
	users, err := h.svc.ListUsers(c.Request.Context(), access.ScopeFrom(c.Request.Context()), after, limit+1)
	if err != nil {
		return err
	}
	page := web.PageOf(users, limit, userOut, func(u UserView) any { return u.Username })
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, page)
	return nil
}

type grantDTO struct {
	Role     string `json:"role"`
	AreaCode string `json:"area_code"`
}

type createUserRequest struct {
	Username    string     `json:"username"`
	FullName    string     `json:"full_name"`
	Phone       string     `json:"phone"`
	Email       string     `json:"email"`
	Password    string     `json:"password"`
	Assignments []grantDTO `json:"assignments"`
}

func (h *Handler) createUser(c *gin.Context) error {
	var in createUserRequest
	if err := web.BindJSON(c, &in); err != nil {
		return err
	}
	temp := in.Password
	if temp == "" {
		temp = OneTimePassword()
	}
	n := NewUser{Username: in.Username, FullName: in.FullName, Phone: in.Phone, Email: in.Email, Password: temp,
		MustChangePassword: true}
	for _, g := range in.Assignments {
		n.Assignments = append(n.Assignments, Grant(g))
	}
	v, err := h.svc.CreateUserIn(c.Request.Context(), access.ScopeFrom(c.Request.Context()), n)
	if err != nil {
		return err
	}
	c.Header("Location", "/api/v1/users/"+v.ID.String())
	c.Header("Cache-Control", "no-store")
	out := gin.H{"user": userOut(v)}
	if in.Password == "" {
		out["temporary_password"] = temp
	}
	c.JSON(http.StatusCreated, out)
	return nil
}

func (h *Handler) getUser(c *gin.Context) error {
	id, err := userID(c)
	if err != nil {
		return err
	}
	v, err := h.svc.GetUser(c.Request.Context(), access.ScopeFrom(c.Request.Context()), id)
	if err != nil {
		return err
	}
	return writeUser(c, http.StatusOK, v)
}

type updateUserRequest struct {
	FullName *string `json:"full_name"`
	Phone    *string `json:"phone"`
	Email    *string `json:"email"`
}

func (h *Handler) updateUser(c *gin.Context) error {
	id, err := userID(c)
	if err != nil {
		return err
	}
	var in updateUserRequest
	version, err := web.BindChange(c, &in)
	if err != nil {
		return err
	}
	v, err := h.svc.UpdateUser(c.Request.Context(), access.ScopeFrom(c.Request.Context()), id, version,
		UserPatch{FullName: in.FullName, Phone: in.Phone, Email: in.Email})
	if err != nil {
		return err
	}
	return writeUser(c, http.StatusOK, v)
}

type reasonRequest struct {
	Reason string `json:"reason"`
}

func (h *Handler) setStatus(disable bool) web.HandlerFunc {
	return func(c *gin.Context) error {
		id, err := userID(c)
		if err != nil {
			return err
		}
		var in reasonRequest
		if c.Request.ContentLength != 0 {
			if err := web.BindJSON(c, &in); err != nil {
				return err
			}
		}
		if disable && strings.TrimSpace(in.Reason) == "" {
			return apperr.Fields([]apperr.FieldError{{Field: "reason", Code: "required", Message: "say why the account is disabled"}})
		}
		v, err := h.svc.SetStatus(c.Request.Context(), access.ScopeFrom(c.Request.Context()), id, disable, in.Reason)
		if err != nil {
			return err
		}
		return writeUser(c, http.StatusOK, v)
	}
}

func (h *Handler) resetPassword(c *gin.Context) error {
	id, err := userID(c)
	if err != nil {
		return err
	}
	temp, err := h.svc.ResetPassword(c.Request.Context(), access.ScopeFrom(c.Request.Context()), id)
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"temporary_password": temp, "must_change_password": true})
	return nil
}

func (h *Handler) grant(c *gin.Context) error {
	id, err := userID(c)
	if err != nil {
		return err
	}
	var in grantDTO
	if err := web.BindJSON(c, &in); err != nil {
		return err
	}
	p, pending, err := h.svc.Grant(c.Request.Context(), access.ScopeFrom(c.Request.Context()), id, Grant(in))
	if err != nil {
		return err
	}
	if !pending {
		return writeUser(c, http.StatusCreated, p.User)
	}
	out := pendingGrantOut{Assignment: assignmentOf(p.Assignment), User: userOut(p.User)}
	out.Approval.State = p.State
	web.SetVersionETag(c, p.User.Version)
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusAccepted, out)
	return nil
}

// decideGrant approves or rejects a pending grant (a rejection needs a reason).
func (h *Handler) decideGrant(action approval.Action) web.HandlerFunc {
	return func(c *gin.Context) error {
		id, err := userID(c)
		if err != nil {
			return err
		}
		assignment, err := uuid.Parse(c.Param("assignment"))
		if err != nil {
			return errAssignmentNotFound
		}
		var in reasonRequest
		if c.Request.ContentLength != 0 {
			if err := web.BindJSON(c, &in); err != nil {
				return err
			}
		}
		v, err := h.svc.DecideGrant(c.Request.Context(), access.ScopeFrom(c.Request.Context()), id, assignment, action, in.Reason)
		if err != nil {
			return err
		}
		return writeUser(c, http.StatusOK, v)
	}
}

func (h *Handler) revoke(c *gin.Context) error {
	id, err := userID(c)
	if err != nil {
		return err
	}
	assignment, err := uuid.Parse(c.Param("assignment"))
	if err != nil {
		return errAssignmentNotFound
	}
	v, err := h.svc.Revoke(c.Request.Context(), access.ScopeFrom(c.Request.Context()), id, assignment)
	if err != nil {
		return err
	}
	return writeUser(c, http.StatusOK, v)
}
