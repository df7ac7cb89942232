#!/usr/bin/env bash
# A throwaway primary with a streaming replica, for the failover test and for
# trying replicas by hand. Trust authentication on 127.0.0.1: never for real data.
#
#   scripts/ha-cluster.sh up DIR PRIMARY_PORT REPLICA_PORT   initdb, roles, database, pg_basebackup -R, start both
#   scripts/ha-cluster.sh stop|start primary|replica DIR      stop (fast) or start one of them
#   scripts/ha-cluster.sh down DIR                            stop both and remove DIR
#
# Prints, on up, the URLs as KEY=value lines: PRIMARY_APP, PRIMARY_OWNER, REPLICA_APP.
set -euo pipefail

die() { printf 'ha-cluster: %s\n' "$*" >&2; exit 1; }
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -V -r | head -1)
[ -x "$bindir/pg_basebackup" ] || die "no PostgreSQL server binaries (run scripts/db.sh up first)"

# initdb and the servers refuse to run as root: use the postgres user then.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() { # dir port
  as_pg "$bindir/pg_ctl" -D "$1" -l "$1.log" -w -t 60 \
    -o "-p $2 -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=100 -c fsync=off" start >/dev/null ||
    { tail -20 "$1.log" >&2; die "PostgreSQL in $1 did not start"; }
}

stop() { # dir
  as_pg "$bindir/pg_ctl" -D "$1" -m fast -w -t 60 stop >/dev/null 2>&1 || true
}

psql_at() { # port sql...
  "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U postgres -d postgres -c "$2"
}

cmd=${1:-}
case "$cmd" in
up)
  dir=$2 primary_port=$3 replica_port=$4
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  chmod 700 "$dir"
  as_pg "$bindir/initdb" -D "$dir/primary" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null || die "initdb failed"
  touch "$dir/primary.log" "$dir/replica.log"
  [ "$(id -u)" = 0 ] && chown postgres "$dir/primary.log" "$dir/replica.log"
  echo "$primary_port" >"$dir/primary.port"
  echo "$replica_port" >"$dir/replica.port"
  start "$dir/primary" "$primary_port"
  psql_at "$primary_port" "CREATE ROLE ansinh_owner LOGIN CREATEDB" 
  psql_at "$primary_port" "CREATE ROLE ansinh_app LOGIN"
  psql_at "$primary_port" "GRANT pg_signal_backend TO ansinh_owner"
  psql_at "$primary_port" "CREATE DATABASE ansinh OWNER ansinh_owner"
  as_pg "$bindir/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U postgres -D "$dir/replica" -R -X stream --checkpoint=fast --no-sync >/dev/null ||
    die "pg_basebackup failed"
  start "$dir/replica" "$replica_port"
  base="127.0.0.1:%s/ansinh?sslmode=disable"
  printf "PRIMARY_APP=postgres://ansinh_app@$base\n" "$primary_port"
  printf "PRIMARY_OWNER=postgres://ansinh_owner@$base\n" "$primary_port"
  printf "REPLICA_APP=postgres://ansinh_app@$base\n" "$replica_port"
  ;;
stop) stop "$3/$2" ;;
start)
  [ -f "$3/$2.port" ] || die "no port recorded for $3/$2"
  start "$3/$2" "$(cat "$3/$2.port")"
  ;;
down)
  stop "$2/replica"; stop "$2/primary"
  rm -rf "$2"
  ;;
*) die "usage: $0 up DIR PRIMARY_PORT REPLICA_PORT | stop|start primary|replica DIR | down DIR" ;;
esac
