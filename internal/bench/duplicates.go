package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ansinh/ansinh/internal/app"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// DuplicateFigures are the deferred duplicate scan's figures in a run.
type DuplicateFigures struct {
	QueuedAtEnd int           // people still queued when the load stopped
	DrainedIn   time.Duration // until the server's scanner emptied the queue
	Sampled     int           // people whose candidates were compared
	Synchronous int           // pairs the check registration ran before issue 21 finds for them
	Found       int           // of those, pairs the deferred scan finds too
	Extra       int           // pairs only the deferred scan finds
	SyncPer     time.Duration // the synchronous check's time per person
	ScanPer     time.Duration // the deferred scan's time per person, in batches
}

func (d DuplicateFigures) String() string {
	recall := 1.0
	if d.Synchronous > 0 {
		recall = float64(d.Found) / float64(d.Synchronous)
	}
	return fmt.Sprintf("duplicate scan: %d people queued when the load stopped, drained in %s; recall %.4f against the synchronous check "+
		"(%d of its %d pairs for %d sampled people, %d more found), %.2f ms a person synchronously, %.2f ms in the deferred scan's batches",
		d.QueuedAtEnd, d.DrainedIn.Round(100*time.Millisecond), recall, d.Found, d.Synchronous, d.Sampled, d.Extra,
		float64(d.SyncPer.Microseconds())/1000, float64(d.ScanPer.Microseconds())/1000)
}

// drainWait waits until the duplicate queue is empty (the server's scanner
// works on it), up to limit; it returns how many were queued at the start.
func drainWait(ctx context.Context, a *app.App, limit time.Duration) (int, time.Duration, error) {
	start := time.Now()
	var first int
	for i := 0; ; i++ {
		var n int
		if err := a.DB().Conn(ctx).Raw(`SELECT count(*) FROM duplicate_scans`).Row().Scan(&n); err != nil {
			return 0, 0, err
		}
		if i == 0 {
			first = n
		}
		if n == 0 || time.Since(start) > limit {
			return first, time.Since(start), nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// forgetReplays withdraws what the write baselines left behind: their
// replays register the same four people thousands of times (household
// codes pgb<i>-<n>), which no server scans (it is stopped by then). Left
// queued and present, the next scan would pair each with every other
// (millions of candidates) and with every later registration of a close
// name in that commune, as a bench database reused across runs showed.
// The people are marked moved out, and the queue rows the baseline and
// this update added are dropped.
func forgetReplays(ctx context.Context, a *app.App, queuedBefore int64) error {
	return a.DB().Conn(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`UPDATE members SET status = 'moved_out' WHERE status = 'present' AND household_id IN
			(SELECT id FROM households WHERE code LIKE 'pgb%')`).Error; err != nil {
			return fmt.Errorf("bench: withdraw the baseline's replays: %w", err)
		}
		return tx.Exec(`DELETE FROM duplicate_scans WHERE id > ?`, queuedBefore).Error
	})
}

// syncCheck is the candidate query registration ran for each new person
// before issue 21 (migration 00009's rule, store_duplicates.go then), kept
// here to measure the deferred scan's recall against it.
const syncCheck = `
	WITH me AS (
		SELECT m.id, m.name_key, m.birth_date, m.birth_year, m.relationship, h.id AS household_id, h.phone,
		       h.commune_edition, h.commune_code, h.area_path
		FROM members m JOIN households h ON h.id = m.household_id WHERE m.id = ?
	)
	SELECT DISTINCT ON (other) least(me.id, other), greatest(me.id, other) FROM me, (
		SELECT o.id AS other, 'same_name_and_birth_date' AS reason
		FROM me JOIN members o ON o.name_key = me.name_key AND o.birth_date = me.birth_date
		WHERE o.id <> me.id AND o.status = 'present'
		UNION ALL
		SELECT o.id, 'similar_name_same_year_and_commune'
		FROM me JOIN households oh ON oh.commune_edition = me.commune_edition AND oh.commune_code = me.commune_code
		JOIN members o ON o.household_id = oh.id AND o.birth_year = me.birth_year
		WHERE o.id <> me.id AND o.status = 'present' AND similarity(o.name_key, me.name_key) >= 0.6
		UNION ALL
		SELECT o.id, 'same_phone'
		FROM me JOIN households oh ON oh.phone = me.phone AND oh.id <> me.household_id
		JOIN members o ON o.household_id = oh.id AND o.relationship = 'head' AND o.status = 'present'
		WHERE me.relationship = 'head' AND me.phone IS NOT NULL
	) c ORDER BY other, reason LIMIT 20`

// MeasureRecall compares, for a sample of present people, the pairs the
// synchronous check found with those the deferred scan finds.
func MeasureRecall(ctx context.Context, a *app.App, sample int) (DuplicateFigures, error) {
	var d DuplicateFigures
	ids, err := db.Collect(a.DB().Conn(ctx).Raw(`SELECT id FROM members WHERE status = 'present' ORDER BY md5(id::text) LIMIT ?`, sample),
		func(row db.Scanner) (uuid.UUID, error) {
			var id uuid.UUID
			return id, row.Scan(&id)
		})
	if err != nil {
		return d, err
	}
	d.Sampled = len(ids)
	old := map[[2]uuid.UUID]bool{}
	start := time.Now()
	for _, id := range ids {
		err := db.Each(a.DB().Conn(ctx).Raw(syncCheck, id), func(row db.Scanner) error {
			var p [2]uuid.UUID
			err := row.Scan(&p[0], &p[1])
			old[p] = true
			return err
		})
		if err != nil {
			return d, err
		}
	}
	d.SyncPer = time.Since(start) / time.Duration(max(len(ids), 1))
	found := map[[2]uuid.UUID]bool{}
	start = time.Now()
	for len(ids) > 0 {
		batch := ids[:min(500, len(ids))]
		ids = ids[len(batch):]
		pairs, err := a.Households().DuplicatePairs(ctx, batch)
		if err != nil {
			return d, err
		}
		for _, p := range pairs {
			found[[2]uuid.UUID{p.A, p.B}] = true
		}
	}
	d.ScanPer = time.Since(start) / time.Duration(max(d.Sampled, 1))
	d.Synchronous = len(old)
	for p := range old {
		if found[p] {
			d.Found++
		}
	}
	d.Extra = len(found) - d.Found
	return d, nil
}
