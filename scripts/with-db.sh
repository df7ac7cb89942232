#!/usr/bin/env bash
# Runs a command with the database URLs that scripts/db.sh wrote to
# .data/database.env. Variables already set in the environment win, so that
# DATABASE_URL pointing elsewhere is honoured.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
envfile="$root/.data/database.env"
[ -f "$envfile" ] || { echo "with-db: $envfile is missing; run scripts/db.sh up (make db-up)" >&2; exit 1; }
while IFS='=' read -r key value; do
  case "$key" in ''|\#*) continue ;; esac
  [ -n "${!key:-}" ] || export "$key=$value"
done <"$envfile"
exec "$@"
