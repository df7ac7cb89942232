#!/usr/bin/env bash
# Brings up the PostgreSQL that `make run` and `make test` use, and writes the
# connection URLs to .data/database.env for every other tool to reuse.
#
#   scripts/db.sh up       use $DATABASE_URL if it answers, else start (or reuse) a
#                          private cluster under .data/postgres on 127.0.0.1:$ANSINH_PG_PORT
#   scripts/db.sh stop     stop the private cluster
#   scripts/db.sh status   say what is running
#   scripts/db.sh clean-tests  drop databases left behind by interrupted test runs
#   scripts/db.sh reset    drop the private cluster's development database with
#                          what belongs to it (.data/attachments, .data/audit-witness)
#
# Development only: the role passwords below are the documented development
# defaults, which a production configuration refuses.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
data="$root/.data"
pgdata="$data/postgres"
envfile="$data/database.env"
port="${ANSINH_PG_PORT:-54329}"
host=127.0.0.1
owner_role=ansinh_owner
owner_pw=ansinh-dev-owner
app_role=ansinh_app
app_pw=ansinh-dev-app
super_role=ansinh_super
dbname=ansinh

say() { printf 'db: %s\n' "$*" >&2; }
die() { printf 'db: error: %s\n' "$*" >&2; exit 1; }

# find_bindir prints the directory holding pg_ctl, initdb and psql, newest version first.
find_bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -V -r); do
    [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ] && [ -x "$d/psql" ] && { echo "$d"; return 0; }
  done
  if command -v pg_ctl >/dev/null && command -v initdb >/dev/null && command -v psql >/dev/null; then
    dirname "$(readlink -f "$(command -v pg_ctl)")"; return 0
  fi
  return 1
}

install_postgres() {
  if ! command -v apt-get >/dev/null; then
    die "no PostgreSQL server binaries found (pg_ctl, initdb). Install PostgreSQL 15 or newer with its contrib extensions (Debian: apt-get install postgresql postgresql-contrib), or set DATABASE_URL to a running server."
  fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "PostgreSQL is missing and installing it needs root: run 'sudo apt-get install -y postgresql postgresql-contrib', or set DATABASE_URL."
    sudo="sudo -n"
  fi
  say "PostgreSQL binaries not found; installing Debian's postgresql and postgresql-contrib"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 ||
    die "apt-get update failed; install postgresql and postgresql-contrib yourself, or set DATABASE_URL."
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql postgresql-contrib >&2 ||
    die "apt-get install postgresql postgresql-contrib failed; install them yourself, or set DATABASE_URL."
  # Debian's package starts its own cluster on 5432; ours is separate and that one is not needed.
}

# as_pg runs a command as the unprivileged user that owns the cluster
# (initdb and postgres refuse to run as root).
pg_user=""
as_pg() {
  if [ -n "$pg_user" ]; then
    (cd / && runuser -u "$pg_user" -- "$@")
  else
    "$@"
  fi
}

choose_pg_user() {
  [ "$(id -u)" -eq 0 ] || return 0
  if getent passwd postgres >/dev/null; then
    pg_user=postgres
  else
    pg_user=ansinh-pg
    getent passwd "$pg_user" >/dev/null ||
      useradd --system --no-create-home --shell /usr/sbin/nologin "$pg_user" ||
      die "cannot create the system user $pg_user to run PostgreSQL as (initdb refuses root)"
  fi
}

