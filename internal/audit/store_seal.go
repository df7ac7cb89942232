package audit

import (
	"context"
	"database/sql"
	"errors"
	"strconv"

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
// their leaf hashes; limit 0 means all. Verification's diagnosis of one
// mismatched block collects them.
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
	return db.Collect(st.db.Conn(ctx).Raw(q, args...), scanPending)
}

func scanPending(row db.Scanner) (pendingEvent, error) {
	var e pendingEvent
	var txid string
	if err := row.Scan(&e.id, &txid, &e.leaf); err != nil {
		return e, err
	}
	var err error
	e.txid, err = strconv.ParseUint(txid, 10, 64)
	return e, err
}

// blockEnd is where the next block from txid from ends: its events are those
// with txid in [from, to). It takes every transaction below horizon unless
// more than maxEvents events wait; then it stops before the transaction of
// the event past the limit (more), or, when that is the first transaction,
// takes that transaction whole. ok is false when no event waits.
func (st store) blockEnd(ctx context.Context, from, horizon uint64, maxEvents int) (to uint64, more, ok bool, err error) {
	var first, cut sql.NullString
	err = st.db.Conn(ctx).Raw(`SELECT
		(SELECT txid::text FROM audit_events WHERE txid >= ?::text::xid8 AND txid < ?::text::xid8
		  ORDER BY audit_events.txid, audit_events.id LIMIT 1),
		(SELECT txid::text FROM audit_events WHERE txid >= ?::text::xid8 AND txid < ?::text::xid8
		  ORDER BY audit_events.txid, audit_events.id OFFSET ? LIMIT 1)`,
		xidText(from), xidText(horizon), xidText(from), xidText(horizon), maxEvents).Row().Scan(&first, &cut)
	if err != nil || !first.Valid {
		return 0, false, false, err
	}
	if !cut.Valid {
		return horizon, false, true, nil
	}
	c, err := strconv.ParseUint(cut.String, 10, 64)
	if err != nil {
		return 0, false, false, err
	}
	if first.String == cut.String {
		return c + 1, true, true, nil // one transaction holds more than a block's worth: keep it whole
	}
	return c, true, true, nil
}

// eventChunk lists at most limit events with txid below to that come after
// the cursor in block order (txid, id), with their leaf hashes: the sealer
// reads a block in chunks, by the (txid, id) index, and keeps none of them.
// The rest of the cursor's transaction and the transactions after it are
// asked apart: as one row comparison, (txid, id) > cursor, the planner
// estimates the rows of the cursor's own transaction by txid > cursor alone
// (none), sorts all of them for every chunk, and one transaction of 6
// million events (the 5M bench's history) had not sealed after 15 minutes; it now takes 60 s.
func (st store) eventChunk(ctx context.Context, after pendingEvent, to uint64, limit int) ([]pendingEvent, error) {
	q := st.db.Conn(ctx).Raw(`SELECT id, txid_text, leaf FROM (
		(SELECT id, txid, txid::text AS txid_text, `+leafSQL+` AS leaf FROM audit_events
			WHERE txid = ?::text::xid8 AND id > ?::uuid ORDER BY audit_events.id LIMIT ?)
		UNION ALL
		(SELECT id, txid, txid::text, `+leafSQL+` FROM audit_events
			WHERE txid > ?::text::xid8 AND txid < ?::text::xid8 ORDER BY audit_events.txid, audit_events.id LIMIT ?)) c
		ORDER BY c.txid, c.id LIMIT ?`, xidText(after.txid), after.id, limit, xidText(after.txid), xidText(to), limit, limit)
	return db.Collect(q, scanPending)
}

// insertBlock stores a block whose ids and leaf hashes the database gathers
// from the events of its range, so that the sealer never holds them all. It
// inserts nothing (false) unless the range holds exactly the events counted.
func (st store) insertBlock(ctx context.Context, b block) (bool, error) {
	res := st.db.Conn(ctx).Exec(`
		INSERT INTO audit_blocks (seq, from_xid, to_xid, event_count, event_ids, leaf_hashes, merkle_root,
		                          prev_hash, block_hash, key_id, signature, sealed_at)
		SELECT ?, ?::text::xid8, ?::text::xid8, count(*),
		       coalesce(array_agg(id ORDER BY txid, id), '{}'),
		       coalesce(array_agg(`+leafSQL+` ORDER BY txid, id), '{}'),
		       ?, ?, ?, ?, ?, ?
		FROM audit_events WHERE txid >= ?::text::xid8 AND txid < ?::text::xid8
		HAVING count(*) = ?`,
		b.Seq, xidText(b.FromXID), xidText(b.ToXID), b.MerkleRoot, b.PrevHash, b.BlockHash, b.KeyID, b.Signature,
		b.SealedAt, xidText(b.FromXID), xidText(b.ToXID), b.EventCount)
	return res.RowsAffected == 1, res.Error
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
