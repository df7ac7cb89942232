package ratelimit

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/ansinh/ansinh/internal/platform/db"
)

// store is the rate_limits table (UNLOGGED; migration 00021). Its statements
// run on the pool, each on its own (the limiter runs before a request opens
// its transaction), so a key's row is locked for one statement only.
type store struct{ db *db.DB }

// chargeSQL is the GCRA for every rule at once: a new key starts one
// emission ahead of now; a known key moves one emission ahead of its TAT (or
// of now, if that has passed) unless its TAT is already more than its
// tolerance ahead, when the row is left alone and not returned. The
// database's clock is the only clock, so replicas agree.
const chargeSQL = `
INSERT INTO rate_limits AS r (key, tat, tolerance)
SELECT v.key, now() + make_interval(secs => v.emission), v.tolerance
FROM unnest(?::text[], ?::float8[], ?::float8[]) AS v(key, emission, tolerance)
ON CONFLICT (key) DO UPDATE
  SET tat = greatest(r.tat, now()) + (EXCLUDED.tat - now()), tolerance = EXCLUDED.tolerance
  WHERE r.tat <= now() + make_interval(secs => EXCLUDED.tolerance)
RETURNING key, extract(epoch FROM tat - now())::float8`

// charge applies chargeSQL: how far ahead of now each allowed key's TAT is
// (a refused key is absent).
func (s store) charge(ctx context.Context, rules []Rule) (map[string]time.Duration, error) {
	keys := make([]string, len(rules))
	emission := make([]float64, len(rules))
	tolerance := make([]float64, len(rules))
	for i, r := range rules {
		keys[i], emission[i], tolerance[i] = r.Key, r.Policy.emission().Seconds(), r.Policy.tolerance().Seconds()
	}
	return aheadOf(s.db.Conn(ctx).Raw(chargeSQL, db.TextArray(keys), db.FloatArray(emission), db.FloatArray(tolerance)))
}

// ahead is how far ahead of now each key's TAT is (refused keys).
func (s store) ahead(ctx context.Context, keys []string) (map[string]time.Duration, error) {
	return aheadOf(s.db.Conn(ctx).Raw(`SELECT key, extract(epoch FROM tat - now())::float8 FROM rate_limits WHERE key = ANY(?::text[])`,
		db.TextArray(keys)))
}

// aheadOf reads rows of a key and seconds.
func aheadOf(q *gorm.DB) (map[string]time.Duration, error) {
	out := make(map[string]time.Duration, 2)
	err := db.Each(q, func(r db.Scanner) error {
		var key string
		var secs float64
		if err := r.Scan(&key, &secs); err != nil {
			return err
		}
		out[key] = time.Duration(secs * float64(time.Second))
		return nil
	})
	return out, err
}

// sweep deletes the rows whose TAT has passed.
func (s store) sweep(ctx context.Context) (int64, error) {
	res := s.db.Conn(ctx).Exec(`DELETE FROM rate_limits WHERE tat < now()`)
	return res.RowsAffected, db.MapError(res.Error)
}
