#!/usr/bin/env bash
# make bench-reorganize: a database of its own (ansinh_bench_reorg, dropped
# and rebuilt), the synthetic province under the 2025-03 units (as make
# bench loads it), then its reorganization to the two-tier units through the
# API while clients register and edit households: bench/results/reorganize.md.
# BENCH_HOUSEHOLDS (default 500000), BENCH_CONCURRENCY (8), BENCH_LOAD_FOR (3m:
# how long the registrations and edits run beside it; the run then goes on
# alone, and the report gives both rates).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
. scripts/bench-db.sh ansinh_bench_reorg .data/bench-reorg-audit-witness
mkdir -p bench/results
load=$(bin/ansinh-bench load --households "${BENCH_HOUSEHOLDS:-500000}")
echo "$load"
PGOPTIONS="-c client_min_messages=error" psql -q "$ANSINH_DATABASE_MIGRATE_URL" -c "VACUUM ANALYZE"
bin/ansinh audit seal >/dev/null
bin/ansinh-bench reorganize --concurrency "${BENCH_CONCURRENCY:-8}" --load-for "${BENCH_LOAD_FOR:-3m}" \
  --report bench/results/reorganize.md 2>/dev/null
{
  printf '\n## Data\n\n%s\n' "$load"
  printf '\n`make bench-reorganize` took %d s end to end.\n' $(( $(date +%s) - started ))
} >>bench/results/reorganize.md
psql -q "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
echo "bench: bench/results/reorganize.md"
