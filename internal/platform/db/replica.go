package db

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/plugin/dbresolver"
)

// replicaKey names the resolver of lag-tolerant reads: queries reach the
// replicas only when they ask for it (Read), so that every other read, and
// every read of one's own writes, stays on the primary.
const replicaKey = "replica"

// replicas are the read replicas: a pool each, configured like the
// primary's, and each one's health. Reads fall back to the primary only
// while none is healthy.
type replicas struct {
	primary *sql.DB // for its WAL position
	pools   []*sql.DB
	live    []atomic.Bool
	serving atomic.Bool
	stop    chan struct{}
	done    sync.WaitGroup
	log     *slog.Logger
}

// livePolicy picks a healthy replica at random (dbresolver's own policies
// would also pick dead ones).
type livePolicy struct{ r *replicas }

func (p livePolicy) Resolve(pools []gorm.ConnPool) gorm.ConnPool {
	var live []gorm.ConnPool
	for i, c := range pools {
		if i < len(p.r.live) && p.r.live[i].Load() {
			live = append(live, c)
		}
	}
	if len(live) == 0 {
		live = pools // Read checked serving; a replica died since: its error is mapped (503)
	}
	return live[rand.IntN(len(live))]
}

// attachReplicas opens a pool per replica (sized like the primary's),
// registers them with GORM's dbresolver under replicaKey, and checks their
// health every interval.
func (d *DB) attachReplicas(urls []string, opts Options, interval time.Duration) error {
	if len(urls) == 0 {
		return nil
	}
	r := &replicas{primary: d.sql, stop: make(chan struct{}), log: opts.Logger, live: make([]atomic.Bool, len(urls))}
	dialectors := make([]gorm.Dialector, len(urls))
	for i, u := range urls {
		p, err := openPool(u, opts)
		if err != nil {
			r.closePools()
			return fmt.Errorf("db: replica %d: %w", i, err)
		}
		if opts.MaxOpenConns > 0 {
			p.SetMaxOpenConns(opts.MaxOpenConns)
		}
		p.SetMaxIdleConns(opts.MaxIdleConns)
		p.SetConnMaxLifetime(opts.ConnMaxLifetime)
		r.pools = append(r.pools, p)
		dialectors[i] = postgres.New(postgres.Config{Conn: p})
	}
	// No setters on the resolver: they would reach the primary's pool too
	// (a named resolver without sources uses it as its source).
	if err := d.gorm.Use(dbresolver.Register(dbresolver.Config{Replicas: dialectors, Policy: livePolicy{r}}, replicaKey)); err != nil {
		r.closePools()
		return fmt.Errorf("db: replicas: %w", err)
	}
	d.replicas = r
	r.check()
	r.done.Add(1)
	go func() {
		defer r.done.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-r.stop:
				return
			case <-t.C:
				r.check()
			}
		}
	}()
	return nil
}

// maxLag is how far behind the primary's WAL a replica may be and still
// serve reads (a replica that lost its primary falls behind as soon as the
// primary writes; while the primary is idle it is current anyway).
const maxLag = 16 << 20

// check asks each replica whether it answers, is in recovery, and has
// replayed the primary's WAL to within maxLag. With the primary unreachable,
// a replica that answers keeps serving reads.
func (r *replicas) check() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	var primaryLSN sql.NullString
	_ = r.primary.QueryRowContext(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&primaryLSN)
	cancel()
	any := false
	for i, p := range r.pools {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		var recovering bool
		var lag sql.NullFloat64
		err := p.QueryRowContext(ctx, `SELECT pg_is_in_recovery(),
			CASE WHEN $1::text IS NULL THEN 0 ELSE pg_wal_lsn_diff($1::text::pg_lsn, pg_last_wal_replay_lsn()) END`,
			primaryLSN).Scan(&recovering, &lag)
		cancel()
		ok := err == nil && recovering && (!lag.Valid || lag.Float64 < maxLag)
		r.live[i].Store(ok)
		any = any || ok
	}
	if was := r.serving.Swap(any); was != any {
		r.log.Warn("read replicas changed state", "serving_reads", any)
	}
}

func (r *replicas) closePools() {
	for _, p := range r.pools {
		p.Close()
	}
}

func (r *replicas) close() {
	close(r.stop)
	r.done.Wait()
	r.closePools()
}

// Read is for reads that tolerate replication lag (reports, lists, search):
// the transaction in ctx if there is one, else a replica when replicas are
// configured and answering, else the primary.
func (d *DB) Read(ctx context.Context) *gorm.DB {
	if InTx(ctx) || !d.ReplicasServing() {
		return d.Conn(ctx)
	}
	return d.gorm.WithContext(ctx).Clauses(dbresolver.Use(replicaKey), dbresolver.Read).Session(&gorm.Session{})
}

// ReplicasServing reports whether reads go to replicas now.
func (d *DB) ReplicasServing() bool { return d.replicas != nil && d.replicas.serving.Load() }

// ReadTx runs fn in a read-only, repeatable-read transaction on a replica
// when replicas are serving (else on the primary), so that several reads see
// one snapshot of one server. fn is told which: onReplica.
func (d *DB) ReadTx(ctx context.Context, fn func(ctx context.Context, onReplica bool) error) error {
	opts := &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
	if InTx(ctx) || !d.ReplicasServing() {
		return d.WithTxOptions(ctx, opts, func(ctx context.Context) error { return fn(ctx, false) })
	}
	err := d.gorm.WithContext(ctx).Clauses(dbresolver.Use(replicaKey), dbresolver.Read).Transaction(func(tx *gorm.DB) error {
		if err := d.bound(ctx, tx); err != nil {
			return err
		}
		return fn(withTx(ctx, &txState{tx: tx, hooks: &txHooks{}}), true)
	}, opts)
	return MapError(err)
}
