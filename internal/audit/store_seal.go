package audit

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"

	"github.com/ansinh/ansinh/internal/platform/db"
)

// leafSQL computes an event's leaf hash in the database: SHA-256 over
//
//	0x00 || id (16 bytes) || txid (8) || occurred_at (8: microseconds since
//	2000-01-01 UTC) || action, entity_type, entity_id, actor_id, area_path
//	(each as a 4-byte length, -1 for NULL, then its bytes) || the event's
//	JSON document exactly as written (UTF-8, to the end)
//
// The binary forms do not depend on session settings (time zone, date style)
// and the lengths make the encoding unambiguous. The expression lives in the
// binary, not in a stored function, so that changing the database cannot
// change what is hashed.
const leafSQL = `sha256('\x00'::bytea || uuid_send(id) || xid8send(txid) || timestamptz_send(occurred_at)
	|| int4send(octet_length(action)) || textsend(action)
	|| int4send(octet_length(entity_type)) || textsend(entity_type)
	|| int4send(octet_length(entity_id)) || textsend(entity_id)
	|| int4send(CASE WHEN actor_id IS NULL THEN -1 ELSE 16 END) || coalesce(uuid_send(actor_id), ''::bytea)
	|| int4send(coalesce(octet_length(area_path::text), -1)) || coalesce(textsend(area_path::text), ''::bytea)
	|| textsend(doc::text))`

// xid8 values travel as text: they are unsigned 64-bit, which neither
// database/sql nor GORM passes as such.
func xidText(x uint64) string { return strconv.FormatUint(x, 10) }

// trySealLock takes the sealers' transaction-level advisory lock; false when
// another sealer holds it.
func (st store) trySealLock(ctx context.Context) (bool, error) {
	var locked bool
	err := st.db.Conn(ctx).Raw(`SELECT pg_try_advisory_xact_lock(?)`, sealLockKey).Scan(&locked).Error
	return locked, err
}

// lastBlock is the newest block, or the genesis position (seq 0) when none.
func (st store) lastBlock(ctx context.Context) (block, error) {
	var b block
	var to string
	err := st.db.Conn(ctx).Raw(`SELECT seq, to_xid::text, block_hash FROM audit_blocks ORDER BY seq DESC LIMIT 1`).
		Row().Scan(&b.Seq, &to, &b.BlockHash)
	if errors.Is(err, sql.ErrNoRows) {
		return block{Seq: 0, ToXID: 0, BlockHash: genesisHash}, nil
	}
	if err != nil {
		return block{}, err
	}
	b.ToXID, err = strconv.ParseUint(to, 10, 64)
	return b, err
}

// pendingEvents lists events with txid in [from, to) in block order, with
// their leaf hashes; limit 0 means all. The list is one block's worth (the
// sealer asks for one more than a block holds; verification for one block's
// range), so it is collected.
func (st store) pendingEvents(ctx context.Context, from, to uint64, limit int) ([]pendingEvent, error) {
	// ORDER BY names the table's columns: the output column txid_text is text
	// and would sort 10 before 9.
	q := `SELECT id, txid::text AS txid_text, ` + leafSQL + ` FROM audit_events
	      WHERE txid >= ?::text::xid8 AND txid < ?::text::xid8 ORDER BY audit_events.txid, audit_events.id`
	args := []any{xidText(from), xidText(to)}
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	return db.Collect(st.db.Conn(ctx).Raw(q, args...), func(row db.Scanner) (pendingEvent, error) {
		var e pendingEvent
		var txid string
		if err := row.Scan(&e.id, &txid, &e.leaf); err != nil {
			return e, err
		}
		var err error
		e.txid, err = strconv.ParseUint(txid, 10, 64)
		return e, err
	})
}

func (st store) insertBlock(ctx context.Context, b block) error {
	// The lists travel as comma-separated text: GORM would expand a Go slice
	// into a row constructor.
	ids := make([]string, len(b.EventIDs))
	leaves := make([]string, len(b.Leaves))
	for i := range b.EventIDs {
		ids[i], leaves[i] = b.EventIDs[i].String(), hex.EncodeToString(b.Leaves[i])
	}
	return st.db.Conn(ctx).Exec(`
		INSERT INTO audit_blocks (seq, from_xid, to_xid, event_count, event_ids, leaf_hashes, merkle_root,
		                          prev_hash, block_hash, key_id, signature, sealed_at)
		VALUES (?, ?::text::xid8, ?::text::xid8, ?, string_to_array(?, ',')::uuid[],
		        ARRAY(SELECT decode(h, 'hex') FROM unnest(string_to_array(?, ',')) WITH ORDINALITY AS u(h, n) ORDER BY n),
		        ?, ?, ?, ?, ?, ?)`,
		b.Seq, xidText(b.FromXID), xidText(b.ToXID), len(b.EventIDs),
		strings.Join(ids, ","), strings.Join(leaves, ","), b.MerkleRoot, b.PrevHash, b.BlockHash,
		b.KeyID, b.Signature, b.SealedAt).Error
}

// oldestUnsealed is the time of the oldest event with txid from on (invalid
// when there is none).
func (st store) oldestUnsealed(ctx context.Context, from uint64) (sql.NullTime, error) {
	var oldest sql.NullTime
	err := st.db.Conn(ctx).Raw(`SELECT min(occurred_at) FROM audit_events WHERE txid >= ?::text::xid8`, xidText(from)).
		Row().Scan(&oldest)
	return oldest, err
}

// headCheckpoint is the newest block's checkpoint, nil when nothing is sealed.
func (st store) headCheckpoint(ctx context.Context) (*Checkpoint, error) {
	var b block
	err := st.db.Conn(ctx).Raw(`SELECT seq, merkle_root, block_hash, key_id, signature, sealed_at
		FROM audit_blocks ORDER BY seq DESC LIMIT 1`).
		Row().Scan(&b.Seq, &b.MerkleRoot, &b.BlockHash, &b.KeyID, &b.Signature, &b.SealedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	b.SealedAt = b.SealedAt.UTC()
	return b.checkpoint(), nil
}

// blockHashAt is the hash of block seq, nil when there is no such block.
func (st store) blockHashAt(ctx context.Context, seq int64) ([]byte, error) {
	var h []byte
	err := st.db.Conn(ctx).Raw(`SELECT block_hash FROM audit_blocks WHERE seq = ?`, seq).Row().Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return h, err
}
