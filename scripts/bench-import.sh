#!/usr/bin/env bash
# The import benchmark (issue 8): N households of four into a fresh database
# of the private cluster, against a raw COPY of the same rows into a table of
# the same columns. Prints rows per second, the ratio and the peak RSS.
#   scripts/bench-import.sh 1000000
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-100000}"
scripts/db.sh up >/dev/null
set -a; . .data/database.env; set +a
db=ansinh_bench_import
swap() { echo "$1" | sed "s#/[^/?]*\(?\|\$\)#/$db\1#"; }
export ANSINH_DATABASE_MIGRATE_URL="$(swap "$ANSINH_DATABASE_MIGRATE_URL")"
export DATABASE_URL="$(swap "$DATABASE_URL")"
owner="$(swap "$ANSINH_DATABASE_SUPERUSER_URL")"
psql -q "$(echo "$ANSINH_DATABASE_MIGRATE_URL" | sed "s#/$db#/postgres#")" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
go build -o bin/ansinh ./cmd/ansinh
bin/ansinh migrate up >/dev/null
communes="$(psql -At "$DATABASE_URL" -c "SELECT string_agg(code, ',') FROM areas WHERE level = 'commune' AND path <@ '91'")"
file="$(mktemp --suffix=.csv)"
trap 'rm -f "$file"' EXIT
go run ./scripts/genimport -n "$n" -communes "$communes" > "$file"
rows=$((n * 4))
echo "file: $(du -h "$file" | cut -f1), $rows rows"

start=$(date +%s.%N)
/usr/bin/time -f "peak RSS %M kB" bin/ansinh import households "$file" --mode valid_only 2>&1 >/dev/null | tail -2
import_s=$(echo "$(date +%s.%N) - $start" | bc)

psql -q "$owner" -c "CREATE TABLE copy_baseline (commune_code text, household_code text, village text, address text, area_type text,
  phone text, ethnic_minority text, full_name text, birth_date text, sex text, id_number text, relationship text,
  ethnicity_code text, disability text, student text)"
start=$(date +%s.%N)
psql -q "$owner" -c "\\copy copy_baseline FROM '$file' CSV HEADER"
copy_s=$(echo "$(date +%s.%N) - $start" | bc)
psql -q "$owner" -c "DROP TABLE copy_baseline"

echo "import: ${import_s}s, $(echo "$rows / $import_s" | bc) rows/s"
echo "raw COPY: ${copy_s}s, $(echo "$rows / $copy_s" | bc) rows/s"
echo "ratio (import speed / COPY speed): $(echo "scale=3; $copy_s / $import_s" | bc)"
