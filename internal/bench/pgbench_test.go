package bench

import (
	"slices"
	"strings"
	"testing"
)

// A captured request becomes a script whose minted ids and fresh literals
// change every transaction, while ids read before the writes stay.
func TestScript(t *testing.T) {
	user := "'01a223de-2f83-7398-8b9f-1ce4217859bb'"
	house := "'01a223de-88ac-7a27-803a-28cf43623990'"
	stmts := []string{
		"SELECT * FROM users WHERE id = " + user,
		"BEGIN",
		"INSERT INTO households (id, code, created_by) VALUES (" + house + ", 'BR-1', " + user + ")",
		"INSERT INTO members (id, household_id) VALUES ('01a223de-88ac-7a27-803a-28cf43623991', " + house + ")",
		"WITH audit_event AS (INSERT INTO audit_events (id, entity_id) VALUES ('01a223de-88ac-7a27-803a-28cf43623992', " + house +
			")) INSERT INTO registry_changes (household_id) VALUES (" + house + ")",
		"COMMIT",
	}
	s := Script(stmts, []string{"BR-1"})
	if !strings.HasPrefix(s, "\\set n random(") || strings.Contains(s, house) || !strings.Contains(s, user) ||
		strings.Contains(s, "'BR-1'") || !strings.Contains(s, "('pgb0-' || :n::text)") || strings.Count(s, ";") != 6 || !strings.Contains(s, "AS ts \\gset") {
		t.Fatalf("script:\n%s", s)
	}
	if strings.Count(s, "'-1'), 1, 19))::uuid") != 4 || strings.Count(s, "'-2'), 1, 19))::uuid") != 1 ||
		strings.Count(s, "'-3'), 1, 19))::uuid") != 1 {
		t.Fatalf("the household id must be the same fresh id in every write, the event's a fresh one:\n%s", s)
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{"read a household by id": "read-a-household-by-id",
		"list a commune's households": "list-a-commune-s-households", "poverty report (province)": "poverty-report-province"} {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}

// The minimal baseline keeps the transaction and the job's own inserts.
func TestMinimal(t *testing.T) {
	stmts := []string{"BEGIN", "SELECT set_config('statement_timeout', '20000', true)",
		"SELECT code, path::text FROM areas WHERE code IN ('30791')",
		"INSERT INTO households (id, code) VALUES ('x', 'y')",
		"INSERT INTO members(id) VALUES ('m')",
		"WITH me AS (SELECT 1) INSERT INTO duplicate_candidates (id) SELECT 1 FROM me",
		"INSERT INTO \"audit_events\" (id) VALUES ('e')",
		"INSERT INTO registry_changes (household_id) VALUES ('x')",
		"WITH audit_event AS (INSERT INTO audit_events (id) VALUES ('f')) INSERT INTO registry_changes (household_id) VALUES ('x')",
		"WITH e AS (INSERT INTO audit_events (id) VALUES ('g')) INSERT INTO enrollments (id) VALUES ('x')",
		"UPDATE households SET version = 2", "COMMIT"}
	got := Minimal(stmts, []string{"households", "members", "audit_events", "registry_changes"})
	want := []string{"BEGIN", stmts[3], stmts[4], stmts[6], stmts[7], stmts[8], "COMMIT"}
	if !slices.Equal(got, want) {
		t.Fatalf("minimal:\n%q\nwant\n%q", got, want)
	}
}
