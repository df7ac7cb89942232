package auth

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/ansinh/ansinh/internal/platform/db"
)

// Login throttling: after freeFailures failed logins for a username or from
// an address, each further failure locks that key for twice as long as the
// last (1 s, 2 s, 4 s ... up to maxLock). A success for the username clears it.
// The rule is one statement, so that concurrent failures all count.
const (
	freeFailures = 5
	maxLock      = 15 * time.Minute
)

type throttle struct{ db *db.DB }

// lockedFor is how long the key stays locked (0 when not locked).
func (t throttle) lockedFor(ctx context.Context, key string) (time.Duration, error) {
	var until sql.NullTime
	err := t.db.Conn(ctx).Raw(`SELECT locked_until FROM login_throttle WHERE key = ?`, key).Row().Scan(&until)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !until.Valid) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return max(0, time.Until(until.Time)), nil
}

// fail counts a failure and sets the lock.
func (t throttle) fail(ctx context.Context, key string) error {
	return t.db.Conn(ctx).Exec(`
		INSERT INTO login_throttle AS t (key, failures, last_failure_at) VALUES (?, 1, now())
		ON CONFLICT (key) DO UPDATE SET failures = t.failures + 1, last_failure_at = now(),
		  locked_until = CASE WHEN t.failures + 1 > ? THEN now() + least(
		    make_interval(secs => power(2, least(t.failures + 1 - ?, 20))), make_interval(secs => ?)) END`,
		key, freeFailures, freeFailures+1, maxLock.Seconds()).Error
}

// clear forgets a key's failures.
func (t throttle) clear(ctx context.Context, key string) error {
	return t.db.Conn(ctx).Exec(`UPDATE login_throttle SET failures = 0, locked_until = NULL WHERE key = ?`, key).Error
}
