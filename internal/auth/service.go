package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// Service signs users in and out and answers who a token's bearer is.
type Service struct {
	db         *db.DB
	store      store
	throttle   throttle
	tokens     *Tokens
	refreshTTL time.Duration
	cacheTTL   time.Duration
	log        *slog.Logger

	mu       sync.Mutex
	sessions map[uuid.UUID]cachedSession
}

// Options configure the service.
type Options struct {
	RefreshTTL      time.Duration
	SessionCacheTTL time.Duration
	Logger          *slog.Logger
}

// NewService makes the identity service.
func NewService(pool *db.DB, tokens *Tokens, opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{db: pool, store: store{pool}, throttle: throttle{pool}, tokens: tokens,
		refreshTTL: opts.RefreshTTL, cacheTTL: opts.SessionCacheTTL, log: opts.Logger,
		sessions: map[uuid.UUID]cachedSession{}}
}

// Tokens is the access-token signer (for the JWKS endpoint).
func (s *Service) Tokens() *Tokens { return s.tokens }

// Session is what a sign-in returns.
type Session struct {
	AccessToken        string
	AccessExpires      time.Time
	RefreshToken       string
	RefreshExpires     time.Time
	MustChangePassword bool
}

var (
	errBadCredentials = apperr.New(apperr.Unauthenticated, "invalid_credentials", "the username or password is wrong")
	errBadRefresh     = apperr.New(apperr.Unauthenticated, "invalid_refresh_token", "the refresh token is not valid; sign in again")
)

// systemAuth is the actor of authentication events that have no signed-in user.
var systemAuth = access.System("auth")

// Login checks a username and password. Unknown users and wrong passwords get
// the same answer after the same work; every attempt is an audit event.
func (s *Service) Login(ctx context.Context, username, password, clientIP string) (Session, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	keys := []string{"user:" + username, "ip:" + clientIP}
	for _, k := range keys {
		wait, err := s.throttle.lockedFor(ctx, k)
		if err != nil {
			return Session{}, err
		}
		if wait > 0 {
			s.recordAuth(ctx, systemAuth, "auth.login_throttled", "unknown", map[string]any{"username": username})
			return Session{}, &apperr.Error{Kind: apperr.TooManyRequests, Code: "login_throttled",
				Message: fmt.Sprintf("too many failed sign-ins; retry in %d seconds", int(wait.Seconds())+1)}
		}
	}
	u, found, err := s.store.userBy(ctx, "username", username)
	if err != nil {
		return Session{}, db.MapError(err)
	}
	hash := dummyHash
	if found {
		hash = u.PasswordHash
	}
	ok, err := CheckPassword(hash, password)
	if err != nil {
		return Session{}, err
	}
	if !found || !ok || u.Status != "active" {
		for _, k := range keys {
			if err := s.throttle.fail(ctx, k); err != nil {
				return Session{}, db.MapError(err)
			}
		}
		entity := "unknown"
		if found {
			entity = u.ID.String()
		}
		s.recordAuth(ctx, systemAuth, "auth.login_failed", entity, map[string]any{"username": username})
		return Session{}, errBadCredentials
	}
	var sess Session
	err = s.db.WithTx(ctx, func(ctx context.Context) error {
		if err := s.throttle.clear(ctx, keys[0]); err != nil {
			return err
		}
		if err := s.db.Conn(ctx).Exec(`UPDATE users SET last_login_at = now() WHERE id = ?`, u.ID).Error; err != nil {
			return err
		}
		var err error
		if sess, err = s.issue(ctx, u, uuid.Nil); err != nil {
			return err
		}
		actor := s.actorFor(ctx, u)
		return audit.Record(access.WithActor(ctx, actor), s.db.Conn(ctx),
			audit.Event{Action: "auth.login", EntityType: "user", EntityID: u.ID.String(), AreaPath: homeArea(actor)})
	})
	return sess, err
}

