// Package db opens PostgreSQL through GORM (pgx underneath), owns transactions
// and maps PostgreSQL errors to apperr kinds. It holds no global state: the
// *DB is passed to whoever needs it.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Options configure a pool.
type Options struct {
	URL             string
	MaxOpenConns    int
	MaxIdleConns    int // 0: as many as MaxOpenConns
	ConnMaxLifetime time.Duration
	// SlowQuery is the threshold over which a query is logged (without its
	// parameters: they are personal data). Zero means 500ms.
	SlowQuery time.Duration
	Logger    *slog.Logger
	// ReplicaURLs are read replicas for lag-tolerant reads (Read); their
	// health is checked every ReplicaCheck (default 2s).
	ReplicaURLs  []string
	ReplicaCheck time.Duration
	// Limits bound the transactions of each kind of work (a kind not listed
	// is unbounded, as is every kind when Limits is nil: tools, migrations).
	Limits map[Kind]Limits
	// IdleInTransaction ends a connection's session when it stays idle
	// inside a transaction this long (idle_in_transaction_session_timeout;
	// zero: the server's setting). A forgotten transaction of the
	// application holds back the sync feed and audit sealing (Horizon).
	IdleInTransaction time.Duration
	// Actor names who a context acts for (a user's id; empty for none): each
	// transaction begun with it says so to the database (ansinh.actor), so
	// that a trigger can tell who made a change (notifications do not tell
	// people of their own acts).
	Actor func(context.Context) string
}

// DB is a connection pool with transaction helpers.
type DB struct {
	gorm *gorm.DB
	sql  *sql.DB
	// retries is how many times a transaction is re-run after a serialization
	// failure or deadlock before the error is returned.
	retries  int
	replicas *replicas
	limits   map[Kind]Limits
	actor    func(context.Context) string
	// horizonLag is the HorizonLag metric.
	horizonLag *prometheus.GaugeVec
}

// Open creates the pool without waiting for the server: a database that is
// down at start makes /readyz fail, not the process.
func Open(opts Options) (*DB, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.SlowQuery == 0 {
		opts.SlowQuery = 500 * time.Millisecond
	}
	pool, err := openPool(opts.URL, opts)
	if err != nil {
		return nil, err
	}
	g, err := gorm.Open(postgres.New(postgres.Config{Conn: pool}), &gorm.Config{
		SkipDefaultTransaction: true,
		// Statements are prepared and cached per connection by pgx itself
		// (its default cache_statement mode). GORM's own PrepareStmt would
		// prepare again on every transaction's connection: an extra round
		// trip per statement, measured at -12% write throughput.
		PrepareStmt:          false,
		DisableAutomaticPing: true,
		TranslateError:       false, // we map pgconn errors ourselves, with more kinds
		NowFunc:              func() time.Time { return time.Now().UTC() },
		// GORM would log every failed statement, including the unique
		// violations the services expect and turn into 409s: errors are
		// reported once, by the caller. Slow statements are logged by
		// registerSlowLog (PostgreSQL's log_min_duration_statement is the
		// other place).
		Logger: logger.Discard,
	})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("db: open: %w", err)
	}
	if err := registerCapture(g); err != nil {
		pool.Close()
		return nil, fmt.Errorf("db: capture: %w", err)
	}
	if err := registerSlowLog(g, opts.SlowQuery, opts.Logger); err != nil {
		pool.Close()
		return nil, fmt.Errorf("db: slow log: %w", err)
	}
	s := pool
	if opts.MaxOpenConns > 0 {
		s.SetMaxOpenConns(opts.MaxOpenConns)
	}
	// Zero idle connections would open (and authenticate) a connection for
	// every transaction; unset means keep as many as may be open.
	if opts.MaxIdleConns == 0 {
		opts.MaxIdleConns = max(2, opts.MaxOpenConns)
	}
	s.SetMaxIdleConns(opts.MaxIdleConns)
	s.SetConnMaxLifetime(opts.ConnMaxLifetime)
	d := &DB{gorm: g, sql: s, retries: 3, limits: opts.Limits, actor: opts.Actor, horizonLag: newHorizonLag()}
	if opts.ReplicaCheck == 0 {
		opts.ReplicaCheck = 2 * time.Second
	}
	if err := d.attachReplicas(opts.ReplicaURLs, opts, opts.ReplicaCheck); err != nil {
		s.Close()
		return nil, err
	}
	return d, nil
}

