package audit

import (
	"context"
	"fmt"

	"github.com/ansinh/ansinh/internal/platform/db"
)

// EnsurePartitions creates the monthly partitions of the audit tables from
// this month through months ahead. It needs the owner role (it creates
// tables); `ansinh migrate up` and `ansinh audit partitions` call it. Events
// beyond the window land in the default partition and are never refused.
func EnsurePartitions(ctx context.Context, owner *db.DB, months int) error {
	if err := addPartitions(ctx, owner, months); err != nil {
		return fmt.Errorf("audit partitions: %w", err)
	}
	return nil
}
