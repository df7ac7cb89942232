package audit

import (
	"testing"

	"github.com/google/uuid"
)

// A statement of the access log is bounded in entries and in subjects, and
// always takes at least one entry (or a flush would never end).
func TestStatementEntriesBoundsAStatement(t *testing.T) {
	entries := func(n, subjects int) []accessEntry {
		out := make([]accessEntry, n)
		for i := range out {
			out[i].subjectIDs = make([]uuid.UUID, subjects)
		}
		return out
	}
	for _, c := range []struct {
		name  string
		batch []accessEntry
		want  int
	}{
		{"few small entries", entries(3, 2), 3},
		{"many small entries", entries(maxBatch+100, 1), maxBatch},
		{"entries of a list page's members", entries(100, 200), maxStatementSubjects / 200},
		{"one entry past the bound", entries(3, maxStatementSubjects+1), 1},
		{"one entry", entries(1, 1), 1},
	} {
		if got := statementEntries(c.batch); got != c.want {
			t.Errorf("%s: %d entries in a statement, want %d", c.name, got, c.want)
		}
	}
}
