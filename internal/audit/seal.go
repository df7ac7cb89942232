package audit

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ansinh/ansinh/internal/platform/db"
)

// How sealing avoids a global lock and never skips a late commit:
//
// Every event carries the id of the transaction that wrote it (txid, set by a
// trigger). The horizon of audit_events (db.Horizon) lies at or below every
// transaction that can still add events: every transaction below it that
// wrote events has committed or aborted, so the set of events with txid below
// it can never grow again. A block seals exactly the events with txid in
// [previous block's to_xid, horizon), whatever order their ids or commits
// came in. A long-running transaction that writes events (every write of the
// application does) delays sealing (not writing) until it ends; one of
// another database or role that holds no lock on audit_events does not.
//
// One sealer works at a time across all replicas: each block is written in a
// transaction that first takes a transaction-level advisory lock; a sealer that
// cannot take it skips its turn.

// sealLockKey is the advisory lock that serialises sealers.
const sealLockKey = 7_260_115_302

// Sealer appends signed blocks of events.
type Sealer struct {
	db        *db.DB // transactions and the horizon
	store     store
	key       ed25519.PrivateKey
	keyID     string
	maxEvents int
	chunkSize int
	onChunk   func(rows int) // tests: called with each chunk's size
	log       *slog.Logger
	metrics   *sealMetrics
	publisher *publisher // nil: no witness
}

// SealerOptions configure a Sealer.
type SealerOptions struct {
	Key       ed25519.PrivateKey
	MaxEvents int                   // events per block; one transaction's events are never split
	ChunkSize int                   // events read per query while sealing a block; 0: 5000
	Logger    *slog.Logger          // nil: discard
	Metrics   prometheus.Registerer // nil: no metrics
	// Witness receives each new head (see witness.go); nil: none.
	Witness Witness
}

// NewSealer makes a sealer that signs with opts.Key.
func NewSealer(pool *db.DB, opts SealerOptions) *Sealer {
	if opts.MaxEvents <= 0 {
		opts.MaxEvents = 5000
	}
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = 5000
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Sealer{
		db: pool, store: store{pool}, key: opts.Key, keyID: KeyID(opts.Key.Public().(ed25519.PublicKey)),
		maxEvents: opts.MaxEvents, chunkSize: opts.ChunkSize, log: opts.Logger, metrics: newSealMetrics(opts.Metrics),
	}
	if opts.Witness != nil {
		s.publisher = &publisher{witness: opts.Witness}
	}
	return s
}

// Publish sends the newest block's checkpoint to the witness unless it is
// there already (SealPending does it after sealing). It refuses, with
// ErrWitnessAhead, when the chain no longer holds the witness's newest
// checkpoint.
func (s *Sealer) Publish(ctx context.Context) error {
	if s.publisher == nil {
		return nil
	}
	return s.publisher.publish(ctx, s.store)
}

