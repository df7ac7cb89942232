package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/platform/db"
)

// Report is the outcome of a verification. OK is false when anything does not
// match; Problem then names the first block or event that does not.
type Report struct {
	OK             bool        `json:"ok"`
	Problem        string      `json:"problem,omitempty"`
	BadBlock       int64       `json:"bad_block,omitempty"`
	BadEvent       string      `json:"bad_event,omitempty"`
	Blocks         int64       `json:"blocks"`
	EventsVerified int64       `json:"events_verified"`
	EventsUnsealed int64       `json:"events_unsealed"`
	Head           *Checkpoint `json:"head,omitempty"`
	CheckedAt      time.Time   `json:"checked_at"`
	DurationMS     int64       `json:"duration_ms"`
}

// Checkpoint is a signed block head kept off-site: a later verification proves
// the log still extends it (nothing before it was rewritten or removed).
type Checkpoint struct {
	Seq       int64     `json:"seq"`
	BlockHash string    `json:"block_hash"` // hex
	KeyID     string    `json:"key_id"`
	Signature string    `json:"signature"` // base64
	SealedAt  time.Time `json:"sealed_at"`
}

// Verifier checks blocks and events against the public keys it trusts.
type Verifier struct {
	db   *db.DB
	keys map[string]ed25519.PublicKey
}

// NewVerifier trusts the given public keys (the current seal key's and those
// of earlier keys, for blocks signed before a rotation).
func NewVerifier(pool *db.DB, keys ...ed25519.PublicKey) *Verifier {
	v := &Verifier{db: pool, keys: map[string]ed25519.PublicKey{}}
	for _, k := range keys {
		v.keys[KeyID(k)] = k
	}
	return v
}

// Verify recomputes every block from its events and checks the chain, the
// signatures and, when cp is given, that the log still extends cp. A mismatch
// is reported in the Report (OK false), not as an error; err is for failures
// to read.
func (v *Verifier) Verify(ctx context.Context, cp *Checkpoint) (Report, error) {
	start := time.Now()
	r := Report{OK: true, CheckedAt: start.UTC()}
	fail := func(seq int64, event string, format string, args ...any) {
		if r.OK {
			r.OK, r.BadBlock, r.BadEvent, r.Problem = false, seq, event, fmt.Sprintf(format, args...)
		}
	}
	prev := block{Seq: 0, ToXID: 0, BlockHash: genesisHash}
	var cpSeen bool
	for {
		batch, err := v.blocksAfter(ctx, prev.Seq, 64)
		if err != nil {
			return r, err
		}
		for _, b := range batch {
			if err := v.checkBlock(ctx, prev, b, fail); err != nil {
				return r, err
			}
			if !r.OK {
				r.DurationMS = time.Since(start).Milliseconds()
				return r, nil
			}
			r.Blocks++
			r.EventsVerified += int64(len(b.EventIDs))
			if cp != nil && b.Seq == cp.Seq {
				cpSeen = true
				if hex.EncodeToString(b.BlockHash) != cp.BlockHash {
					fail(b.Seq, "", "block %d differs from the checkpoint: the log was rewritten since it was taken", b.Seq)
				}
			}
			prev = b
		}
		if len(batch) < 64 {
			break
		}
	}
	if cp != nil && !cpSeen && r.OK {
		fail(cp.Seq, "", "checkpoint block %d is missing: the log no longer extends the checkpoint", cp.Seq)
	}
	if prev.Seq > 0 {
		r.Head = prev.checkpoint()
	}
	err := v.db.Conn(ctx).Raw(`SELECT count(*) FROM audit_events WHERE txid >= ?::text::xid8`,
		strconv.FormatUint(prev.ToXID, 10)).Scan(&r.EventsUnsealed).Error
	r.DurationMS = time.Since(start).Milliseconds()
	return r, err
}