# When the checkout lives where the unprivileged user cannot reach (under /root,
# say), the cluster lives in /var/lib/ansinh-pg/<hash> and .data/postgres links to it.
prepare_datadir() {
  mkdir -p "$data"
  [ -n "$pg_user" ] || return 0
  if [ -e "$pgdata" ] || [ -L "$pgdata" ]; then return 0; fi
  if runuser -u "$pg_user" -- test -x "$data"; then
    mkdir -p "$pgdata"
  else
    local alt
    alt="/var/lib/ansinh-pg/$(printf '%s' "$root" | sha256sum | cut -c1-12)"
    say "$pg_user cannot reach $data; keeping the cluster in $alt"
    if [ -d "$alt" ] && [ ! -f "$data/superuser.password" ]; then
      # A cluster left by an earlier checkout at this path, whose password is gone.
      say "removing the stale cluster in $alt"
      runuser -u "$pg_user" -- "$(find_bindir)/pg_ctl" -D "$alt" -m immediate stop >/dev/null 2>&1 || true
      rm -rf "$alt"
    fi
    mkdir -p "$alt"
    chmod 755 /var/lib/ansinh-pg
    ln -sfn "$alt" "$pgdata"
  fi
  chown "$pg_user" "$(readlink -f "$pgdata")"
  chmod 700 "$(readlink -f "$pgdata")"
}

psql_super() {
  PGOPTIONS="-c client_min_messages=warning" PGPASSWORD="$(cat "$data/superuser.password")" "$bindir/psql" -X -q -v ON_ERROR_STOP=1 \
    -h "$host" -p "$port" -U "$super_role" -d "${PGDB:-postgres}" "$@"
}

write_env() {
  local app_url="$1" owner_url="$2" super_url="${3:-}" tablespace="${4:-}"
  umask 077
  {
    echo "# Written by scripts/db.sh: connection URLs of the development database."
    echo "DATABASE_URL=$app_url"
    echo "ANSINH_DATABASE_MIGRATE_URL=$owner_url"
    [ -n "$super_url" ] && echo "ANSINH_DATABASE_SUPERUSER_URL=$super_url"
    [ -n "$tablespace" ] && echo "ANSINH_TEST_TABLESPACE=$tablespace"
    true
  } >"$envfile"
}

# Test databases (never the development database) live in a tablespace in
# memory when the machine has a tmpfs with room: a test run creates and drops
# a 20 MB database per test, and on ext4 that file-system work was a third of
# the suite's CPU. After a reboot the directory is gone: the databases in it
# are dropped (they are throwaway clones) and the tablespace made again.
# Prints the tablespace's name, or nothing when there is no tmpfs to use.
test_tablespace() {
  # One directory per checkout (clusters of two checkouts may share a port).
  local ts=ansinh_tests dir loc
  dir="/dev/shm/ansinh-tests-$(printf '%s' "$root" | sha256sum | cut -c1-12)"
  loc=$(psql_super -tAc "SELECT pg_tablespace_location(oid) FROM pg_tablespace WHERE spcname = '$ts'")
  # Turned off, or gone with a reboot: the databases in it (clones and the
  # template, which its clones would follow there) go with it.
  if [ -n "$loc" ] && { [ ! -d "$loc" ] || [ "${ANSINH_TEST_TMPFS:-on}" != on ]; }; then
    say "dropping the test tablespace in $loc and its databases (ANSINH_TEST_TMPFS=${ANSINH_TEST_TMPFS:-on}, or gone with a reboot)"
    local d
    for d in $(psql_super -tAc "SELECT d.datname FROM pg_database d JOIN pg_tablespace t ON t.oid = d.dattablespace WHERE t.spcname = '$ts'"); do
      psql_super -c "DROP DATABASE IF EXISTS \"$d\" WITH (FORCE)" 2>/dev/null || true
    done
    psql_super -c "DROP TABLESPACE $ts" 2>/dev/null || true
    case "$loc" in /dev/shm/ansinh-*) rm -rf "$loc" ;; esac
    loc=""
  fi
  [ "${ANSINH_TEST_TMPFS:-on}" = on ] || return 0
  if [ -z "$loc" ]; then
    # 2 GB free at least: a full parallel run holds a few dozen clones at once.
    [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] &&
      [ "$(df -Pk /dev/shm | awk 'NR==2 {print $4}')" -ge 2097152 ] 2>/dev/null || return 0
    # Left by a cluster of this checkout that was since removed: throwaway.
    rm -rf "$dir"
    mkdir -p "$dir" && chmod 700 "$dir" && { [ -z "$pg_user" ] || chown "$pg_user" "$dir"; } || return 0
    psql_super -c "CREATE TABLESPACE $ts OWNER $owner_role LOCATION '$dir'" >/dev/null || return 0
  fi
  echo "$ts"
}

