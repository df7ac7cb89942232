package audit_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/audit"
)

// BenchmarkWrite measures what auditing adds to a write: the same transaction
// with and without its audit event, from 8 concurrent clients. "rows=1" is the
// worst case (one INSERT, so the event doubles the statements); "rows=5" is a
// household registered with four members. "audited" sends the event as a
// statement of its own (Record); "along" sends it in one statement with the
// last row's INSERT (RecordAlong, as a household's change goes with its
// sync-feed entry).
//
//	go test -run '^$' -bench BenchmarkWrite -benchtime 5s ./internal/audit/
func BenchmarkWrite(b *testing.B) {
	for _, rows := range []int{1, 5} {
		for _, mode := range []string{"plain", "audited", "along"} {
			b.Run(fmt.Sprintf("rows=%d/%s", rows, mode), func(b *testing.B) { benchmarkWrite(b, rows, mode) })
		}
	}
}

func benchmarkWrite(b *testing.B, rows int, mode string) {
	e := newEnv(b)
	// A household-like table: the indexes a registry row carries.
	if _, err := e.owner.Exec(`
		ALTER TABLE thing ADD COLUMN payload jsonb, ADD COLUMN version int NOT NULL DEFAULT 1;
		CREATE INDEX ON thing USING gist (area_path);
		CREATE INDEX ON thing USING gin (f_search_key(name) gin_trgm_ops);`); err != nil {
		b.Fatal(err)
	}
	const insert = `INSERT INTO thing (id, name, area_path, payload) VALUES (?, ?, '91.914.30791', ?::jsonb)`
	ctx := actorCtx()
	b.SetParallelism(8 / max(1, runtimeProcs()))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := uuid.Must(uuid.NewV7())
			err := e.pool.WithTx(ctx, func(ctx context.Context) error {
				tx := e.pool.Conn(ctx)
				ev := audit.Event{Action: "thing.create", EntityType: "thing", EntityID: id.String(),
					AreaPath: "91.914.30791", After: json.RawMessage(benchPayload)}
				for i := range rows {
					rowID := id
					if i > 0 {
						rowID = uuid.Must(uuid.NewV7())
					}
					if mode == "along" && i == rows-1 {
						return audit.RecordAlong(ctx, tx, ev, insert, rowID, "Nguyễn Văn A", benchPayload)
					}
					if err := tx.Exec(insert, rowID, "Nguyễn Văn A", benchPayload).Error; err != nil {
						return err
					}
				}
				if mode == "plain" {
					return nil
				}
				return audit.Record(ctx, tx, ev)
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

// BenchmarkVerify measures verification speed in events per second over a
// sealed log of 200,000 events written by 400 transactions.
func BenchmarkVerify(b *testing.B) {
	e := newEnv(b)
	const txs, perTx = 400, 500
	for range txs {
		_, err := e.owner.Exec(`INSERT INTO audit_events (id, txid, occurred_at, action, entity_type, entity_id, actor_id, area_path, doc)
			SELECT gen_random_uuid(), pg_current_xact_id(), clock_timestamp(), 'household.update', 'household',
			  gen_random_uuid()::text, '01900000-0000-7000-8000-000000000001', '91.914.30791', json_build_object(
			  'actor', json_build_object('kind', 'user', 'id', '01900000-0000-7000-8000-000000000001', 'name', 'demo-worker',
			                             'roles', json_build_array(json_build_object('role', 'commune_worker', 'area', '30791'))),
			  'action', 'household.update', 'entity_type', 'household', 'entity_id', gen_random_uuid()::text,
			  'area_path', '91.914.30791', 'request_id', 'req', 'client_ip', '10.0.0.1', 'user_agent', 'ansinh-mobile/1.0',
			  'before', json_build_object('head', 'Nguyễn Văn A', 'members', 4, 'i', i),
			  'after', json_build_object('head', 'Nguyễn Văn A', 'members', 5, 'i', i))
			FROM generate_series(1, $1) AS i`, perTx)
		if err != nil {
			b.Fatal(err)
		}
	}
	sealer := audit.NewSealer(e.pool, audit.SealerOptions{Key: testKey, MaxEvents: 5000})
	start := time.Now()
	sealAll(b, sealer, e.pool)
	b.Logf("sealed %d events in %s", txs*perTx, time.Since(start))
	v := audit.NewVerifier(e.pool, testKey.Public().(ed25519.PublicKey))
	b.ResetTimer()
	for range b.N {
		r, err := v.Verify(context.Background(), nil)
		if err != nil || !r.OK || r.EventsVerified != txs*perTx {
			b.Fatal(fmt.Sprint(err, r))
		}
	}
	b.ReportMetric(float64(txs*perTx)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// benchPayload is a household with four members, roughly as the registry stores it.
const benchPayload = `{"code":"30791-0042","village":"Ấp Tà Teng","address":"tổ 3","area_type":"rural","phone":"0912345678",
"members":[{"name":"Nguyễn Văn A","birth":"1978","sex":"male","id_number":"091078001234","relation":"head"},
{"name":"Trần Thị B","birth":"1981","sex":"female","id_number":"091181005678","relation":"spouse"},
{"name":"Nguyễn Văn C","birth":"2008-05-02","sex":"male","relation":"child","student":true},
{"name":"Nguyễn Thị D","birth":"2014","sex":"female","relation":"child","student":true}]}`

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
