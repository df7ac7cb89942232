package db

import (
	"context"
	"sync"

	"gorm.io/gorm"
)

// Capture records the statements run with a context, as executable SQL
// (values inlined), with BEGIN and COMMIT where transactions start and end:
// the load harness turns one request's statements into a pgbench script.
type Capture struct {
	mu    sync.Mutex
	stmts []string
}

type captureKey struct{}

// WithCapture returns a context whose statements are recorded in the Capture.
func WithCapture(ctx context.Context) (context.Context, *Capture) {
	c := &Capture{}
	return context.WithValue(ctx, captureKey{}, c), c
}

// Statements are the recorded statements, in order.
func (c *Capture) Statements() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.stmts...)
}

func (c *Capture) add(s string) {
	c.mu.Lock()
	c.stmts = append(c.stmts, s)
	c.mu.Unlock()
}

// registerCapture hooks every kind of statement GORM runs.
func registerCapture(g *gorm.DB) error {
	record := func(tx *gorm.DB) {
		if tx.Statement == nil || tx.Statement.Context == nil {
			return
		}
		c, ok := tx.Statement.Context.Value(captureKey{}).(*Capture)
		if !ok || tx.Statement.SQL.Len() == 0 {
			return
		}
		c.add(tx.Dialector.Explain(tx.Statement.SQL.String(), tx.Statement.Vars...))
	}
	cb := g.Callback()
	for _, err := range []error{
		cb.Raw().After("gorm:raw").Register("ansinh:capture", record),
		cb.Row().After("gorm:row").Register("ansinh:capture", record),
		cb.Query().After("gorm:query").Register("ansinh:capture", record),
		cb.Create().After("gorm:create").Register("ansinh:capture", record),
		cb.Update().After("gorm:update").Register("ansinh:capture", record),
		cb.Delete().After("gorm:delete").Register("ansinh:capture", record),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// capturing reports whether ctx records statements (transactions note their
// boundaries then).
func capturing(ctx context.Context) (*Capture, bool) {
	c, ok := ctx.Value(captureKey{}).(*Capture)
	return c, ok
}
