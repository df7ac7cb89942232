package audit_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/s3store"
)

func witnessSealer(e env, w audit.Witness) *audit.Sealer {
	return audit.NewSealer(e.pool, audit.SealerOptions{Key: testKey, MaxEvents: 3, Witness: w})
}

// latest is the witness's newest checkpoint, named as verification names it.
func latest(t *testing.T, w audit.Witness) *audit.Checkpoint {
	t.Helper()
	cp, err := w.Latest(context.Background())
	if err != nil || cp == nil {
		t.Fatalf("the witness's latest checkpoint: %+v %v", cp, err)
	}
	cp.Source = w.String()
	return cp
}

func TestWitnessHonestChainVerifies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w, err := audit.NewDirWitness(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := witnessSealer(e, w)
	for i := range 4 {
		if _, err := createThing(actorCtx(), e.pool, "thing "+string(rune('a'+i)), false); err != nil {
			t.Fatal(err)
		}
	}
	sealAll(t, s, e.pool)
	cp := latest(t, w)
	if cp.Seq < 2 || cp.MerkleRoot == "" || cp.Signature == "" || cp.KeyID != audit.KeyID(testKey.Public().(ed25519.PublicKey)) {
		t.Fatalf("4 events in blocks of at most 3: the witness holds the newest block's head: %+v", cp)
	}
	if r := verify(t, e.pool, cp); !r.OK {
		t.Fatalf("an honest chain verifies against its witness: %+v", r)
	}
	// Publishing again is a no-op; the chain grows and the witness follows.
	if err := s.Publish(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := createThing(actorCtx(), e.pool, "more", false); err != nil {
		t.Fatal(err)
	}
	sealAll(t, s, e.pool)
	if next := latest(t, w); next.Seq != cp.Seq+1 || !verify(t, e.pool, next).OK {
		t.Fatalf("the witness follows the chain: %+v after %+v", next, cp)
	}
	// A checkpoint file is never replaced, not even by the same block sealed differently.
	forged := *cp
	forged.BlockHash = strings.Repeat("ab", 32)
	if err := w.Publish(context.Background(), forged); !errors.Is(err, audit.ErrWitnessConflict) {
		t.Fatalf("publishing another head for a published block: %v", err)
	}
}

// The attack a witness exists for: delete the newest block, alter its events
// and let the sealer sign them again. The chain alone verifies; against the
// witness it does not, and the sealer will not move the witness on.
func TestWitnessCatchesDeleteAndReseal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w, err := audit.NewDirWitness(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := witnessSealer(e, w)
	seedSealedWith(t, e, s, 5) // blocks of at most 3: two or more, as seal passes cut them
	published := latest(t, w)
	n := published.Seq // the newest block, whatever the passes made of the events
	if n < 2 {
		t.Fatalf("5 events in blocks of at most 3, published head: %+v", published)
	}

	conn, err := e.super(t).Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	seq := strconv.FormatInt(n, 10)
	for _, q := range []string{
		`SET session_replication_role = replica`,
		`UPDATE audit_events SET doc = replace(doc::text, '"name":"', '"name":"forged ')::json
			WHERE id = (SELECT event_ids[1] FROM audit_blocks WHERE seq = ` + seq + `)`,
		`DELETE FROM audit_blocks WHERE seq = ` + seq,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	sealAll(t, s, e.pool) // the running sealer re-seals the altered events as block n
	if r := verify(t, e.pool, nil); !r.OK || r.Blocks < n {
		t.Fatalf("without the witness the re-sealed chain verifies (the gap this closes): %+v", r)
	}
	r := verify(t, e.pool, latest(t, w))
	if r.OK || r.BadBlock != n || !strings.Contains(r.Problem, "witness mismatch") ||
		!strings.Contains(r.Problem, published.BlockHash) {
		t.Fatalf("verification against the witness must name the mismatch at block %d: %+v", n, r)
	}

	// The chain grows on the rewrite: the sealer refuses to publish it.
	if _, err := createThing(actorCtx(), e.pool, "later", false); err != nil {
		t.Fatal(err)
	}
	sealAll(t, s, e.pool)
	if err := s.Publish(ctx); !errors.Is(err, audit.ErrWitnessAhead) {
		t.Fatalf("publishing a head whose chain dropped the published checkpoint: %v", err)
	}
	if cp := latest(t, w); cp.Seq != n || cp.BlockHash != published.BlockHash {
		t.Fatalf("the witness must still hold the original block %d: %+v", n, cp)
	}
	if r := verify(t, e.pool, latest(t, w)); r.OK || !strings.Contains(r.Problem, "witness mismatch") {
		t.Fatalf("still caught after the chain grew: %+v", r)
	}

	// Deleting the block outright (a chain shorter than the checkpoint) is caught too.
	if _, err := conn.ExecContext(ctx, `DELETE FROM audit_blocks WHERE seq >= `+seq); err != nil {
		t.Fatal(err)
	}
	if r := verify(t, e.pool, latest(t, w)); r.OK || !strings.Contains(r.Problem, "witness mismatch: checkpoint block "+seq+" is missing") {
		t.Fatalf("a chain ending before the checkpoint: %+v", r)
	}
}

func seedSealedWith(t *testing.T, e env, s *audit.Sealer, n int) []uuid.UUID {
	t.Helper()
	for i := range n {
		if _, err := createThing(actorCtx(), e.pool, "thing "+string(rune('a'+i)), false); err != nil {
			t.Fatal(err)
		}
	}
	sealAll(t, s, e.pool)
	ids, err := db.Collect(e.pool.Conn(context.Background()).Raw(`SELECT id FROM audit_events ORDER BY txid, id`),
		func(row db.Scanner) (uuid.UUID, error) {
			var id uuid.UUID
			return id, row.Scan(&id)
		})
	if err != nil || len(ids) != n {
		t.Fatalf("%d events (%v), want %d", len(ids), err, n)
	}
	return ids
}

func TestDirWitnessLatestAcrossShards(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "witness") // made at the first publication
	w, err := audit.NewDirWitness(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if cp, err := w.Latest(ctx); err != nil || cp != nil {
		t.Fatalf("an empty witness has no checkpoint: %+v %v", cp, err)
	}
	for _, seq := range []int64{9_999, 10_000, 3, 25_001} {
		if err := w.Publish(ctx, audit.Checkpoint{Seq: seq, BlockHash: strings.Repeat("0", 63) + "1"}); err != nil {
			t.Fatal(err)
		}
	}
	// A stray temporary file and an empty newer shard change nothing.
	if err := os.MkdirAll(filepath.Join(dir, "0000000009"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "0000000002", ".checkpoint-x"), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if cp, err := w.Latest(ctx); err != nil || cp.Seq != 25_001 {
		t.Fatalf("latest: %+v %v", cp, err)
	}
}

// The S3 witness against an S3 server double. gofakes3 implements neither
// object lock nor conditional puts: the lock is a deployment requirement
// (README), this proves the publish and read path and never-replace.
func TestS3Witness(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(gofakes3.New(s3mem.New(), gofakes3.WithAutoBucket(true)).Server())
	t.Cleanup(srv.Close)
	ctx := context.Background()
	w, err := audit.NewS3Witness(ctx, audit.S3WitnessOptions{Options: s3store.Options{Endpoint: strings.TrimPrefix(srv.URL, "http://"),
		Bucket: "witness", Region: "us-east-1", AccessKey: "k", SecretKey: "s", PathStyle: true}, Prefix: "audit-checkpoints/"})
	if err != nil {
		t.Fatal(err)
	}
	if w.ObjectLock() {
		t.Fatal("the double has no object lock")
	}
	if cp, err := w.Latest(ctx); err != nil || cp != nil {
		t.Fatalf("an empty witness: %+v %v", cp, err)
	}
	hash := strings.Repeat("0", 63) + "1"
	for _, seq := range []int64{1, 10, 2, 9} {
		if err := w.Publish(ctx, audit.Checkpoint{Seq: seq, BlockHash: hash, KeyID: "k"}); err != nil {
			t.Fatal(err)
		}
	}
	if cp, err := w.Latest(ctx); err != nil || cp.Seq != 10 || cp.BlockHash != hash {
		t.Fatalf("latest: %+v %v", cp, err)
	}
	if err := w.Publish(ctx, audit.Checkpoint{Seq: 10, BlockHash: hash, KeyID: "k"}); err != nil {
		t.Fatalf("publishing the same checkpoint again is a no-op: %v", err)
	}
	err = w.Publish(ctx, audit.Checkpoint{Seq: 10, BlockHash: strings.Repeat("ab", 32)})
	if !errors.Is(err, audit.ErrWitnessConflict) {
		t.Fatalf("another head for block 10 must be refused: %v", err)
	}
}
