package db

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"gorm.io/gorm"
)

// The slow-statement log lives in GORM callbacks rather than in a GORM
// logger, for two reasons measured here: GORM's loggers render every
// statement with its values inlined before deciding whether it is slow (9% of
// a read's CPU), and Scan renders through a recorder that ignores a logger's
// parameter filter, so slow reads were logged with names and ID lookups in
// them. Here a statement is timed, and only a slow one is logged, with its
// placeholders ($1, $2) and never its values: they are personal data.

const slowStartKey = "ansinh:slow_start"

// slowSQLMax is how much of a slow statement is logged: enough to know it
// (its start and its tables), not a screenful per line.
const slowSQLMax = 240

// compactSQL is a statement on one line, runs of white space made one
// space, cut at slowSQLMax characters with the full length said.
func compactSQL(sql string) string {
	s := strings.Join(strings.Fields(sql), " ")
	if r := []rune(s); len(r) > slowSQLMax {
		return fmt.Sprintf("%s… (%d characters)", string(r[:slowSQLMax]), len(r))
	}
	return s
}

func registerSlowLog(g *gorm.DB, threshold time.Duration, log *slog.Logger) error {
	if threshold <= 0 || log == nil {
		return nil
	}
	// The statement's own settings with a fixed key: InstanceSet/Get would
	// format the statement's address into the key on every call, and start
	// always runs (and overwrites) before finish reads.
	start := func(tx *gorm.DB) { tx.Statement.Settings.Store(slowStartKey, time.Now()) }
	finish := func(tx *gorm.DB) {
		v, ok := tx.Statement.Settings.Load(slowStartKey)
		if !ok {
			return
		}
		elapsed := time.Since(v.(time.Time))
		if elapsed <= threshold || tx.Statement.SQL.Len() == 0 {
			return
		}
		log.WarnContext(tx.Statement.Context, "slow SQL statement", "duration_ms", elapsed.Milliseconds(),
			"sql", compactSQL(tx.Statement.SQL.String()), "rows", tx.RowsAffected)
	}
	cb := g.Callback()
	for _, err := range []error{
		cb.Raw().Before("gorm:raw").Register("ansinh:slow_start", start),
		cb.Raw().After("gorm:raw").Register("ansinh:slow_finish", finish),
		cb.Row().Before("gorm:row").Register("ansinh:slow_start", start),
		cb.Row().After("gorm:row").Register("ansinh:slow_finish", finish),
		cb.Query().Before("gorm:query").Register("ansinh:slow_start", start),
		cb.Query().After("gorm:query").Register("ansinh:slow_finish", finish),
		cb.Create().Before("gorm:create").Register("ansinh:slow_start", start),
		cb.Create().After("gorm:create").Register("ansinh:slow_finish", finish),
		cb.Update().Before("gorm:update").Register("ansinh:slow_start", start),
		cb.Update().After("gorm:update").Register("ansinh:slow_finish", finish),
		cb.Delete().Before("gorm:delete").Register("ansinh:slow_start", start),
		cb.Delete().After("gorm:delete").Register("ansinh:slow_finish", finish),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}
