package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"runtime"
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
	Witness        string      `json:"witness,omitempty"` // where the checkpoint checked came from
	CheckedAt      time.Time   `json:"checked_at"`
	DurationMS     int64       `json:"duration_ms"`
}

// Checkpoint is a signed block head kept off-site: a later verification proves
// the log still extends it (nothing before it was rewritten or removed).
type Checkpoint struct {
	Seq       int64  `json:"seq"`
	BlockHash string `json:"block_hash"` // hex
	// MerkleRoot (hex) is informative: BlockHash commits to it.
	MerkleRoot string    `json:"merkle_root,omitempty"`
	KeyID      string    `json:"key_id"`
	Signature  string    `json:"signature"` // base64
	SealedAt   time.Time `json:"sealed_at"`

	// Source names where the checkpoint came from (a witness), for reports.
	Source string `json:"-"`
}

// name is how reports call the checkpoint.
func (cp *Checkpoint) name() string {
	if cp.Source == "" {
		return "the checkpoint"
	}
	return "the checkpoint published to the witness (" + cp.Source + ")"
}

// prefix starts a report's problem with "witness mismatch" when the checkpoint
// came from a witness.
func (cp *Checkpoint) prefix() string {
	if cp.Source == "" {
		return ""
	}
	return "witness mismatch: "
}

// Verifier checks blocks and events against the public keys it trusts.
type Verifier struct {
	store store
	keys  map[string]ed25519.PublicKey
}

// NewVerifier trusts the given public keys (the current seal key's and those
// of earlier keys, for blocks signed before a rotation).
func NewVerifier(pool *db.DB, keys ...ed25519.PublicKey) *Verifier {
	v := &Verifier{store: store{pool}, keys: map[string]ed25519.PublicKey{}}
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
	last, err := v.store.lastSeq(ctx)
	if err != nil {
		return r, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := v.fetchChunks(ctx, last)

	prev := block{Seq: 0, ToXID: 0, BlockHash: genesisHash}
	var cpSeen bool
	for ch := range chunks {
		res := <-ch
		if res.err != nil {
			return r, res.err
		}
		for _, b := range res.blocks {
			if err := v.checkBlock(ctx, prev, b, fail); err != nil {
				return r, err
			}
			if !r.OK {
				break
			}
			r.Blocks++
			r.EventsVerified += int64(b.EventCount)
			if cp != nil && b.Seq == cp.Seq {
				cpSeen = true
				if hex.EncodeToString(b.BlockHash) != cp.BlockHash {
					fail(b.Seq, "", "%sblock %d has hash %x but %s has %s: the log was rewritten since it was taken",
						cp.prefix(), b.Seq, b.BlockHash, cp.name(), cp.BlockHash)
				}
			}
			prev = b
		}
		if !r.OK {
			break
		}
	}
	cancel()
	if r.OK && prev.Seq != last {
		fail(last, "", "block %d is missing: the chain ends at block %d", prev.Seq+1, prev.Seq)
	}
	if r.OK {
		if cp != nil && !cpSeen {
			fail(cp.Seq, "", "%scheckpoint block %d is missing: the chain ends at block %d, before %s: blocks were deleted",
				cp.prefix(), cp.Seq, prev.Seq, cp.name())
		}
		if prev.Seq > 0 {
			r.Head = prev.checkpoint()
		}
		r.EventsUnsealed, err = v.store.countUnsealed(context.WithoutCancel(ctx), prev.ToXID)
	}
	r.DurationMS = time.Since(start).Milliseconds()
	return r, err
}

// Verification reads blocks in chunks, several at once: the database does the
// hashing, so reading on two connections uses two cores. The checks still run
// in order, chunk by chunk.
const verifyBatch = 16 // blocks a chunk

// verifyWorkers is how many connections read at once: one a core, at least two.
func verifyWorkers() int { return min(8, max(2, runtime.NumCPU())) }

type chunkResult struct {
	blocks []block
	err    error
}

// fetchChunks starts readers for blocks 1..last and returns, in order, one
// channel per chunk that yields its blocks. Readers stay at most a few chunks
// ahead of the consumer and stop when ctx ends.
func (v *Verifier) fetchChunks(ctx context.Context, last int64) <-chan chan chunkResult {
	workers := verifyWorkers()
	ordered := make(chan chan chunkResult, workers)
	type job struct {
		lo, hi int64
		out    chan chunkResult
	}
	jobs := make(chan job)
	for range workers {
		go func() {
			for j := range jobs {
				bs, err := v.store.blocksBetween(ctx, j.lo, j.hi)
				j.out <- chunkResult{bs, err}
			}
		}()
	}
	go func() {
		defer close(ordered)
		defer close(jobs)
		for lo := int64(1); lo <= last; lo += verifyBatch {
			j := job{lo: lo, hi: min(lo+verifyBatch-1, last), out: make(chan chunkResult, 1)}
			select {
			case ordered <- j.out: // bounded: the consumer takes chunks in order
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- j:
			case <-ctx.Done():
				j.out <- chunkResult{err: ctx.Err()}
				return
			}
		}
	}()
	return ordered
}

// checkBlock checks a block's chain, hash and signature, then compares the
// leaves recomputed from its events (the database hashes them; see
// blocksAfter) with the sealed ones. Only on a mismatch does it look at single
// events, to name the one that differs.
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
	case len(b.Leaves) != b.EventCount:
		fail(b.Seq, "", "block %d lists %d event hashes for %d events", b.Seq, len(b.Leaves), b.EventCount)
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
	if bytes.Equal(b.sealedLeaves, b.actualLeaves) {
		return nil
	}
	return v.diagnose(ctx, b, fail)
}

// diagnose names the event that makes a block's recomputed leaves differ.
func (v *Verifier) diagnose(ctx context.Context, b block, fail func(int64, string, string, ...any)) error {
	ids, err := v.store.blockEventIDs(ctx, b.Seq)
	if err != nil {
		return err
	}
	events, err := v.store.pendingEvents(ctx, b.FromXID, b.ToXID, 0)
	if err != nil {
		return err
	}
	sealed := make(map[uuid.UUID]int, len(ids))
	for i, id := range ids {
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
		if i >= len(b.Leaves) || !bytes.Equal(e.leaf, b.Leaves[i]) {
			fail(b.Seq, e.id.String(), "event %s does not match its hash sealed in block %d: it was altered", e.id, b.Seq)
			return nil
		}
	}
	for _, id := range ids {
		if !present[id] {
			fail(b.Seq, id.String(), "event %s sealed in block %d is missing: it was deleted", id, b.Seq)
			return nil
		}
	}
	for i, e := range events {
		if e.id != ids[i] {
			fail(b.Seq, "", "block %d: its events are stored in a different order than sealed", b.Seq)
			return nil
		}
	}
	return nil // every event matches, in order: the fast comparison was wrong, not the log
}

func (b block) checkpoint() *Checkpoint {
	return &Checkpoint{Seq: b.Seq, BlockHash: hex.EncodeToString(b.BlockHash), MerkleRoot: hex.EncodeToString(b.MerkleRoot), KeyID: b.KeyID,
		Signature: base64.StdEncoding.EncodeToString(b.Signature), SealedAt: b.SealedAt}
}

// Head is the newest block as a checkpoint, or nil when nothing is sealed yet.
func (v *Verifier) Head(ctx context.Context) (*Checkpoint, error) {
	seq, ok, err := v.store.headSeq(ctx)
	if err != nil || !ok {
		return nil, err
	}
	bs, err := v.store.blocksBetween(ctx, seq, seq)
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