// Close closes the pool (and its prepared statements) and the replicas'.
func (d *DB) Close() error {
	if d.replicas != nil {
		d.replicas.close()
	}
	return d.sql.Close()
}

// SQL is the underlying database/sql pool, for pool statistics and tools that
// need it (migrations). Domain code uses Conn.
func (d *DB) SQL() *sql.DB { return d.sql }

// Ping checks the server answers within ctx's deadline.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.sql.PingContext(ctx); err != nil {
		return MapError(err)
	}
	return nil
}

type txKey struct{}

// txState is the transaction open in a context: the GORM handle, whether a
// WithTx joining it runs in a savepoint of its own (a request's transaction,
// WithRequestTx), and what to do once the whole transaction ends.
type txState struct {
	tx         *gorm.DB
	savepoints bool
	hooks      *txHooks
}

// txHooks are functions to run after the outermost transaction commits or
// rolls back (effects outside the database: starting a job, removing a file).
type txHooks struct {
	mu                   sync.Mutex
	onCommit, onRollback []func()
}

func (h *txHooks) add(commit bool, fn func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if commit {
		h.onCommit = append(h.onCommit, fn)
	} else {
		h.onRollback = append(h.onRollback, fn)
	}
}

// merge hands a finished savepoint's hooks to its transaction.
func (h *txHooks) merge(into *txHooks) {
	h.mu.Lock()
	defer h.mu.Unlock()
	into.mu.Lock()
	defer into.mu.Unlock()
	into.onCommit = append(into.onCommit, h.onCommit...)
	into.onRollback = append(into.onRollback, h.onRollback...)
}

// run runs the commit hooks (committed) or the rollback hooks, once.
func (h *txHooks) run(committed bool) {
	h.mu.Lock()
	fns := h.onRollback
	if committed {
		fns = h.onCommit
	}
	h.onCommit, h.onRollback = nil, nil
	h.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

func txFrom(ctx context.Context) (*txState, bool) {
	st, ok := ctx.Value(txKey{}).(*txState)
	return st, ok
}

func withTx(ctx context.Context, st *txState) context.Context {
	return context.WithValue(ctx, txKey{}, st)
}

// Conn is the transaction open in ctx, if any, else the pool, bound to ctx.
// Stores call it for every query so that they join their caller's transaction.
func (d *DB) Conn(ctx context.Context) *gorm.DB {
	if st, ok := txFrom(ctx); ok {
		return st.tx
	}
	return d.gorm.WithContext(ctx)
}

// InTx reports whether ctx carries an open transaction.
func InTx(ctx context.Context) bool {
	_, ok := txFrom(ctx)
	return ok
}

// AfterCommit runs fn once the transaction in ctx has committed (at once
// when there is none): effects outside the database that must follow only a
// committed write, such as starting a job on the row it wrote.
func AfterCommit(ctx context.Context, fn func()) {
	if st, ok := txFrom(ctx); ok {
		st.hooks.add(true, fn)
		return
	}
	fn()
}

// OnRollback runs fn if the transaction in ctx (or the savepoint of a WithTx
// in a request's transaction) rolls back: undoing effects outside the
// database, such as removing a stored file no row will refer to. Without a
// transaction it does nothing.
func OnRollback(ctx context.Context, fn func()) {
	if st, ok := txFrom(ctx); ok {
		st.hooks.add(false, fn)
	}
}

// WithTx runs fn in a transaction. Called inside another WithTx it joins the
// outer transaction (one commit, at the outermost level); inside a request's
// transaction (WithRequestTx) it runs in a savepoint, so that its failure
// undoes its own work only, as it would on its own. The outermost call (or
// the savepoint) re-runs fn after a serialization failure or deadlock, a
// bounded number of times, so fn must not have effects outside the database
// (or must undo them with OnRollback). The error returned is mapped to an
// apperr kind.
func (d *DB) WithTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return d.WithTxOptions(ctx, nil, fn)
}

// WithTxOptions is WithTx with an isolation level or read-only flag. Options
// are ignored when joining an outer transaction.
func (d *DB) WithTxOptions(ctx context.Context, opts *sql.TxOptions, fn func(ctx context.Context) error) error {
	return d.withTx(ctx, opts, d.retries, fn)
}

