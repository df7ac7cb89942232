package db

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
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

// replicas watches the read replicas' health; reads fall back to the
// primary while none answers.
type replicas struct {
	pools   []*sql.DB // one small pool per replica, for the health checks
	healthy atomic.Bool
	stop    chan struct{}
	done    sync.WaitGroup
	log     *slog.Logger
}

// attachReplicas registers the replicas with GORM's dbresolver under
// replicaKey and starts checking their health every interval.
func (d *DB) attachReplicas(urls []string, maxOpen int, interval time.Duration, log *slog.Logger) error {
	if len(urls) == 0 {
		return nil
	}
	dialectors := make([]gorm.Dialector, len(urls))
	r := &replicas{stop: make(chan struct{}), log: log}
	for i, u := range urls {
		dialectors[i] = postgres.New(postgres.Config{DSN: u})
		p, err := sql.Open("pgx", u)
		if err != nil {
			return fmt.Errorf("db: replica %d: %w", i, err)
		}
		p.SetMaxOpenConns(1)
		r.pools = append(r.pools, p)
	}
	err := d.gorm.Use(dbresolver.Register(dbresolver.Config{Replicas: dialectors, Policy: dbresolver.RandomPolicy{}},
		replicaKey).SetMaxOpenConns(maxOpen).SetConnMaxLifetime(30 * time.Minute))
	if err != nil {
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

// check pings every replica; reads use them only while all answer (the
// resolver picks among them at random and cannot skip a dead one).
func (r *replicas) check() {
	ok := true
	for _, p := range r.pools {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if err := p.PingContext(ctx); err != nil {
			ok = false
		}
		cancel()
	}
	if was := r.healthy.Swap(ok); was != ok {
		r.log.Warn("read replicas changed state", "serving_reads", ok)
	}
}

func (r *replicas) close() {
	close(r.stop)
	r.done.Wait()
	for _, p := range r.pools {
		p.Close()
	}
}

// Read is for reads that tolerate replication lag (reports, lists, search):
// the transaction in ctx if there is one, else a replica when replicas are
// configured and answering, else the primary.
func (d *DB) Read(ctx context.Context) *gorm.DB {
	if InTx(ctx) || d.replicas == nil || !d.replicas.healthy.Load() {
		return d.Conn(ctx)
	}
	return d.gorm.WithContext(ctx).Clauses(dbresolver.Use(replicaKey), dbresolver.Read)
}

// ReplicasServing reports whether reads go to replicas now.
func (d *DB) ReplicasServing() bool { return d.replicas != nil && d.replicas.healthy.Load() }

// ReadTx runs fn in a read-only, repeatable-read transaction on a replica
// when replicas are serving (else on the primary), so that several reads see
// one snapshot of one server. fn is told which: onReplica.
func (d *DB) ReadTx(ctx context.Context, fn func(ctx context.Context, onReplica bool) error) error {
	opts := &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
	if InTx(ctx) || !d.ReplicasServing() {
		return d.WithTxOptions(ctx, opts, func(ctx context.Context) error { return fn(ctx, false) })
	}
	err := d.gorm.WithContext(ctx).Clauses(dbresolver.Use(replicaKey), dbresolver.Read).Transaction(func(tx *gorm.DB) error {
		return fn(context.WithValue(ctx, txKey{}, tx), true)
	}, opts)
	return MapError(err)
}
