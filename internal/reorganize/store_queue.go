package reorganize

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// queuePage is a page of the queued households the scope may see: those in
// it, or one of whose candidate successors is.
func (s store) queuePage(ctx context.Context, scope access.Scope, id, after uuid.UUID, limit int) ([]Queued, error) {
	own, args := scope.SQL("h.area_path")
	succ, succArgs := scope.SQL("a.path")
	q := `SELECT m.household_id, h.code, h.village, m.from_code, o.name,
			(SELECT string_agg(s.to_code, ' ' ORDER BY s.to_code) FROM area_successions s
			 WHERE s.from_edition = r.from_edition AND s.from_code = m.from_code AND s.to_edition = r.to_edition)
		FROM reorganizations r JOIN reorganization_moves m ON m.reorganization_id = r.id AND m.to_code IS NULL
		JOIN households h ON h.id = m.household_id
		JOIN areas o ON o.edition = r.from_edition AND o.code = m.from_code
		WHERE r.id = ? AND m.household_id > ? AND (` + own + ` OR EXISTS (SELECT 1 FROM area_successions s
			JOIN areas a ON a.edition = s.to_edition AND a.code = s.to_code
			WHERE s.from_edition = r.from_edition AND s.from_code = m.from_code AND s.to_edition = r.to_edition AND ` + succ + `))
		ORDER BY m.household_id LIMIT ?`
	args = append(append(append([]any{id, after}, args...), succArgs...), limit)
	return db.Collect(s.db.Conn(ctx).Raw(q, args...), func(r db.Scanner) (Queued, error) {
		var x Queued
		var candidates string
		err := r.Scan(&x.HouseholdID, &x.Code, &x.Village, &x.FromCode, &x.FromName, &candidates)
		x.Candidates = strings.Fields(candidates) // codes have no spaces
		return x, err
	})
}

// exists reports whether the run exists (its NotFound otherwise).
func (s store) exists(ctx context.Context, id uuid.UUID) error {
	var found bool
	if err := s.db.Conn(ctx).Raw(`SELECT EXISTS (SELECT 1 FROM reorganizations WHERE id = ?)`, id).Row().Scan(&found); err != nil {
		return err
	}
	if !found {
		return errNotFound
	}
	return nil
}

// queuedMove is a household's move, locked, with where it could go.
type queuedMove struct {
	from, path string
	decided    sql.NullString
	toEdition  string
	candidates [][2]string // code, path
}

// lockMove locks a household's move and reads its candidates.
func (s store) lockMove(ctx context.Context, id, household uuid.UUID) (queuedMove, error) {
	var m queuedMove
	var fromEdition string
	err := s.db.Conn(ctx).Raw(`SELECT m.from_code, m.to_code, r.from_edition, r.to_edition, h.area_path::text
		FROM reorganization_moves m JOIN reorganizations r ON r.id = m.reorganization_id JOIN households h ON h.id = m.household_id
		WHERE m.reorganization_id = ? AND m.household_id = ? FOR UPDATE OF m`, id, household).Row().
		Scan(&m.from, &m.decided, &fromEdition, &m.toEdition, &m.path)
	if errors.Is(err, sql.ErrNoRows) {
		return m, errQueuedNotFound
	}
	if err != nil {
		return m, err
	}
	m.candidates, err = db.Collect(s.db.Conn(ctx).Raw(`SELECT s.to_code, a.path::text FROM area_successions s
		JOIN areas a ON a.edition = s.to_edition AND a.code = s.to_code
		WHERE s.from_edition = ? AND s.from_code = ? AND s.to_edition = ? ORDER BY 1`, fromEdition, m.from, m.toEdition),
		func(r db.Scanner) ([2]string, error) {
			var c [2]string
			return c, r.Scan(&c[0], &c[1])
		})
	return m, err
}

// decide records where a queued household goes, by the actor in ctx.
func (s store) decide(ctx context.Context, id, household uuid.UUID, toCode string) error {
	return s.db.Conn(ctx).Exec(`UPDATE reorganization_moves SET to_code = ?, source = 'decision', decided_by = ?, decided_at = now()
		WHERE reorganization_id = ? AND household_id = ?`, toCode, access.ActorID(ctx), id, household).Error
}

// householdCode is a household's code.
func (s store) householdCode(ctx context.Context, household uuid.UUID) (string, error) {
	var code string
	err := s.db.Conn(ctx).Raw(`SELECT code FROM households WHERE id = ?`, household).Row().Scan(&code)
	return code, err
}
