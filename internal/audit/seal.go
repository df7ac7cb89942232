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
// trigger). PostgreSQL's snapshot xmin is the oldest transaction still running:
// every transaction below it has committed or aborted, so the set of events
// with txid below xmin can never grow again. A block seals exactly the events
// with txid in [previous block's to_xid, xmin), whatever order their ids or
// commits came in. A long-running writing transaction delays sealing (not
// writing) until it ends.
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
	log       *slog.Logger
	metrics   *sealMetrics
	publisher *publisher // nil: no witness
}

// SealerOptions configure a Sealer.
type SealerOptions struct {
	Key       ed25519.PrivateKey
	MaxEvents int                   // events per block; one transaction's events are never split
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
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Sealer{
		db: pool, store: store{pool}, key: opts.Key, keyID: KeyID(opts.Key.Public().(ed25519.PublicKey)),
		maxEvents: opts.MaxEvents, log: opts.Logger, metrics: newSealMetrics(opts.Metrics),
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
// it takes, and returns how many events it sealed.
func (s *Sealer) SealPending(ctx context.Context) (int, error) {
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
		if err != nil {
			return err
		}
		if !locked {
			return nil // another sealer is at work
		}
		horizon, err := s.db.Horizon(ctx)
		if err != nil {
			return err
		}
		prev, err := s.store.lastBlock(ctx)
		if err != nil {
			return err
		}
		if prev.ToXID >= horizon {
			return nil
		}
		events, err := s.store.pendingEvents(ctx, prev.ToXID, horizon, s.maxEvents+1)
		if err != nil {
			return err
		}
		if len(events) == 0 {
			return nil
		}
		to := horizon
		if len(events) > s.maxEvents {
			cut := events[s.maxEvents].txid
			if events[0].txid == cut {
				// One transaction holds more than a block's worth: keep it whole.
				events, err = s.store.pendingEvents(ctx, cut, cut+1, 0)
				if err != nil {
					return err
				}
				to = cut + 1
			} else {
				for len(events) > 0 && events[len(events)-1].txid >= cut {
					events = events[:len(events)-1]
				}
				to = cut
			}
			more = true
		}
		b := newBlock(prev, to, events, s.keyID, s.key)
		if err := s.store.insertBlock(ctx, b); err != nil {
			return err
		}
		sealed = len(events)
		return nil
	})
	if err != nil {
		return 0, false, fmt.Errorf("audit: seal: %w", err)
	}
	return sealed, more, nil
}

// block is one sealed block as stored.
type block struct {
	Seq        int64
	EventCount int
	FromXID    uint64
	ToXID      uint64
	EventIDs   []uuid.UUID
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

func newBlock(prev block, to uint64, events []pendingEvent, keyID string, key ed25519.PrivateKey) block {
	b := block{
		Seq: prev.Seq + 1, FromXID: prev.ToXID, ToXID: to,
		PrevHash: prev.BlockHash, KeyID: keyID,
		SealedAt: time.Now().UTC().Truncate(time.Microsecond), // timestamptz keeps microseconds
	}
	for _, e := range events {
		b.EventIDs = append(b.EventIDs, e.id)
		b.Leaves = append(b.Leaves, e.leaf)
	}
	b.EventCount = len(events)
	b.MerkleRoot = merkleRoot(b.Leaves)
	b.BlockHash = b.header().hash()
	b.Signature = ed25519.Sign(key, b.BlockHash)
	return b
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