url_answers() {
  local url="$1" psql_bin
  psql_bin=$(command -v psql || true)
  [ -n "$psql_bin" ] || psql_bin="$(find_bindir 2>/dev/null)/psql"
  [ -x "$psql_bin" ] || die "DATABASE_URL is set but no psql client is installed to check it (Debian: apt-get install postgresql-client)"
  PGCONNECT_TIMEOUT=5 "$psql_bin" -X -q -d "$url" -c 'select 1' >/dev/null 2>&1
}

up_external() {
  url_answers "$DATABASE_URL" || die "DATABASE_URL is set but the server does not answer: $(printf '%s' "$DATABASE_URL" | sed -E 's#://([^:/@]+):[^@]*@#://\1:***@#')"
  mkdir -p "$data"
  write_env "$DATABASE_URL" "${ANSINH_DATABASE_MIGRATE_URL:-$DATABASE_URL}" "${ANSINH_DATABASE_SUPERUSER_URL:-}"
  say "using DATABASE_URL"
}

up_private() {
  bindir=$(find_bindir) || { install_postgres; bindir=$(find_bindir) || die "PostgreSQL was installed but pg_ctl/initdb were not found under /usr/lib/postgresql/*/bin"; }
  local version
  version=$("$bindir/pg_ctl" --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)?.*/\1/')
  [ "$version" -ge 15 ] 2>/dev/null || die "PostgreSQL $version found in $bindir; ansinh needs 15 or newer"
  if [ ! -f "$(ls -d /usr/share/postgresql/"$version"/extension 2>/dev/null)/ltree.control" ] &&
     [ ! -f "$("$bindir/pg_config" --sharedir 2>/dev/null)/extension/ltree.control" ]; then
    say "note: the contrib extensions (ltree, unaccent, pg_trgm) may be missing; Debian: apt-get install postgresql-contrib"
  fi
  choose_pg_user
  prepare_datadir
  # The cluster's own path: the unprivileged user may not traverse .data.
  local pgreal log
  pgreal=$(readlink -f "$pgdata")
  log="$pgreal.log"

  if [ ! -f "$pgdata/PG_VERSION" ]; then
    say "initialising a private cluster in $pgdata (PostgreSQL $version)"
    local pwfile
    pwfile=$(mktemp)
    head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$data/superuser.password"
    chmod 600 "$data/superuser.password"
    cp "$data/superuser.password" "$pwfile"
    [ -z "$pg_user" ] || chown "$pg_user" "$pwfile"
    as_pg "$bindir/initdb" -D "$pgreal" -U "$super_role" --pwfile="$pwfile" \
      --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null ||
      { rm -f "$pwfile"; die "initdb failed"; }
    rm -f "$pwfile"
  fi

  if as_pg "$bindir/pg_ctl" -D "$pgreal" status >/dev/null 2>&1; then
    say "reusing the running cluster on $host:$port"
  else
    touch "$log"
    [ -z "$pg_user" ] || chown "$pg_user" "$log"
    say "starting PostgreSQL on $host:$port"
    as_pg "$bindir/pg_ctl" -D "$pgreal" -l "$log" -w -t 60 \
      -o "-p $port -c listen_addresses=$host -c unix_socket_directories='' -c max_connections=300 -c shared_buffers=256MB -c fsync=${ANSINH_PG_FSYNC:-on}" \
      start >/dev/null || { tail -20 "$log" >&2; die "PostgreSQL did not start (log: $log); is port $port taken? set ANSINH_PG_PORT"; }
  fi

  psql_super <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$owner_role') THEN
    CREATE ROLE $owner_role LOGIN CREATEDB PASSWORD '$owner_pw';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$app_role') THEN
    CREATE ROLE $app_role LOGIN PASSWORD '$app_pw';
  END IF;
END
\$\$;
-- lets the test harness drop its databases WITH (FORCE) (development only)
GRANT pg_signal_backend TO $owner_role;
SQL
  if [ "$(psql_super -tAc "SELECT 1 FROM pg_database WHERE datname = '$dbname'")" != 1 ]; then
    psql_super -c "CREATE DATABASE $dbname OWNER $owner_role"
  fi
  local base="$host:$port/$dbname?sslmode=disable"
  write_env "postgres://$app_role:$app_pw@$base" "postgres://$owner_role:$owner_pw@$base" \
    "postgres://$super_role:$(cat "$data/superuser.password")@$base" "$(test_tablespace)"
}

