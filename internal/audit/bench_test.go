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
// household registered with four members.
//
//	go test -run '^$' -bench BenchmarkWrite -benchtime 5s ./internal/audit/
func BenchmarkWrite(b *testing.B) {
	for _, c := range []struct {
		rows    int
		audited bool
	}{{1, false}, {1, true}, {5, false}, {5, true}} {
		audited := c.audited
		name := fmt.Sprintf("rows=%d/plain", c.rows)
		if audited {
			name = fmt.Sprintf("rows=%d/audited", c.rows)
		}
		b.Run(name, func(b *testing.B) {
			e := newEnv(b)
			// A household-like table: the indexes a registry row carries.
			if _, err := e.owner.Exec(`
				ALTER TABLE thing ADD COLUMN payload jsonb, ADD COLUMN version int NOT NULL DEFAULT 1;
				CREATE INDEX ON thing USING gist (area_path);
				CREATE INDEX ON thing USING gin (f_search_key(name) gin_trgm_ops);`); err != nil {
				b.Fatal(err)
			}
			ctx := actorCtx()
			b.SetParallelism(8 / max(1, runtimeProcs()))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					id := uuid.Must(uuid.NewV7())
					err := e.pool.WithTx(ctx, func(ctx context.Context) error {
						tx := e.pool.Conn(ctx)
						for i := range c.rows {
							rowID := id
							if i > 0 {
								rowID = uuid.Must(uuid.NewV7())
							}
							if err := tx.Exec(`INSERT INTO thing (id, name, area_path, payload) VALUES (?, ?, '91.914.30791', ?::jsonb)`,
								rowID, "Nguyễn Văn A", benchPayload).Error; err != nil {
								return err
							}
						}
						if !audited {
							return nil
						}
						return audit.Record(ctx, tx, audit.Event{Action: "thing.create", EntityType: "thing", EntityID: id.String(),
							AreaPath: "91.914.30791", After: json.RawMessage(benchPayload)})
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
		})
	}
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