// issue makes an access token and a refresh token in family (a new family
// when family is Nil).
func (s *Service) issue(ctx context.Context, u User, family uuid.UUID) (Session, error) {
	accessToken, exp, err := s.tokens.Issue(u.ID)
	if err != nil {
		return Session{}, err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return Session{}, err
	}
	refresh := base64.RawURLEncoding.EncodeToString(raw)
	if family == uuid.Nil {
		family = uuid.Must(uuid.NewV7())
	}
	rexp := time.Now().UTC().Add(s.refreshTTL)
	err = s.db.Conn(ctx).Exec(`INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, expires_at) VALUES (?, ?, ?, ?, ?)`,
		uuid.Must(uuid.NewV7()), family, u.ID, hashToken(refresh), rexp).Error
	if err != nil {
		return Session{}, err
	}
	return Session{AccessToken: accessToken, AccessExpires: exp, RefreshToken: refresh, RefreshExpires: rexp,
		MustChangePassword: u.MustChangePassword}, nil
}

func hashToken(t string) []byte {
	h := sha256.Sum256([]byte(t))
	return h[:]
}

// Refresh rotates a refresh token: the old one is spent, a new one in the same
// family is returned. Presenting a spent token revokes the whole family (it
// was stolen, or the client is confused: both sign in again).
func (s *Service) Refresh(ctx context.Context, token string) (Session, error) {
	var sess Session
	var reused bool
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		var t struct {
			ID, FamilyID, UserID uuid.UUID
			IssuedAt, ExpiresAt  time.Time
			UsedAt, RevokedAt    *time.Time
		}
		res := s.db.Conn(ctx).Raw(`SELECT id, family_id, user_id, issued_at, expires_at, used_at, revoked_at
			FROM refresh_tokens WHERE token_hash = ? FOR UPDATE`, hashToken(token)).Scan(&t)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errBadRefresh
		}
		if t.UsedAt != nil || t.RevokedAt != nil {
			if t.RevokedAt == nil { // reuse of a rotated token: revoke the family
				reused = true
				if err := s.db.Conn(ctx).Exec(`UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = ? AND revoked_at IS NULL`,
					t.FamilyID).Error; err != nil {
					return err
				}
				return audit.Record(access.WithActor(ctx, systemAuth), s.db.Conn(ctx), audit.Event{
					Action: "auth.refresh_reuse", EntityType: "user", EntityID: t.UserID.String(),
					After: map[string]any{"family_id": t.FamilyID}})
			}
			return errBadRefresh
		}
		u, found, err := s.store.userBy(ctx, "id", t.UserID)
		if err != nil {
			return err
		}
		if !found || u.Status != "active" || time.Now().After(t.ExpiresAt) || t.IssuedAt.Before(u.ValidAfter) {
			return errBadRefresh
		}
		if err := s.db.Conn(ctx).Exec(`UPDATE refresh_tokens SET used_at = now() WHERE id = ?`, t.ID).Error; err != nil {
			return err
		}
		sess, err = s.issue(ctx, u, t.FamilyID)
		return err
	})
	if reused && err == nil {
		return Session{}, errBadRefresh
	}
	return sess, err
}

// Logout revokes the refresh token's family.
func (s *Service) Logout(ctx context.Context, token string) error {
	return s.db.WithTx(ctx, func(ctx context.Context) error {
		var t struct{ FamilyID, UserID uuid.UUID }
		res := s.db.Conn(ctx).Raw(`SELECT family_id, user_id FROM refresh_tokens WHERE token_hash = ?`, hashToken(token)).Scan(&t)
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error // an unknown token: nothing to do, and nothing to reveal
		}
		if err := s.db.Conn(ctx).Exec(`UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = ? AND revoked_at IS NULL`,
			t.FamilyID).Error; err != nil {
			return err
		}
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "auth.logout", EntityType: "user", EntityID: t.UserID.String()})
	})
}

// ChangePassword changes the signed-in user's password after checking the
// current one; every session of the user ends (valid_after moves on).
func (s *Service) ChangePassword(ctx context.Context, userID uuid.UUID, current, next string) error {
	if len([]rune(next)) < MinPasswordLength {
		return apperr.Fields([]apperr.FieldError{{Field: "new_password", Code: "too_short",
			Message: fmt.Sprintf("must be at least %d characters", MinPasswordLength)}})
	}
	u, found, err := s.store.userBy(ctx, "id", userID)
	if err != nil || !found {
		return errors.Join(err, errBadCredentials)
	}
	ok, err := CheckPassword(u.PasswordHash, current)
	if err != nil {
		return err
	}
	if !ok {
		return apperr.Fields([]apperr.FieldError{{Field: "current_password", Code: "invalid", Message: "is wrong"}})
	}
	if current == next {
		return apperr.Fields([]apperr.FieldError{{Field: "new_password", Code: "invalid", Message: "must differ from the current password"}})
	}
	hash, err := HashPassword(next)
	if err != nil {
		return err
	}
	err = s.db.WithTx(ctx, func(ctx context.Context) error {
		if err := s.db.Conn(ctx).Exec(`UPDATE users SET password_hash = ?, must_change_password = false,
			valid_after = now(), version = version + 1, updated_at = now() WHERE id = ?`, hash, userID).Error; err != nil {
			return err
		}
		if err := s.db.Conn(ctx).Exec(`UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = ? AND revoked_at IS NULL`, userID).Error; err != nil {
			return err
		}
		actor, _ := access.ActorFrom(ctx)
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "user.password_change", EntityType: "user",
			EntityID: userID.String(), AreaPath: homeArea(actor)})
	})
	s.forget(userID)
	return err
}