cmd_up() {
  if [ -n "${DATABASE_URL:-}" ]; then up_external; else up_private; fi
}

cmd_stop() {
  [ -f "$pgdata/PG_VERSION" ] || { say "no private cluster in $pgdata"; return 0; }
  bindir=$(find_bindir) || die "pg_ctl not found"
  choose_pg_user
  local pgreal
  pgreal=$(readlink -f "$pgdata")
  if as_pg "$bindir/pg_ctl" -D "$pgreal" status >/dev/null 2>&1; then
    as_pg "$bindir/pg_ctl" -D "$pgreal" -m fast -w stop >/dev/null && say "stopped"
  else
    say "not running"
  fi
}

cmd_status() {
  [ -f "$pgdata/PG_VERSION" ] || { say "no private cluster in $pgdata"; return 0; }
  bindir=$(find_bindir) || die "pg_ctl not found"
  choose_pg_user
  as_pg "$bindir/pg_ctl" -D "$(readlink -f "$pgdata")" status || true
}

# Test databases are named ansinh_t_* and templates ansinh_tmpl_*; a run that was
# killed leaves its clones behind, and templates of older migration sets pile up.
# Only call this when no test run is going. The template of the current
# migration set is kept (building it holds every test back for seconds): its
# name is the hash internal/platform/db/dbtest gives it, over each migration's
# name, length and bytes in name order.
current_template() {
  local f
  { for f in $(cd "$root/migrations" && ls -- *.sql | LC_ALL=C sort); do
      printf '%s\0%d\0' "$f" "$(stat -c %s "$root/migrations/$f")"
      cat "$root/migrations/$f"
    done; } | sha256sum | cut -c1-16 | sed 's/^/ansinh_tmpl_/'
}

cmd_clean_tests() {
  [ -f "$envfile" ] || return 0
  # shellcheck disable=SC1090
  . "$envfile"
  local url="${ANSINH_DATABASE_MIGRATE_URL:-$DATABASE_URL}" psql_bin
  psql_bin=$(command -v psql || echo "$(find_bindir)/psql")
  local dbs
  dbs=$("$psql_bin" -X -tA -d "$url" -c "SELECT datname FROM pg_database WHERE datname LIKE 'ansinh\_t\_%' OR datname LIKE 'ansinh\_tmpl\_%'") || return 0
  local keep
  keep=$(current_template 2>/dev/null || true)
  for d in $dbs; do
    [ "$d" = "$keep" ] && continue
    "$psql_bin" -X -q -d "$url" -c "DROP DATABASE IF EXISTS \"$d\" WITH (FORCE)" || true
  done
}

# The development database starts again from nothing. Its attachments and its
# audit witness go with it: checkpoints of the old database's audit chain
# would make the new one look rewritten (serve logs tampering), rightly.
cmd_reset() {
  [ -z "${DATABASE_URL:-}" ] || die "reset drops the private cluster's database only; DATABASE_URL is set: drop yours yourself"
  up_private
  say "dropping the development database $dbname, .data/attachments and .data/audit-witness"
  psql_super -c "DROP DATABASE IF EXISTS $dbname WITH (FORCE)"
  psql_super -c "CREATE DATABASE $dbname OWNER $owner_role"
  rm -rf "$data/attachments" "$data/audit-witness"
}

case "${1:-up}" in
  up) cmd_up ;;
  reset) cmd_reset ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  clean-tests) cmd_clean_tests ;;
  *) die "usage: $0 up|stop|status|clean-tests|reset" ;;
esac
