package audit

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/platform/db"
)

// lastSeq is the newest block's number, 0 when nothing is sealed.
func (st store) lastSeq(ctx context.Context) (int64, error) {
	var last int64
	err := st.db.Conn(ctx).Raw(`SELECT coalesce(max(seq), 0) FROM audit_blocks`).Scan(&last).Error
	return last, err
}

// headSeq is the newest block's number; ok is false when nothing is sealed.
func (st store) headSeq(ctx context.Context) (seq int64, ok bool, err error) {
	res := st.db.Conn(ctx).Raw(`SELECT seq FROM audit_blocks ORDER BY seq DESC LIMIT 1`).Scan(&seq)
	return seq, res.RowsAffected > 0, res.Error
}

// countUnsealed is how many events have a txid from on.
func (st store) countUnsealed(ctx context.Context, from uint64) (int64, error) {
	var n int64
	err := st.db.Conn(ctx).Raw(`SELECT count(*) FROM audit_events WHERE txid >= ?::text::xid8`, xidText(from)).
		Scan(&n).Error
	return n, err
}

// blockEventIDs are the ids a block sealed, in its order.
func (st store) blockEventIDs(ctx context.Context, seq int64) ([]uuid.UUID, error) {
	var idList string
	if err := st.db.Conn(ctx).Raw(`SELECT array_to_string(event_ids, ',') FROM audit_blocks WHERE seq = ?`, seq).
		Row().Scan(&idList); err != nil {
		return nil, err
	}
	ids, err := parseIDList(idList)
	if err != nil {
		return nil, fmt.Errorf("block %d: %w", seq, err)
	}
	return ids, nil
}

// parseIDList decodes a block's comma-separated event ids.
func parseIDList(ids string) ([]uuid.UUID, error) {
	if ids == "" {
		return nil, nil
	}
	parts := strings.Split(ids, ",")
	out := make([]uuid.UUID, len(parts))
	for i, p := range parts {
		id, err := uuid.Parse(p)
		if err != nil {
			return nil, err
		}
		out[i] = id
	}
	return out, nil
}

// blocksBetween loads blocks lo..hi (one verification chunk, a bounded
// number of blocks) with, for each, its sealed leaves and the leaves
// recomputed from the events in its range, both as one byte string (32 bytes
// a leaf): the database hashes the events, so verification does not ship
// every event to Go. The events come from an ordered subquery, which
// PostgreSQL aggregates in order (and walks by index, without sorting); should
// it ever not, diagnose re-checks the block event by event, so a mismatch here
// is never reported without proof.
func (st store) blocksBetween(ctx context.Context, lo, hi int64) ([]block, error) {
	q := st.db.Conn(ctx).Raw(`
		SELECT b.seq, b.event_count, b.from_xid::text, b.to_xid::text,
		       (SELECT coalesce(string_agg(h, ''::bytea ORDER BY n), ''::bytea)
		          FROM unnest(b.leaf_hashes) WITH ORDINALITY AS u(h, n)),
		       (SELECT coalesce(string_agg(s.leaf, ''::bytea), ''::bytea) FROM (
		          SELECT `+leafSQL+` AS leaf FROM audit_events e
		          WHERE e.txid >= b.from_xid AND e.txid < b.to_xid ORDER BY e.txid, e.id) s),
		       b.merkle_root, b.prev_hash, b.block_hash, b.key_id, b.signature, b.sealed_at
		FROM audit_blocks b WHERE b.seq BETWEEN ? AND ? ORDER BY b.seq`, lo, hi)
	return db.Collect(q, scanBlock)
}

func scanBlock(row db.Scanner) (block, error) {
	var b block
	var from, to string
	if err := row.Scan(&b.Seq, &b.EventCount, &from, &to, &b.sealedLeaves, &b.actualLeaves, &b.MerkleRoot,
		&b.PrevHash, &b.BlockHash, &b.KeyID, &b.Signature, &b.SealedAt); err != nil {
		return b, err
	}
	var err error
	if b.FromXID, err = strconv.ParseUint(from, 10, 64); err != nil {
		return b, err
	}
	if b.ToXID, err = strconv.ParseUint(to, 10, 64); err != nil {
		return b, err
	}
	if len(b.sealedLeaves)%sha256.Size != 0 {
		return b, fmt.Errorf("block %d: sealed leaves are not whole hashes", b.Seq)
	}
	for i := 0; i < len(b.sealedLeaves); i += sha256.Size {
		b.Leaves = append(b.Leaves, b.sealedLeaves[i:i+sha256.Size])
	}
	b.SealedAt = b.SealedAt.UTC()
	return b, nil
}
