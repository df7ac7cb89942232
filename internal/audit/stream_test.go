package audit_test

import (
	"context"
	"crypto/ed25519"
	"testing"

	"github.com/ansinh/ansinh/internal/audit"
)

// One transaction wrote 50,000 events: the sealer keeps it in one block but
// reads it in chunks of ChunkSize, folding each into the Merkle root, instead
// of holding every event; the block verifies.
func TestLargeTransactionIsSealedInChunks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const events, chunk = 50_000, 1_000
	_, err := e.owner.Exec(`INSERT INTO audit_events (id, txid, occurred_at, action, entity_type, entity_id, area_path, doc)
		SELECT gen_random_uuid(), pg_current_xact_id(), clock_timestamp(), 'thing.import', 'thing', i::text, '91.914.30791',
		       json_build_object('actor', json_build_object('kind', 'system', 'name', 'system:import', 'roles', json_build_array()),
		                         'action', 'thing.import', 'entity_type', 'thing', 'entity_id', i::text, 'after', json_build_object('i', i))
		FROM generate_series(1, $1) AS i`, events)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := createThing(actorCtx(), e.pool, "after", false); err != nil {
		t.Fatal(err)
	}
	s := audit.NewSealer(e.pool, audit.SealerOptions{Key: testKey, MaxEvents: 100, ChunkSize: chunk})
	var reads, largest, total int
	audit.ObserveChunks(s, func(rows int) {
		reads++
		largest = max(largest, rows)
		total += rows
	})
	sealAll(t, s, e.pool)
	if n := countRows(t, e.pool, `SELECT max(event_count) FROM audit_blocks`); n != events {
		t.Fatalf("the %d-event transaction must be one block, max block %d", events, n)
	}
	if total != events+1 || largest != chunk || reads < events/chunk {
		t.Fatalf("the sealer read %d events in %d chunks of at most %d; want %d events in chunks of %d",
			total, reads, largest, events+1, chunk)
	}
	assertEachEventSealedOnce(t, e.pool, events+1)
	r, err := audit.NewVerifier(e.pool, testKey.Public().(ed25519.PublicKey)).Verify(context.Background(), nil)
	if err != nil || !r.OK || r.EventsVerified != events+1 {
		t.Fatalf("the streamed block verifies: %+v %v", r, err)
	}
}
