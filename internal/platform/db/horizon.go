package db

import (
	"context"
	"fmt"
	"strconv"
)

// Horizon is the oldest transaction id still running anywhere in the cluster
// (the snapshot xmin). Every transaction below it has committed or aborted, so
// the rows they wrote can no longer change or appear: readers that page by
// transaction id (audit sealing, the sync feed) stop there and never skip a
// transaction that commits late.
func (d *DB) Horizon(ctx context.Context) (uint64, error) {
	var text string
	if err := d.Conn(ctx).Raw(`SELECT pg_snapshot_xmin(pg_current_snapshot())::text`).Row().Scan(&text); err != nil {
		return 0, MapError(err)
	}
	h, err := strconv.ParseUint(text, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("db: snapshot xmin %q: %w", text, err)
	}
	return h, nil
}
