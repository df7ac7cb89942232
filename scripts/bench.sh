#!/usr/bin/env bash
# make bench: a database of its own (ansinh_bench, dropped and rebuilt), a
# synthetic province loaded by COPY, the load harness against it with the
# pgbench baseline and profiles, then the Go benchmarks; everything lands in
# bench/results/latest.md (the baseline's pgbench scripts in
# bench/results/pgbench/). BENCH_HOUSEHOLDS (default 500000), BENCH_DURATION
# (10s), BENCH_CONCURRENCY (8).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
. scripts/bench-db.sh ansinh_bench .data/bench-audit-witness
mkdir -p bench/results
load=$(bin/ansinh-bench load --households "${BENCH_HOUSEHOLDS:-500000}")
echo "$load"
# A database that has lived a while is vacuumed: index-only scans need the
# visibility map a fresh COPY has not set yet (as the owner: vacuum is theirs).
PGOPTIONS="-c client_min_messages=error" psql -q "$ANSINH_DATABASE_MIGRATE_URL" -c "VACUUM ANALYZE"
# The generated history is one transaction, so one audit block of every event
# it wrote (600k at 500k households): sealed here, as a database that has
# lived a while would be (the bench's own server does not run the sealer;
# left unsealed, the next `serve` takes ~440 MB and seconds to seal it).
sealed=$(bin/ansinh audit seal)
rm -rf bench/results/pgbench
bin/ansinh-bench --server bin/ansinh --concurrency "${BENCH_CONCURRENCY:-8}" --duration "${BENCH_DURATION:-10s}" \
  --report bench/results/latest.md --scripts bench/results/pgbench \
  --cpuprofile bench/results/cpu.pprof --memprofile bench/results/allocs.pprof 2>/dev/null
gobench=$(go test -run '^$' -bench . -benchtime 4s ./internal/audit/ ./internal/household/ ./internal/platform/ratelimit/ ./internal/access/ | grep -E '^(Benchmark|goos|cpu)')
echo "$gobench"
{
  printf '\n## Data\n\n%s\n\nBefore the scenarios, audit %s (the generated history, sealed outside the server under test).\n' "$load" "$sealed"
  printf '\n## In-process Go benchmarks (no network)\n\n```\n%s\n```\n' "$gobench"
  printf '\n`make bench` took %d s end to end.\n' $(( $(date +%s) - started ))
} >>bench/results/latest.md
echo "bench: bench/results/latest.md"