// Run seals every interval until ctx ends. Errors are logged and retried at
// the next tick: sealing is never on a request's path.
func (s *Sealer) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.SealPending(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("audit sealing failed; retrying", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SealPending seals every event that can be sealed now, in as many blocks as
// it takes, and returns how many events it sealed. It is a job (the job's
// statement timeout): a block holds one transaction whole however many
// events it wrote, and gathering 6 million of them took 32 s (the whole seal 60 s).
func (s *Sealer) SealPending(ctx context.Context) (int, error) {
	ctx = db.WithKind(ctx, db.Job)
	start := time.Now()
	total := 0
	for {
		n, more, err := s.sealBlock(ctx)
		total += n
		if err != nil {
			return total, err
		}
		if !more {
			break
		}
	}
	s.metrics.observe(ctx, s.db, total, time.Since(start))
	// A witness that is down must not stop sealing: the head is published at
	// the next pass. A refusal means the chain was rewritten: it stays loud.
	if err := s.Publish(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("audit witness: publishing the sealed head failed", "error", err.Error(),
			"tampering", errors.Is(err, ErrWitnessAhead) || errors.Is(err, ErrWitnessConflict))
	}
	return total, nil
}

type pendingEvent struct {
	id   uuid.UUID
	txid uint64
	leaf []byte
}

// sealBlock writes at most one block. more reports whether events beyond the
// block's size limit are waiting.
func (s *Sealer) sealBlock(ctx context.Context) (sealed int, more bool, err error) {
	err = s.db.WithTx(ctx, func(ctx context.Context) error {
		locked, err := s.store.trySealLock(ctx)
		if err != nil || !locked {
			return err // !locked: another sealer is at work
		}
		horizon, _, err := s.db.Horizon(ctx, "audit_events")
		if err != nil {
			return err
		}
		prev, err := s.store.lastBlock(ctx)
		if err != nil || prev.ToXID >= horizon {
			return err
		}
		to, beyond, ok, err := s.store.blockEnd(ctx, prev.ToXID, horizon, s.maxEvents)
		if err != nil || !ok {
			return err
		}
		b, err := s.buildBlock(ctx, prev, to)
		if err != nil {
			return err
		}
		inserted, err := s.store.insertBlock(ctx, b)
		if err != nil {
			return err
		}
		if !inserted {
			return fmt.Errorf("block %d: its events changed while it was sealed", b.Seq)
		}
		sealed, more = b.EventCount, beyond
		return nil
	})
	if err != nil {
		return 0, false, fmt.Errorf("audit: seal: %w", err)
	}
	return sealed, more, nil
}

// buildBlock signs the block of the events with txid in [prev.ToXID, to). It
// reads them in chunks of chunkSize and folds their leaves into the Merkle
// root as they come: memory stays bounded however many events one
// transaction wrote (insertBlock has the database gather ids and leaves).
func (s *Sealer) buildBlock(ctx context.Context, prev block, to uint64) (block, error) {
	var m merkleBuilder
	n := 0
	after := pendingEvent{txid: prev.ToXID} // the nil id sorts before every event of that txid
	for {
		chunk, err := s.store.eventChunk(ctx, after, to, s.chunkSize)
		if err != nil {
			return block{}, err
		}
		if s.onChunk != nil {
			s.onChunk(len(chunk))
		}
		for _, e := range chunk {
			m.add(e.leaf)
		}
		n += len(chunk)
		if len(chunk) < s.chunkSize {
			break
		}
		after = chunk[len(chunk)-1]
	}
	b := block{
		Seq: prev.Seq + 1, FromXID: prev.ToXID, ToXID: to, EventCount: n, MerkleRoot: m.root(),
		PrevHash: prev.BlockHash, KeyID: s.keyID,
		SealedAt: time.Now().UTC().Truncate(time.Microsecond), // timestamptz keeps microseconds
	}
	b.BlockHash = b.header().hash()
	b.Signature = ed25519.Sign(s.key, b.BlockHash)
	return b, nil
}

// block is one sealed block as stored.
type block struct {
	Seq        int64
	EventCount int
	FromXID    uint64
	ToXID      uint64
	Leaves     [][]byte
	MerkleRoot []byte
	PrevHash   []byte
	BlockHash  []byte
	KeyID      string
	Signature  []byte
	SealedAt   time.Time

	// Verification only: the sealed leaves and those recomputed from the
	// events, each concatenated.
	sealedLeaves, actualLeaves []byte
}

func (b block) header() header {
	return header{Seq: b.Seq, FromXID: b.FromXID, ToXID: b.ToXID, EventCount: b.EventCount,
		MerkleRoot: b.MerkleRoot, PrevHash: b.PrevHash, KeyID: b.KeyID, SealedAt: b.SealedAt}
}

// sealMetrics report sealing progress and latency.
type sealMetrics struct {
	lag      prometheus.Gauge
	events   prometheus.Counter
	duration prometheus.Histogram
}

func newSealMetrics(reg prometheus.Registerer) *sealMetrics {
	if reg == nil {
		return nil
	}
	m := &sealMetrics{
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ansinh_audit_seal_lag_seconds",
			Help: "Age of the oldest committed audit event not yet sealed (0 when all are sealed).",
		}),
		events: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ansinh_audit_events_sealed_total",
			Help: "Audit events sealed into blocks by this process.",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ansinh_audit_seal_duration_seconds",
			Help:    "Time of one sealing pass.",
			Buckets: prometheus.DefBuckets,
		}),
	}
	reg.MustRegister(m.lag, m.events, m.duration)
	return m
}

func (m *sealMetrics) observe(ctx context.Context, pool *db.DB, sealed int, took time.Duration) {
	if m == nil {
		return
	}
	m.events.Add(float64(sealed))
	m.duration.Observe(took.Seconds())
	lag, err := SealLag(ctx, pool)
	if err == nil {
		m.lag.Set(lag.Seconds())
	}
}

// SealLag is the age of the oldest committed event that no block holds yet.
func SealLag(ctx context.Context, pool *db.DB) (time.Duration, error) {
	st := store{pool}
	prev, err := st.lastBlock(ctx)
	if err != nil {
		return 0, err
	}
	oldest, err := st.oldestUnsealed(ctx, prev.ToXID)
	if err != nil || !oldest.Valid {
		return 0, err
	}
	return max(0, time.Since(oldest.Time)), nil
}