func (v *Verifier) checkBlock(ctx context.Context, prev, b block, fail func(int64, string, string, ...any)) error {
	switch {
	case b.Seq != prev.Seq+1:
		fail(b.Seq, "", "block %d follows block %d: a block is missing or was inserted", b.Seq, prev.Seq)
		return nil
	case b.FromXID != prev.ToXID:
		fail(b.Seq, "", "block %d starts at transaction %d but block %d ended at %d: blocks were reordered or altered", b.Seq, b.FromXID, prev.Seq, prev.ToXID)
		return nil
	case !bytes.Equal(b.PrevHash, prev.BlockHash):
		fail(b.Seq, "", "block %d does not link to the hash of block %d: blocks were reordered or altered", b.Seq, prev.Seq)
		return nil
	case !bytes.Equal(merkleRoot(b.Leaves), b.MerkleRoot):
		fail(b.Seq, "", "block %d: its event hashes do not give its Merkle root", b.Seq)
		return nil
	case !bytes.Equal(b.header().hash(), b.BlockHash):
		fail(b.Seq, "", "block %d: its hash does not match its contents", b.Seq)
		return nil
	}
	pub, ok := v.keys[b.KeyID]
	if !ok {
		fail(b.Seq, "", "block %d is signed with key %s, which is not trusted", b.Seq, b.KeyID)
		return nil
	}
	if !ed25519.Verify(pub, b.BlockHash, b.Signature) {
		fail(b.Seq, "", "block %d: the signature does not verify with key %s", b.Seq, b.KeyID)
		return nil
	}
	events, err := pendingEvents(ctx, v.db, b.FromXID, b.ToXID, 0)
	if err != nil {
		return err
	}
	sealed := make(map[uuid.UUID]int, len(b.EventIDs))
	for i, id := range b.EventIDs {
		sealed[id] = i
	}
	present := make(map[uuid.UUID]bool, len(events))
	for _, e := range events {
		present[e.id] = true
		i, ok := sealed[e.id]
		if !ok {
			fail(b.Seq, e.id.String(), "event %s is not in block %d that covers its transaction: it was inserted after sealing", e.id, b.Seq)
			return nil
		}
		if !bytes.Equal(e.leaf, b.Leaves[i]) {
			fail(b.Seq, e.id.String(), "event %s does not match its hash sealed in block %d: it was altered", e.id, b.Seq)
			return nil
		}
	}
	for _, id := range b.EventIDs {
		if !present[id] {
			fail(b.Seq, id.String(), "event %s sealed in block %d is missing: it was deleted", id, b.Seq)
			return nil
		}
	}
	if len(events) != len(b.EventIDs) {
		fail(b.Seq, "", "block %d seals %d events but %d are stored", b.Seq, len(b.EventIDs), len(events))
	}
	return nil
}

func (b block) checkpoint() *Checkpoint {
	return &Checkpoint{Seq: b.Seq, BlockHash: hex.EncodeToString(b.BlockHash), KeyID: b.KeyID,
		Signature: base64.StdEncoding.EncodeToString(b.Signature), SealedAt: b.SealedAt}
}

// Head is the newest block as a checkpoint, or nil when nothing is sealed yet.
func (v *Verifier) Head(ctx context.Context) (*Checkpoint, error) {
	var seq int64
	res := v.db.Conn(ctx).Raw(`SELECT seq FROM audit_blocks ORDER BY seq DESC LIMIT 1`).Scan(&seq)
	if res.Error != nil || res.RowsAffected == 0 {
		return nil, res.Error
	}
	bs, err := v.blocksAfter(ctx, seq-1, 1)
	if err != nil || len(bs) == 0 {
		return nil, err
	}
	return bs[0].checkpoint(), nil
}

// ParseCheckpoint reads a checkpoint written by `ansinh audit checkpoint`.
func ParseCheckpoint(b []byte) (*Checkpoint, error) {
	var cp Checkpoint
	if err := json.Unmarshal(b, &cp); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	if cp.Seq < 1 || len(cp.BlockHash) != 64 {
		return nil, fmt.Errorf("checkpoint: needs seq and a 64-digit block_hash")
	}
	return &cp, nil
}

func (v *Verifier) blocksAfter(ctx context.Context, after int64, limit int) ([]block, error) {
	rows, err := v.db.Conn(ctx).Raw(`
		SELECT seq, from_xid::text, to_xid::text, array_to_string(event_ids, ','),
		       (SELECT coalesce(string_agg(encode(h, 'hex'), ',' ORDER BY n), '')
		          FROM unnest(leaf_hashes) WITH ORDINALITY AS u(h, n)),
		       merkle_root, prev_hash, block_hash, key_id, signature, sealed_at
		FROM audit_blocks WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []block
	for rows.Next() {
		var b block
		var from, to string
		var ids, leaves string
		if err := rows.Scan(&b.Seq, &from, &to, &ids, &leaves, &b.MerkleRoot, &b.PrevHash,
			&b.BlockHash, &b.KeyID, &b.Signature, &b.SealedAt); err != nil {
			return nil, err
		}
		if b.FromXID, err = strconv.ParseUint(from, 10, 64); err != nil {
			return nil, err
		}
		if b.ToXID, err = strconv.ParseUint(to, 10, 64); err != nil {
			return nil, err
		}
		if b.EventIDs, b.Leaves, err = parseBlockLists(ids, leaves); err != nil {
			return nil, fmt.Errorf("block %d: %w", b.Seq, err)
		}
		b.SealedAt = b.SealedAt.UTC()
		out = append(out, b)
	}
	return out, rows.Err()
}

// parseBlockLists decodes a block's comma-separated event ids and hex leaf hashes.
func parseBlockLists(ids, leaves string) ([]uuid.UUID, [][]byte, error) {
	if ids == "" && leaves == "" {
		return nil, nil, nil
	}
	idParts, leafParts := strings.Split(ids, ","), strings.Split(leaves, ",")
	if len(idParts) != len(leafParts) {
		return nil, nil, fmt.Errorf("%d event ids but %d leaf hashes", len(idParts), len(leafParts))
	}
	outIDs := make([]uuid.UUID, len(idParts))
	outLeaves := make([][]byte, len(leafParts))
	for i := range idParts {
		id, err := uuid.Parse(idParts[i])
		if err != nil {
			return nil, nil, err
		}
		leaf, err := hex.DecodeString(leafParts[i])
		if err != nil {
			return nil, nil, err
		}
		outIDs[i], outLeaves[i] = id, leaf
	}
	return outIDs, outLeaves, nil
}
