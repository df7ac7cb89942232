package report

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/periodic"
)

// rollupBatch is how many dirty rows one rebuild transaction takes.
const rollupBatch = 5000

// RefreshRollup rebuilds the poverty rollup's dirty keys anywhere until
// none is left (other servers' rows are skipped, not waited for).
func (s *Service) RefreshRollup(ctx context.Context) error {
	ctx = db.WithKind(ctx, db.Job)
	for {
		n, err := s.store.refreshSomeRollup(ctx, rollupBatch)
		if err != nil {
			return fmt.Errorf("poverty rollup: %w", err)
		}
		if n < rollupBatch {
			return nil
		}
	}
}

// RunRollup keeps the poverty rollup up to date every interval until ctx
// ends, so that a report seldom has rebuilding of its own to do.
func (s *Service) RunRollup(ctx context.Context, interval time.Duration, log *slog.Logger) {
	periodic.Run(ctx, interval, log, "poverty rollup", s.RefreshRollup)
}

// level is a child area's figures on a day: its households by class and
// its recognized movements since the beginning.
type level struct {
	counts povertyCounts
	moves  movements
}

// RollupBacklog is how many changes (approximately) wait for the poverty
// rollup's rebuild; a report rebuilds what is under its area first, so a
// backlog slows reports before it makes them wrong.
func (s *Service) RollupBacklog(ctx context.Context) (int64, error) {
	return s.store.rollupBacklog(db.WithKind(ctx, db.Job))
}
