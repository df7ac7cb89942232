package notify

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
)

// A group is taken once its newest notification has waited gather, or its
// oldest five times that, however often new ones come; a dispatcher that
// ran past its lease and lost the group to another writes nothing.
func TestClaimWaitsForTheGroupAndIsFenced(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	exec := func(q string, args ...any) {
		t.Helper()
		if err := pool.Conn(ctx).Exec(q, args...).Error; err != nil {
			t.Fatal(err)
		}
	}
	work := func(place string, ageMinutes int) {
		exec(`SELECT notify_work('review_submitted', 'review', gen_random_uuid(), CAST(? AS ltree), false, NULL, NULL, NULL)`, place)
		exec(`UPDATE notifications SET created_at = now() - make_interval(mins => ?) WHERE claimed_at IS NULL AND created_at > now() - interval '1 second'`, ageMinutes)
	}
	s := store{db: pool}
	const wait = 10 * time.Minute
	work("91.914.30791", 12) // a quiet group: its newest waited 12 minutes
	work("91.914.30791", 11)
	work("91.914.30793", 40) // a busy one: its newest came just now, but its oldest waited over 50 minutes
	work("91.914.30793", 55)
	work("91.914.30793", 0)
	work("91.914.30796", 30) // a young one: its newest came 3 minutes ago, its oldest 30
	work("91.914.30796", 3)
	got, err := s.claim(ctx, wait, time.Minute, 50)
	if err != nil {
		t.Fatal(err)
	}
	places := map[string]int{}
	for _, n := range got {
		places[n.AreaPath]++
	}
	if len(places) != 2 || places["91.914.30791"] != 2 || places["91.914.30793"] != 3 {
		t.Fatalf("taken: %v; want the quiet group (2) and the busy one past 5×gather (3)", places)
	}

	// Another dispatcher takes the quiet group over (this one ran past its lease).
	quiet := gather(got)[0]
	exec(`UPDATE notifications SET claimed_at = claimed_at + interval '1 second' WHERE id = ?`, quiet[0].ID)
	err = s.fannedOut(ctx, quiet[0].ClaimedAt, quiet[0].ID, []uuid.UUID{quiet[1].ID}, nil, nil)
	if !errors.Is(err, errClaimLost) {
		t.Fatalf("a fan-out past its claim: %v; want errClaimLost", err)
	}
	var fanned int
	if err := pool.Conn(ctx).Raw(`SELECT count(*) FROM notifications WHERE fanned_out_at IS NOT NULL OR gathered_into IS NOT NULL`).Row().Scan(&fanned); err != nil || fanned != 0 {
		t.Fatalf("%d notifications marked by a lost claim (%v)", fanned, err)
	}
}

// A complaint handled at a unit of an earlier edition reaches the workers
// of the unit that took it in whole (their scope's past), as the inbox
// shows it to them; not those of another unit.
func TestRecipientsThroughTheUnitsPast(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	for _, u := range []struct{ name, code string }{{"past-worker", "30793"}, {"other-worker", "31036"}} {
		id := uuid.Must(uuid.NewV7())
		if err := pool.Conn(ctx).Exec(`INSERT INTO users (id, username, full_name, password_hash, email) VALUES (?, ?, 'Cán bộ', 'x', ?)`,
			id, u.name, u.name+"@xa.gov.vn").Error; err != nil {
			t.Fatal(err)
		}
		if err := pool.Conn(ctx).Exec(`INSERT INTO role_assignments (id, user_id, role, area_code, area_edition)
			VALUES (?, ?, 'commune_worker', ?, '2026-04')`, uuid.Must(uuid.NewV7()), id, u.code).Error; err != nil {
			t.Fatal(err)
		}
	}
	s := store{db: pool}
	got, err := s.recipients(ctx, notification{Kind: "complaint_to_accept", AreaPath: "91.914.30791", Exact: true}, []string{"commune_worker"})
	if err != nil || len(got) != 1 || got[0].EmailAddress != "past-worker@xa.gov.vn" || got[0].AreaPath != "91.30793" {
		t.Fatalf("recipients: %+v, %v; want past-worker alone, at 91.30793", got, err)
	}
}
