package db

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/jackc/pgx/v5"
)

// InstanceLockSpace is the first key of the session advisory locks that say
// "this process is alive": (InstanceLockSpace, instance key). A process holds
// its own on its Own connection for as long as it lives; PostgreSQL frees it
// when the session ends, so a free lock means a dead (or cut off) process.
const InstanceLockSpace int32 = 0x616e7369 // "ansi"

// Own is one connection of this process, outside the pool: operations
// (readiness) never queue behind business requests waiting for the pool, and
// it holds the process's instance lock. It connects when first used and
// again after a failure, taking the instance lock again each time.
type Own struct {
	url      string
	instance int32
	sem      chan struct{} // one user of the connection at a time
	conn     *pgx.Conn
	closed   bool
}

// ErrInstanceTaken is returned when another live session holds this
// process's instance lock (a random key that collided: restart the process).
var ErrInstanceTaken = errors.New("db: the instance lock is held by another session")

// NewOwn makes the connection on url (not yet opened) for a process with a
// random instance key.
func NewOwn(url string) *Own {
	return &Own{url: url, instance: rand.Int32N(1<<31-1) + 1, sem: make(chan struct{}, 1)}
}

// Instance is this process's instance key (the second key of its lock).
func (o *Own) Instance() int32 { return o.instance }

// Ping connects if needed (taking the instance lock) and checks the server
// answers within ctx. It waits for the connection's other user no longer
// than ctx allows. A failed connection is closed: the next call reconnects.
func (o *Own) Ping(ctx context.Context) error {
	select {
	case o.sem <- struct{}{}:
		defer func() { <-o.sem }()
	case <-ctx.Done():
		return MapError(ctx.Err())
	}
	if o.closed {
		return errors.New("db: own connection closed")
	}
	if o.conn == nil || o.conn.IsClosed() {
		if err := o.connect(ctx); err != nil {
			return err
		}
	}
	if err := o.conn.Ping(ctx); err != nil {
		o.drop()
		return MapError(err)
	}
	return nil
}

// connect opens the connection and takes the instance lock on it.
func (o *Own) connect(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, o.url)
	if err != nil {
		return MapError(err)
	}
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, $2)`, InstanceLockSpace, o.instance).Scan(&locked); err != nil {
		conn.Close(context.Background())
		return MapError(err)
	}
	if !locked {
		conn.Close(context.Background())
		return fmt.Errorf("%w (instance %d)", ErrInstanceTaken, o.instance)
	}
	o.conn = conn
	return nil
}

func (o *Own) drop() {
	if o.conn != nil {
		o.conn.Close(context.Background())
		o.conn = nil
	}
}

// Close ends the session (and frees the instance lock).
func (o *Own) Close() {
	o.sem <- struct{}{}
	defer func() { <-o.sem }()
	o.closed = true
	o.drop()
}