// recordAuth writes an authentication event in its own transaction. A failure
// to audit is logged: it must not turn a refused sign-in into a 500.
func (s *Service) recordAuth(ctx context.Context, actor access.Actor, action, entity string, after any) {
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		return audit.Record(access.WithActor(ctx, actor), s.db.Conn(ctx),
			audit.Event{Action: action, EntityType: "user", EntityID: entity, After: after})
	})
	if err != nil {
		s.log.ErrorContext(ctx, "audit of an authentication event failed", "action", action, "error", err.Error())
	}
}

// homeArea is where a user's own events are filed for scoped auditors: the
// area of their first role assignment (none for a user without roles).
func homeArea(a access.Actor) string {
	if len(a.Assignments) == 0 {
		return ""
	}
	return a.Assignments[0].AreaPath
}

func (s *Service) actorFor(ctx context.Context, u User) access.Actor {
	as, err := s.store.assignments(ctx, u.ID)
	if err != nil {
		s.log.WarnContext(ctx, "loading role assignments", "error", err.Error())
	}
	return access.Actor{Kind: access.KindUser, UserID: u.ID, Username: u.Username, Assignments: as}
}

// cachedSession is a user's state as last read, for token checks.
type cachedSession struct {
	actor      access.Actor
	active     bool
	validAfter time.Time
	mustChange bool
	fetched    time.Time
}

// Authenticate turns a bearer token into the actor, checking the user is still
// active and the token was issued after their last password change or
// disable (read at most session_cache_ttl ago).
func (s *Service) Authenticate(ctx context.Context, bearer string) (access.Actor, bool, error) {
	c, err := s.tokens.Verify(bearer)
	if err != nil {
		s.recordAuth(ctx, systemAuth, "auth.token_rejected", "unknown", map[string]any{"reason": err.Error()})
		return access.Actor{}, false, apperr.Wrap(err, apperr.Unauthenticated, "invalid_token", "the access token is not valid")
	}
	id := uuid.MustParse(c.Subject)
	sess, err := s.session(ctx, id)
	if err != nil {
		return access.Actor{}, false, err
	}
	if !sess.active || c.IssuedAt.Before(sess.validAfter.Truncate(time.Second)) {
		s.recordAuth(ctx, systemAuth, "auth.token_rejected", id.String(), map[string]any{"reason": "session ended"})
		return access.Actor{}, false, apperr.New(apperr.Unauthenticated, "session_ended", "the session has ended; sign in again")
	}
	return sess.actor, sess.mustChange, nil
}

func (s *Service) session(ctx context.Context, id uuid.UUID) (cachedSession, error) {
	s.mu.Lock()
	c, ok := s.sessions[id]
	s.mu.Unlock()
	if ok && time.Since(c.fetched) < s.cacheTTL {
		return c, nil
	}
	u, found, err := s.store.userBy(ctx, "id", id)
	if err != nil {
		return cachedSession{}, db.MapError(err)
	}
	c = cachedSession{fetched: time.Now()}
	if found {
		c.active, c.validAfter, c.mustChange, c.actor = u.Status == "active", u.ValidAfter, u.MustChangePassword, s.actorFor(ctx, u)
	}
	s.mu.Lock()
	s.sessions[id] = c
	s.mu.Unlock()
	return c, nil
}

// forget drops a user's cached session (after a change by this process;
// other replicas notice within session_cache_ttl).
func (s *Service) forget(id uuid.UUID) {
	s.mu.Lock()
	delete(s.sessions, id)
	s.mu.Unlock()
}
