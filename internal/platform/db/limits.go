package db

import (
	"context"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Kind is the kind of work a context does: it chooses the statement and
// lock-wait bounds of the transactions begun with it. The route or the caller
// sets it (WithKind); a context without one is Interactive.
type Kind int

// The kinds of work.
const (
	Interactive Kind = iota // a user's request
	Report                  // reports and exports
	Job                     // imports and background jobs
)

// Limits bound one kind of work's transactions: each statement
// (statement_timeout) and each lock wait (lock_timeout). Past one, PostgreSQL
// cancels the statement (57014, 55P03) and MapError makes it Unavailable.
type Limits struct {
	Statement time.Duration
	Lock      time.Duration
}

type kindKey struct{}

// WithKind marks ctx as doing work of kind k.
func WithKind(ctx context.Context, k Kind) context.Context {
	return context.WithValue(ctx, kindKey{}, k)
}

// KindOf is the kind of work ctx does (Interactive unless marked).
func KindOf(ctx context.Context) Kind {
	k, _ := ctx.Value(kindKey{}).(Kind)
	return k
}

// bound sets the limits of ctx's kind on the transaction tx has just begun
// (SET LOCAL: they end with it), and who it acts for; in one statement. A
// pool opened without limits sets none.
func (d *DB) bound(ctx context.Context, tx *gorm.DB) error {
	var sets []string
	var args []any
	if l, ok := d.limits[KindOf(ctx)]; ok {
		sets = append(sets, "set_config('statement_timeout', ?, true)", "set_config('lock_timeout', ?, true)")
		args = append(args, millis(l.Statement), millis(l.Lock))
	}
	if d.actor != nil {
		if who := d.actor(ctx); who != "" {
			sets = append(sets, "set_config('ansinh.actor', ?, true)")
			args = append(args, who)
		}
	}
	if len(sets) == 0 {
		return nil
	}
	return tx.Exec("SELECT "+strings.Join(sets, ", "), args...).Error
}

// millis is a duration as PostgreSQL's milliseconds; zero leaves it unbounded.
func millis(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
