package household

import (
	"context"
	"fmt"
	"strconv"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// noteChange appends a household's change to the sync feed and records its
// audit event e, in the change's transaction and in one statement (the
// event costs no round trip of its own).
func (s store) noteChange(ctx context.Context, h Household, op string, e audit.Event) error {
	return audit.RecordAlong(ctx, s.db.Conn(ctx), e, `INSERT INTO registry_changes (household_id, area_path, op) VALUES (?, ?::ltree, ?)`,
		h.ID, h.AreaPath, op)
}

// noteEntity appends a change of another record about a household.
func (s store) noteEntity(ctx context.Context, entityType string, entityID, householdID uuid.UUID, areaPath string) error {
	return s.db.Conn(ctx).Exec(`INSERT INTO registry_changes (household_id, area_path, op, entity_type, entity_id)
		VALUES (?, ?::ltree, 'upsert', ?, ?)`, householdID, areaPath, entityType, entityID).Error
}

// feedEntry is one row of the sync feed.
type feedEntry struct {
	pos       SyncPosition
	household uuid.UUID
	typ       string
	id        uuid.UUID
	op        string
}

// feedEntries reads the feed in scope after pos and below the horizon,
// oldest first, at most limit entries.
func (s store) feedEntries(ctx context.Context, scope access.Scope, pos SyncPosition, horizon uint64, limit int) ([]feedEntry, error) {
	if scope.Empty() && !scope.IsEverywhere() {
		return nil, nil
	}
	q := s.db.Conn(ctx).Table("registry_changes").
		Select("txid::text, seq, household_id, entity_type, coalesce(entity_id, household_id), op").
		Where("(txid, seq) > (?::text::xid8, ?) AND txid < ?::text::xid8", strconv.FormatUint(pos.TxID, 10), pos.Seq,
			strconv.FormatUint(horizon, 10))
	q = scope.Filter(q, "area_path")
	return db.Collect(q.Order("txid, seq").Limit(limit), func(row db.Scanner) (feedEntry, error) {
		var e feedEntry
		var tx string
		if err := row.Scan(&tx, &e.pos.Seq, &e.household, &e.typ, &e.id, &e.op); err != nil {
			return e, err
		}
		var err error
		if e.pos.TxID, err = strconv.ParseUint(tx, 10, 64); err != nil {
			return e, fmt.Errorf("sync: txid %q: %w", tx, err)
		}
		return e, nil
	})
}
