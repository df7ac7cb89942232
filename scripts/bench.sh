#!/usr/bin/env bash
# make bench: a database of its own (ansinh_bench, dropped and rebuilt), a
# synthetic province loaded by COPY, the load harness against it with the
# pgbench baseline and profiles (bench/results/latest.md), then the Go
# benchmarks. BENCH_HOUSEHOLDS (default 500000), BENCH_DURATION (10s),
# BENCH_CONCURRENCY (8).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/db.sh up >/dev/null
set -a; . .data/database.env; set +a
db=ansinh_bench
swap() { echo "$1" | sed "s#/[^/?]*\(?\|\$\)#/$db\1#"; }
admin=$(echo "$ANSINH_DATABASE_MIGRATE_URL" | sed "s#/[^/?]*\(?\|\$\)#/postgres\1#")
psql -q "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
export DATABASE_URL="$(swap "$DATABASE_URL")" ANSINH_DATABASE_MIGRATE_URL="$(swap "$ANSINH_DATABASE_MIGRATE_URL")"
bin/ansinh migrate up >/dev/null
bin/ansinh bench load --households "${BENCH_HOUSEHOLDS:-500000}"
mkdir -p bench/results
bin/ansinh bench --concurrency "${BENCH_CONCURRENCY:-8}" --duration "${BENCH_DURATION:-10s}" \
  --report bench/results/latest.md --cpuprofile bench/results/cpu.pprof --memprofile bench/results/allocs.pprof 2>/dev/null
go test -run '^$' -bench . -benchtime 4s ./internal/audit/ ./internal/app/
