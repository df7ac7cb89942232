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
	"github.com/ansinh/ansinh/internal/area"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// Service signs users in and out, answers who a token's bearer is, and
// administers users (admin.go).
type Service struct {
	db         *db.DB
	store      store
	areas      areas
	throttle   throttle
	approvals  approvals
	tokens     *Tokens
	passwords  passwords
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
	PasswordCost    PasswordCost // DefaultPasswordCost when zero
	// How many password hashes run at once (the usable cores when zero);
	// each holds PasswordCost's memory while it runs.
	PasswordConcurrency int
	Logger              *slog.Logger
}

// areas finds administrative areas by code (*area.Store).
type areas interface {
	Get(ctx context.Context, code string) (area.Area, error)
}

// NewService makes the identity service.
func NewService(pool *db.DB, tokens *Tokens, areas areas, opts Options) (*Service, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.PasswordCost == (PasswordCost{}) {
		opts.PasswordCost = DefaultPasswordCost
	}
	pw, err := newPasswords(opts.PasswordCost, opts.PasswordConcurrency)
	if err != nil {
		return nil, err
	}
	return &Service{db: pool, store: store{pool}, areas: areas, throttle: throttle{pool}, tokens: tokens, passwords: pw,
		refreshTTL: opts.RefreshTTL, cacheTTL: opts.SessionCacheTTL, log: opts.Logger,
		sessions: map[uuid.UUID]cachedSession{}}, nil
}

// Tokens is the access-token signer (for the JWKS endpoint).
func (s *Service) Tokens() *Tokens { return s.tokens }

// systemAuth is the actor of authentication events that have no signed-in user.
var systemAuth = access.System("auth")

