package household

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/periodic"
)

// Duplicate candidates are found after the change that makes them commits:
// the change queues its people (migration 00037's triggers, in its own
// transaction), and ScanDuplicates, run by every server, takes them off the
// queue, records their candidates and deletes them in one transaction. A
// scanner that dies mid-batch leaves the batch queued for the next.

// scanBatch is how many queued people one scan transaction takes.
const scanBatch = 500

// ScanDuplicates scans one batch of the queue; it returns how many people it
// took (fewer than the batch: the queue was empty, or held by others).
func (s *Service) ScanDuplicates(ctx context.Context) (int, error) {
	var taken int
	err := s.db.WithTx(db.WithKind(ctx, db.Job), func(ctx context.Context) error {
		ids, err := s.store.claimScans(ctx, scanBatch)
		if err != nil || len(ids) == 0 {
			return err
		}
		taken = len(ids)
		recorded, err := s.store.recordCandidates(ctx, ids)
		if err == nil && s.scanned != nil {
			s.scanned(recorded)
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("duplicate scan: %w", err)
	}
	return taken, nil
}

// DrainDuplicates scans until the queue is empty (the seed, tests).
func (s *Service) DrainDuplicates(ctx context.Context) error {
	for {
		n, err := s.ScanDuplicates(ctx)
		if err != nil || n < scanBatch {
			return err
		}
	}
}

// RunDuplicateScans drains the queue every interval until ctx ends.
func (s *Service) RunDuplicateScans(ctx context.Context, interval time.Duration, log *slog.Logger) {
	periodic.Run(ctx, interval, log, "duplicate scan", s.DrainDuplicates)
}

// DuplicatePairs are the pairs the scan would propose for these members now,
// without recording them (the bench measures the scan's recall with it).
func (s *Service) DuplicatePairs(ctx context.Context, members []uuid.UUID) ([]CandidatePair, error) {
	return s.store.candidatePairs(ctx, members)
}

// ScanBacklog is how many people wait for the duplicate scan (approximately)
// and how long, in seconds, the first of them has waited: candidates should
// appear within seconds of a change, so a growing wait means the scanners
// fall behind.
func (s *Service) ScanBacklog(ctx context.Context) (queued int64, waited float64, err error) {
	return s.store.scanBacklog(db.WithKind(ctx, db.Job))
}