// WithTxOnce is WithTx without the retry on a serialization failure or
// deadlock, for work that cannot be repeated (it consumed a stream); the
// failure is returned to the caller, mapped.
func (d *DB) WithTxOnce(ctx context.Context, fn func(ctx context.Context) error) error {
	return d.withTx(ctx, nil, 0, fn)
}

// WithRequestTx runs a whole request in one transaction, once (a request
// cannot be re-run): the services it calls join it, each WithTx in a
// savepoint of its own. fn's error rolls everything back; so does a panic.
// The Idempotency-Key middleware uses it so that a write and its stored
// answer commit together.
func (d *DB) WithRequestTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if InTx(ctx) {
		return fn(ctx)
	}
	return d.outermost(ctx, nil, true, fn)
}

func (d *DB) withTx(ctx context.Context, opts *sql.TxOptions, retries int, fn func(ctx context.Context) error) error {
	if st, ok := txFrom(ctx); ok {
		if !st.savepoints {
			return fn(ctx)
		}
		return d.inSavepoint(ctx, st, retries, fn)
	}
	var err error
	for attempt := 0; ; attempt++ {
		err = d.outermost(ctx, opts, false, fn)
		if err == nil || !retryable(err) || attempt >= retries {
			break
		}
		if err := pause(ctx, attempt); err != nil {
			return MapError(errors.Join(err, ctx.Err()))
		}
	}
	return MapError(err)
}

// outermost runs fn in a new transaction and then its hooks.
func (d *DB) outermost(ctx context.Context, opts *sql.TxOptions, savepoints bool, fn func(ctx context.Context) error) (err error) {
	st := &txState{savepoints: savepoints, hooks: &txHooks{}}
	committed := false
	defer func() { st.hooks.run(committed) }() // a panic too runs the rollback hooks
	if c, ok := capturing(ctx); ok {
		c.add("BEGIN")
	}
	err = d.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := d.bound(ctx, tx); err != nil {
			return err
		}
		st.tx = tx
		return fn(withTx(ctx, st))
	}, opts)
	if c, ok := capturing(ctx); ok {
		c.add("COMMIT")
	}
	committed = err == nil
	return MapError(err)
}

// inSavepoint runs fn in a savepoint of a request's transaction, retried
// like an outermost WithTx; a failure rolls back to the savepoint (which
// also clears an aborted transaction) and runs the savepoint's rollback
// hooks.
func (d *DB) inSavepoint(ctx context.Context, st *txState, retries int, fn func(ctx context.Context) error) error {
	const name = "ansinh_tx"
	var err error
	for attempt := 0; ; attempt++ {
		if err := st.tx.SavePoint(name).Error; err != nil {
			return MapError(err)
		}
		inner := &txState{tx: st.tx, hooks: &txHooks{}}
		err = d.savepointAttempt(withTx(ctx, inner), inner, fn)
		if err == nil {
			inner.hooks.merge(st.hooks)
			return nil
		}
		if rerr := st.tx.RollbackTo(name).Error; rerr != nil {
			inner.hooks.run(false)
			return MapError(errors.Join(err, rerr))
		}
		inner.hooks.run(false)
		if !retryable(err) || attempt >= retries {
			return MapError(err)
		}
		if err := pause(ctx, attempt); err != nil {
			return MapError(errors.Join(err, ctx.Err()))
		}
	}
}

// savepointAttempt runs fn, turning a panic into a rollback to the savepoint
// before it goes on up.
func (d *DB) savepointAttempt(ctx context.Context, inner *txState, fn func(ctx context.Context) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			inner.hooks.run(false)
			panic(r)
		}
	}()
	return fn(ctx)
}

// pause is a short, growing pause that lets the competing transaction finish.
func pause(ctx context.Context, attempt int) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Duration(attempt+1) * 10 * time.Millisecond):
		return nil
	}
}

// StringMap runs a query of two text columns and returns the first mapped
// to the second (lookups such as area codes to paths).
func (d *DB) StringMap(ctx context.Context, query string, args ...any) (map[string]string, error) {
	out := map[string]string{}
	err := Each(d.Conn(ctx).Raw(query, args...), func(r Scanner) error {
		var k, v string
		if err := r.Scan(&k, &v); err != nil {
			return err
		}
		out[k] = v
		return nil
	})
	return out, err
}
