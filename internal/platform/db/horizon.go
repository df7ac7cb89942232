package db

import (
	"context"
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Horizon is the transaction id below which no transaction can still add
// rows to table (a partitioned table with its partitions): readers that page
// a table by transaction id (audit sealing, the sync feed) stop there and
// never skip a transaction that commits late. Read it in one statement and
// the rows below it in later statements of a READ COMMITTED transaction, or
// in the same REPEATABLE READ transaction: both are sound (below).
//
// The horizon used to be the snapshot's xmin, the oldest transaction running
// anywhere in the cluster: a session idle in transaction in another database
// held every table's readers. Now it is the snapshot's xmax lowered to every
// transaction id x the snapshot S saw running, except those that are
//
//  1. still running after the lock table was read (pg_xact_status, evaluated
//     after pg_locks), and
//  2. hold no lock on the table (pg_locks, one picture of the lock table), and
//  3. belong to a session of another database, or of a login role that is
//     not the application's (ansinh_app or a member of it, as README allows;
//     a superuser is not: migration 00020's ansinh_app_role).
//
// Such a transaction never adds rows to the table: a session of another
// database cannot; another role's session may insert into it only as its
// transaction's first write or after ansinh_register_writer() (the trigger of
// migration 00020 refuses anything else), and both lock the table before
// the transaction id exists and keep the lock to the end, so x would hold it
// through the lock read (it was assigned before S and runs past the read).
// Every other id below the horizon is not in S's running list and below
// xmax(S): it ended before S, so its rows are visible to S and to any later
// snapshot; ids assigned after S are >= xmax(S). Prepared
// transactions have no session and always count. The application's own
// transactions always count: idle_in_transaction_session_timeout bounds a
// forgotten one. So a long transaction that writes the table (an
// all_or_nothing import writes households and their feed) still holds that
// table's readers until it ends, as it must.
//
// next is the snapshot's xmax: no transaction id at or past it had ended.
// The horizon can move back (a transaction below it that held no lock on the
// table takes one), which never lets a row in behind a reader: such a
// transaction writes nothing to the table (above). A position issued before
// lies below next, and may lie at or past the horizon then.
//
// On a hot standby the lock table does not show the primary's transactions:
// there the horizon stays the snapshot's xmin.
func (d *DB) Horizon(ctx context.Context, table string) (horizon, next uint64, err error) {
	var hText, xmaxText string
	if err := d.Conn(ctx).Raw(horizonSQL, table).Row().Scan(&hText, &xmaxText); err != nil {
		return 0, 0, MapError(err)
	}
	if horizon, err = strconv.ParseUint(hText, 10, 64); err != nil {
		return 0, 0, fmt.Errorf("db: horizon %q: %w", hText, err)
	}
	if next, err = strconv.ParseUint(xmaxText, 10, 64); err != nil {
		return 0, 0, fmt.Errorf("db: snapshot xmax %q: %w", xmaxText, err)
	}
	d.horizonLag.WithLabelValues(table).Set(float64(next - horizon))
	return horizon, next, nil
}

// HorizonLag is the metric of how far each table's horizon was behind the
// newest transaction when last read: ansinh_horizon_lag_transactions{table},
// the transaction ids a reader of the table waits for (0: it reads all
// committed rows). Register it with the process's metrics.
func (d *DB) HorizonLag() prometheus.Collector { return d.horizonLag }

func newHorizonLag() *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ansinh_horizon_lag_transactions",
		Help: "Transaction ids between a paged table's horizon (the sync feed's registry_changes, sealing's audit_events) and the newest transaction, when last read: the transactions its readers wait for.",
	}, []string{"table"})
}

// horizonSQL computes Horizon for table ?. The CASE orders the reads: a
// candidate's pg_xact_status runs after the EXISTS that first reads the
// materialized lock table (pg_lock_status takes its whole picture at its
// first row).
const horizonSQL = `
WITH snap AS MATERIALIZED (SELECT pg_current_snapshot() AS s),
here AS (SELECT oid FROM pg_database WHERE datname = current_database()),
tbl AS (SELECT ?::regclass AS r),
rels AS (SELECT r AS relid FROM tbl UNION SELECT p.relid FROM tbl, pg_partition_tree(tbl.r) p),
locks AS MATERIALIZED (
  SELECT l.locktype, l.pid, l.virtualtransaction, l.transactionid
  FROM pg_locks l
  WHERE (l.locktype = 'transactionid' AND l.mode = 'ExclusiveLock' AND l.granted)
     OR (l.locktype = 'relation' AND l.database = (SELECT oid FROM here) AND l.relation IN (SELECT relid FROM rels)
         AND l.mode IN ('RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'))
),
running AS (SELECT x FROM snap, pg_snapshot_xip(snap.s) AS x)
SELECT CASE WHEN pg_is_in_recovery() THEN pg_snapshot_xmin(s)::text
  ELSE least(pg_snapshot_xmax(s), (
    SELECT min(r.x) FROM running r
    WHERE CASE WHEN EXISTS (
        SELECT 1 FROM locks o, pg_stat_get_activity(o.pid) a
        WHERE o.locktype = 'transactionid' AND o.transactionid = xid(r.x) AND o.pid IS NOT NULL
          AND (a.datid IS DISTINCT FROM (SELECT oid FROM here)
               OR NOT ansinh_app_role(a.usesysid))
          AND NOT EXISTS (SELECT 1 FROM locks t WHERE t.locktype = 'relation' AND t.virtualtransaction = o.virtualtransaction))
      THEN pg_xact_status(r.x) IS DISTINCT FROM 'in progress'
      ELSE true END))::text
  END, pg_snapshot_xmax(s)::text
FROM snap`
