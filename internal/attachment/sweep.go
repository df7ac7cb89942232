package attachment

import (
	"context"
	"time"

	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// Orphans are stored objects that no attachment refers to. Save removes its
// objects when the row is not written, but a process killed between storing
// a file and committing its row leaves the file behind: a person's document
// that no record lists, that nobody may read and nothing would ever delete.
// SweepOrphans finds and removes them.

// OrphanAge is how old an unreferenced object must be before it is taken for
// an orphan: a file is stored at most one request before its row commits.
const OrphanAge = time.Hour

// sweepBatch is how many keys are checked against the attachments at once.
const sweepBatch = 500

// SweepOrphans removes the stored objects older than olderThan that no
// attachment refers to, and says how many it removed. Each sweep that removes
// any is one audit event listing the keys. Replicas may sweep at the same
// time: removing an object twice is harmless.
func (s *Service) SweepOrphans(ctx context.Context, olderThan time.Duration) (int, error) {
	cutoff := time.Now().Add(-olderThan)
	var batch, removed []string
	check := func() error {
		if len(batch) == 0 {
			return nil
		}
		ref, err := s.store.referenced(ctx, batch)
		if err != nil {
			return db.MapError(err)
		}
		for _, k := range batch {
			if ref[k] {
				continue
			}
			if err := s.storage.Delete(ctx, k); err != nil {
				return err
			}
			removed = append(removed, k)
		}
		batch = batch[:0]
		return nil
	}
	err := s.storage.Walk(ctx, func(key string, written time.Time) error {
		if written.After(cutoff) {
			return nil
		}
		batch = append(batch, key)
		if len(batch) < sweepBatch {
			return nil
		}
		return check()
	})
	if err == nil {
		err = check()
	}
	if len(removed) > 0 {
		// Recorded even when the walk failed later: these are gone.
		aerr := s.db.WithTx(ctx, func(ctx context.Context) error {
			return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "attachment.orphans_removed", EntityType: "attachment",
				EntityID: "storage", After: map[string]any{"keys": removed, "older_than": olderThan.String()}})
		})
		if aerr != nil && err == nil {
			err = aerr
		}
	}
	return len(removed), err
}