// Login checks a username and password. Unknown users and wrong passwords get
// the same answer after the same work; every attempt is an audit event.
func (s *Service) Login(ctx context.Context, username, password, clientIP string) (Session, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	keys := throttleKeys(username, clientIP)
	if err := s.checkThrottle(ctx, keys, "auth.login_throttled", "unknown", username); err != nil {
		return Session{}, err
	}
	u, found, err := s.store.userByUsername(ctx, username)
	if err != nil {
		return Session{}, db.MapError(err)
	}
	hash := s.passwords.dummy
	if found {
		hash = u.PasswordHash
	}
	ok, err := s.passwords.check(ctx, hash, password)
	if err != nil {
		return Session{}, err
	}
	if !found || !ok || !u.Active() {
		if err := s.countFailure(ctx, keys); err != nil {
			return Session{}, err
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
		if err := s.store.signedIn(ctx, u.ID); err != nil {
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

// throttleKeys are the throttle's counters for a sign-in or a password check:
// the account and the client's address.
func throttleKeys(username, clientIP string) []string {
	return []string{"user:" + username, "ip:" + clientIP}
}

// checkThrottle refuses (429, audited as action on entity) while any of the
// keys is locked.
func (s *Service) checkThrottle(ctx context.Context, keys []string, action, entity, username string) error {
	for _, k := range keys {
		wait, err := s.throttle.lockedFor(ctx, k)
		if err != nil {
			return db.MapError(err)
		}
		if wait > 0 {
			s.recordAuth(ctx, systemAuth, action, entity, map[string]any{"username": username})
			return &apperr.Error{Kind: apperr.TooManyRequests, Code: "login_throttled",
				Message: fmt.Sprintf("too many failed sign-ins; retry in %d seconds", int(wait.Seconds())+1)}
		}
	}
	return nil
}

// countFailure counts a wrong password against every key.
func (s *Service) countFailure(ctx context.Context, keys []string) error {
	for _, k := range keys {
		if err := s.throttle.fail(ctx, k); err != nil {
			return db.MapError(err)
		}
	}
	return nil
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
	if err := s.store.addRefresh(ctx, family, u.ID, hashToken(refresh), rexp); err != nil {
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
		t, found, err := s.store.refreshForUpdate(ctx, hashToken(token))
		if err != nil {
			return err
		}
		if !found {
			return errBadRefresh
		}
		if t.reused() {
			reused = true
			if err := s.store.revokeFamily(ctx, t.FamilyID); err != nil {
				return err
			}
			return audit.Record(access.WithActor(ctx, systemAuth), s.db.Conn(ctx), audit.Event{
				Action: "auth.refresh_reuse", EntityType: "user", EntityID: t.UserID.String(),
				After: map[string]any{"family_id": t.FamilyID}})
		}
		if t.spent() {
			return errBadRefresh
		}
		u, found, err := s.store.userByID(ctx, t.UserID)
		if err != nil {
			return err
		}
		if !found || !t.usable(u, time.Now()) {
			return errBadRefresh
		}
		if err := s.store.refreshUsed(ctx, t.ID); err != nil {
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
		family, user, found, err := s.store.refreshFamily(ctx, hashToken(token))
		if err != nil || !found {
			return err // an unknown token: nothing to do, and nothing to reveal
		}
		if err := s.store.revokeFamily(ctx, family); err != nil {
			return err
		}
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "auth.logout", EntityType: "user", EntityID: user.String()})
	})
}

// ChangePassword changes the signed-in user's password after checking the
// current one; every session of the user ends (valid_after moves on). A wrong
// current password counts against the login throttle (the account and the
// client's address), so the route is no password oracle; a change clears the
// account's counter as a login does.
func (s *Service) ChangePassword(ctx context.Context, userID uuid.UUID, current, next, clientIP string) error {
	if len([]rune(next)) < MinPasswordLength {
		return apperr.Fields([]apperr.FieldError{passwordTooShort("new_password")})
	}
	u, found, err := s.store.userByID(ctx, userID)
	if err != nil || !found {
		return errors.Join(err, errBadCredentials)
	}
	keys := throttleKeys(u.Username, clientIP)
	if err := s.checkThrottle(ctx, keys, "auth.password_throttled", u.ID.String(), u.Username); err != nil {
		return err
	}
	ok, err := s.passwords.check(ctx, u.PasswordHash, current)
	if err != nil {
		return err
	}
	if !ok {
		if err := s.countFailure(ctx, keys); err != nil {
			return err
		}
		s.recordAuth(ctx, systemAuth, "auth.password_check_failed", u.ID.String(), map[string]any{"username": u.Username})
		return apperr.Fields([]apperr.FieldError{{Field: "current_password", Code: "invalid", Message: "is wrong"}})
	}
	if err := newPassword(current, next); err != nil {
		return err
	}
	hash, err := s.passwords.hash(ctx, next)
	if err != nil {
		return err
	}
	err = s.db.WithTx(ctx, func(ctx context.Context) error {
		if err := s.throttle.clear(ctx, keys[0]); err != nil {
			return err
		}
		// The user's own account: no area scope applies.
		if err := s.store.update(ctx, access.Everywhere(), userID, nil, func(u *User) error {
			u.SetPassword(hash, false)
			return nil
		}); err != nil {
			return err
		}
		actor, _ := access.ActorFrom(ctx)
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "user.password_change", EntityType: "user",
			EntityID: userID.String(), AreaPath: homeArea(actor)})
	})
	s.forgetOnCommit(ctx, userID)
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

func (s *Service) actorFor(ctx context.Context, u User) access.Actor {
	as, err := s.store.assignments(ctx, u.ID)
	if err != nil {
		s.log.WarnContext(ctx, "loading role assignments", "error", err.Error())
	}
	return access.Actor{Kind: access.KindUser, UserID: u.ID, Username: u.Username, Assignments: as}
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
	if !sess.accepts(c.IssuedAt.Time) {
		s.recordAuth(ctx, systemAuth, "auth.token_rejected", id.String(), map[string]any{"reason": "session ended"})
		return access.Actor{}, false, errSessionEnded(nil)
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
	u, found, err := s.store.userByID(ctx, id)
	if err != nil {
		return cachedSession{}, db.MapError(err)
	}
	c = cachedSession{fetched: time.Now()}
	if found {
		c.active, c.validAfter, c.mustChange, c.actor = u.Active(), u.ValidAfter, u.MustChangePassword, s.actorFor(ctx, u)
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

// Me is the signed-in user in ctx, as stored now.
func (s *Service) Me(ctx context.Context) (User, error) {
	actor, _ := access.ActorFrom(ctx)
	u, found, err := s.store.userByID(ctx, actor.UserID)
	if err != nil || !found {
		return User{}, errSessionEnded(err)
	}
	return u, nil
}

// forgetOnCommit drops a user's cached session now and again once the change
// has committed: inside a request's transaction (an Idempotency-Key) a request
// in between could cache the state before it.
func (s *Service) forgetOnCommit(ctx context.Context, id uuid.UUID) {
	s.forget(id)
	db.AfterCommit(ctx, func() { s.forget(id) })
}
