package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"

	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/config"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// Version is set at build time (-ldflags "-X .../internal/app.Version=v1.2.3").
var Version = "dev"

// VersionString is the version with the commit it was built from.
func VersionString() string {
	rev, dirty := "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	switch {
	case rev == "":
		return Version
	case dirty:
		return fmt.Sprintf("%s (%s, modified)", Version, rev)
	}
	return fmt.Sprintf("%s (%s)", Version, rev)
}

// RunServe serves the API until ctx is cancelled (SIGINT/SIGTERM). It never
// migrates: it refuses to start on a schema older or newer than its own.
func RunServe(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	pool, err := OpenDB(cfg, log)
	if err != nil {
		return err
	}
	a, err := New(cfg, log, pool)
	if err != nil {
		pool.Close()
		return err
	}
	defer a.Close()
	if err := waitForDatabase(ctx, pool, cfg.Database.StartupWait, log); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTP.Addr, err)
	}
	// The sealer runs in every replica; an advisory lock lets one work at a time.
	sealCtx, stopSealing := context.WithCancel(ctx)
	sealed := make(chan struct{})
	go func() {
		defer close(sealed)
		a.Sealer().Run(sealCtx, cfg.Audit.SealInterval)
	}()
	defer func() { stopSealing(); <-sealed }()
	log.Info("ansinh serving", "addr", ln.Addr().String(), "env", cfg.Env, "version", VersionString())
	return a.Serve(ctx, ln)
}

// auditPartitionMonths is how far ahead `migrate up` creates audit partitions.
const auditPartitionMonths = 12

// RunMigrate applies (up), rolls back one (down) or lists (status) migrations,
// connecting as the owner role. Up also moves the audit partitions' window.
func RunMigrate(ctx context.Context, cfg *config.Config, log *slog.Logger, action string, out io.Writer) error {
	m, err := db.NewMigrator(cfg.Database.MigrationURL(), log)
	if err != nil {
		return err
	}
	defer m.Close()
	switch action {
	case "up":
		n, err := m.Up(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "migrations applied: %d\n", n)
		if err := ensurePartitions(ctx, cfg, auditPartitionMonths); err != nil {
			return err
		}
	case "down":
		v, err := m.Down(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "rolled back migration %d\n", v)
	case "status":
		st, err := m.Status(ctx)
		if err != nil {
			return err
		}
		for _, s := range st {
			state := "pending"
			if s.Applied {
				state = "applied"
			}
			fmt.Fprintf(out, "%-8s %05d %s\n", state, s.Version, s.Name)
		}
	default:
		return fmt.Errorf("unknown migrate action %q: want up, down or status", action)
	}
	return nil
}

// RunSeedDemo loads the demo province's data. The seeders arrive with the
// domains that own the data (areas and demo users with identity, households
// with the registry); until then there is nothing to load.
func RunSeedDemo(ctx context.Context, cfg *config.Config, log *slog.Logger, out io.Writer) error {
	if cfg.IsProduction() {
		return fmt.Errorf("seed demo refuses to run with env: production")
	}
	var seeders []func(context.Context) error // filled as domains land
	for _, s := range seeders {
		if err := s(ctx); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "demo seed: %d step(s) run\n", len(seeders))
	return nil
}

// ensurePartitions creates the audit tables' monthly partitions ahead, as the owner.
func ensurePartitions(ctx context.Context, cfg *config.Config, months int) error {
	owner, err := db.Open(db.Options{URL: cfg.Database.MigrationURL(), MaxOpenConns: 1})
	if err != nil {
		return err
	}
	defer owner.Close()
	return audit.EnsurePartitions(ctx, owner, months)
}
