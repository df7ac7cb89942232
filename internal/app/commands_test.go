package app_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/ansinh/ansinh/internal/app"
	"github.com/ansinh/ansinh/internal/config"
	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
)

func TestMigrateDownStatusUp(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	cfg, err := config.Load(config.Source{Environ: map[string]string{
		"DATABASE_URL": d.AppURL, "ANSINH_DATABASE_MIGRATE_URL": d.OwnerURL,
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, log := context.Background(), slog.New(slog.DiscardHandler)
	run := func(action string) string {
		t.Helper()
		var out bytes.Buffer
		if err := app.RunMigrate(ctx, cfg, log, action, &out); err != nil {
			t.Fatalf("migrate %s: %v", action, err)
		}
		return out.String()
	}
	if s := run("status"); strings.Contains(s, "pending") || !strings.Contains(s, "applied  00001") {
		t.Fatalf("a cloned database is fully migrated:\n%s", s)
	}
	// Every migration's Down must work: roll all back, then forward again.
	for strings.Contains(run("status"), "applied") {
		run("down")
	}
	if s := run("up"); !strings.Contains(s, "migrations applied: ") || strings.Contains(s, "applied: 0") {
		t.Fatalf("up after down: %s", s)
	}
	if s := run("up"); !strings.Contains(s, "applied: 0") {
		t.Fatalf("a second up is a no-op: %s", s)
	}
	if err := app.RunMigrate(ctx, cfg, log, "sideways", &bytes.Buffer{}); err == nil {
		t.Fatal("an unknown action must fail")
	}
}

func TestSeedDemoRefusesProduction(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load(config.Source{Environ: map[string]string{
		"ANSINH_ENV": "production", "DATABASE_URL": "postgres://a:own-secret@db/ansinh",
		"ANSINH_AUDIT_SEAL_KEY": "q2Jm7c3cJm1b0ZbW3JtJZr4o9T4bXq0vZ3cJm1b0ZbU=",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.RunSeedDemo(context.Background(), cfg, slog.New(slog.DiscardHandler), &bytes.Buffer{}); err == nil {
		t.Fatal("seed demo must refuse production")
	}
}
