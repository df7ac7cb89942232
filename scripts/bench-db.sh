# Sourced by the bench scripts: a database of its own, named $1, dropped and
# rebuilt on the development cluster and migrated, with an audit witness of
# its own in $2 (its chain is new each run: the development database's
# witness would rightly refuse its checkpoints). Sets $admin (a URL to the
# cluster's postgres database) and exports the bench database's URLs.
scripts/db.sh up >/dev/null
set -a; . .data/database.env; set +a
db=$1
swap() { echo "$1" | sed "s#/[^/?]*\(?\|\$\)#/$db\1#"; }
admin=$(echo "$ANSINH_DATABASE_MIGRATE_URL" | sed "s#/[^/?]*\(?\|\$\)#/postgres\1#")
psql -q "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
export DATABASE_URL="$(swap "$DATABASE_URL")" ANSINH_DATABASE_MIGRATE_URL="$(swap "$ANSINH_DATABASE_MIGRATE_URL")"
export ANSINH_AUDIT_WITNESS_DIR=$2
rm -rf "$ANSINH_AUDIT_WITNESS_DIR"
bin/ansinh migrate up >/dev/null
