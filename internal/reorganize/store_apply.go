package reorganize

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/area"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// existing is the reorganization to an edition, if one was started.
func (s store) existing(ctx context.Context, to string) (uuid.UUID, bool, error) {
	var id uuid.UUID
	err := s.db.Conn(ctx).Raw(`SELECT id FROM reorganizations WHERE to_edition = ?`, to).Row().Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return uuid.Nil, false, nil
	}
	return id, err == nil, err
}

// replaceSuccessions loads a corrected mapping between two editions.
func (s store) replaceSuccessions(ctx context.Context, from, to string, rows []area.Succession) error {
	conn := s.db.Conn(ctx)
	if err := conn.Exec(`DELETE FROM area_successions WHERE from_edition = ? AND to_edition = ?`, from, to).Error; err != nil {
		return err
	}
	var olds, news []string
	var divided []bool
	for _, r := range rows {
		olds, news, divided = append(olds, r.Old()), append(news, r.NewCommune), append(divided, r.Divided)
	}
	for old, ns := range provinceSuccessions(rows) {
		for _, n := range ns {
			olds, news, divided = append(olds, old), append(news, n), append(divided, len(ns) > 1)
		}
	}
	flags := make([]string, len(divided))
	for i, d := range divided {
		flags[i] = fmt.Sprint(d)
	}
	return conn.Exec(`INSERT INTO area_successions (from_edition, from_code, to_edition, to_code, divided)
		SELECT ?, u.o, ?, u.n, u.d FROM unnest(?::text[], ?::text[], ?::boolean[]) AS u (o, n, d)`,
		from, to, db.TextArray(olds), db.TextArray(news), db.TextArray(flags)).Error
}

// recordMoves writes every old-edition household's destination: the only
// successor of an undivided commune, or what the village table said (or
// nothing: the queue) for a divided one.
func (s store) recordMoves(ctx context.Context, id uuid.UUID, p prepared) error {
	conn := s.db.Conn(ctx)
	if err := conn.Exec(`INSERT INTO reorganization_moves (reorganization_id, household_id, from_code, to_code, source, old_household_code)
		SELECT ?, h.id, h.commune_code, s.to_code, 'mapping', h.code FROM households h
		JOIN area_successions s ON s.from_edition = h.commune_edition AND s.from_code = h.commune_code AND s.to_edition = ? AND NOT s.divided
		WHERE h.commune_edition = ?`, id, p.plan.To, p.plan.From).Error; err != nil {
		return err
	}
	for chunk := range slices.Chunk(p.moves, 5000) {
		ids := make([]uuid.UUID, len(chunk))
		tos, sources := make([]string, len(chunk)), make([]string, len(chunk))
		for i, m := range chunk {
			ids[i], tos[i], sources[i] = m.household, m.to, m.source
		}
		if err := conn.Exec(`INSERT INTO reorganization_moves (reorganization_id, household_id, from_code, to_code, source, old_household_code)
			SELECT ?, h.id, h.commune_code, NULLIF(u.t, ''), NULLIF(u.s, ''), h.code
			FROM unnest(?::uuid[], ?::text[], ?::text[]) AS u (id, t, s) JOIN households h ON h.id = u.id`,
			id, db.UUIDArray(ids), db.TextArray(tos), db.TextArray(sources)).Error; err != nil {
			return err
		}
	}
	return s.countHouseholds(ctx, id)
}

// countHouseholds records how many households the run gives a destination.
func (s store) countHouseholds(ctx context.Context, id uuid.UUID) error {
	return s.db.Conn(ctx).Exec(`UPDATE reorganizations SET households = (SELECT count(*) FROM reorganization_moves WHERE reorganization_id = ?)
		WHERE id = ?`, id, id).Error
}

// rebound is, for each kind of binding but assignments, its table and how
// a ref names its row: re-binding sets the unit and its path.
var rebound = map[string]struct{ table, where string }{
	KindBudget:   {"program_budgets", "area_edition = @from AND program_code || '/' || area_code || '/' || year = @ref"},
	KindTarget:   {"report_targets", "id = CAST(@ref AS uuid)"},
	KindStandard: {"poverty_standards", "code = @ref"},
	KindProgram:  {"programs", "code = @ref"},
	KindCampaign: {"program_campaigns", "id = CAST(@ref AS uuid)"},
}

// applyBindings re-binds (or revokes) what is bound to old units, as the
// plan decided.
func (s store) applyBindings(ctx context.Context, p prepared) error {
	conn := s.db.Conn(ctx)
	for _, b := range p.bindings {
		args := map[string]any{"to": p.plan.To, "from": p.plan.From, "code": b.ToCode, "ref": b.Ref, "actor": access.ActorID(ctx)}
		var q string
		switch r, ok := rebound[b.Kind]; {
		case b.Kind == KindAssignment && b.Action == Revoke:
			q = `UPDATE role_assignments SET revoked_at = now(), revoked_by = @actor WHERE id = CAST(@ref AS uuid)`
		case b.Kind == KindAssignment:
			q = `UPDATE role_assignments SET area_edition = @to, area_code = @code WHERE id = CAST(@ref AS uuid)`
		case ok:
			q = `UPDATE ` + r.table + ` SET area_edition = @to, area_code = @code,
				area_path = (SELECT path FROM areas WHERE edition = @to AND code = @code) WHERE ` + r.where
		default:
			return fmt.Errorf("reorganize: binding of kind %q", b.Kind)
		}
		res := conn.Exec(q, args)
		if res.Error != nil {
			return fmt.Errorf("reorganize: %s %s: %w", b.Kind, b.Ref, res.Error)
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("reorganize: %s %s changed meanwhile (%d rows): run again", b.Kind, b.Ref, res.RowsAffected)
		}
	}
	return nil
}

// recordLate gives a destination to households registered under the old
// edition by requests that read the edition in use before it switched.
func (s store) recordLate(ctx context.Context, id uuid.UUID) (int64, error) {
	var late int64
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		res := s.db.Conn(ctx).Exec(`INSERT INTO reorganization_moves (reorganization_id, household_id, from_code, to_code, source, old_household_code)
		SELECT r.id, h.id, h.commune_code, CASE WHEN NOT s.divided THEN s.to_code END, CASE WHEN NOT s.divided THEN 'mapping' END, h.code
		FROM reorganizations r JOIN households h ON h.commune_edition = r.from_edition
		JOIN LATERAL (SELECT bool_or(x.divided) AS divided, min(x.to_code) AS to_code FROM area_successions x
			WHERE x.from_edition = r.from_edition AND x.from_code = h.commune_code AND x.to_edition = r.to_edition) s ON true
		WHERE r.id = ? ON CONFLICT DO NOTHING`, id)
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		late = res.RowsAffected
		// In the same transaction: the count never lags the moves.
		return s.countHouseholds(ctx, id)
	})
	return late, err
}

// writeMoves writes a batch's moves.
func (s store) writeMoves(ctx context.Context, id uuid.UUID, edition string, batch []moved) error {
	conn := s.db.Conn(ctx)
	ids := make([]uuid.UUID, len(batch))
	tos, codes, oldPaths, newPaths := make([]string, len(batch)), make([]string, len(batch)), make([]string, len(batch)), make([]string, len(batch))
	for i, m := range batch {
		ids[i], tos[i], oldPaths[i], newPaths[i] = m.ID, m.To, m.oldPath, m.newPath
		codes[i] = m.Code
		if m.NewCode != "" {
			codes[i] = m.NewCode
		}
	}
	// Every statement names the batch as u, with these arguments (CAST, not
	// ::, after a named parameter: GORM would take the cast for its name).
	u := `unnest(CAST(@ids AS uuid[]), CAST(@communes AS text[]), CAST(@codes AS text[]), CAST(@old AS text[]), CAST(@new AS text[]))
		AS u (id, commune, code, old_path, new_path)`
	args := map[string]any{"ids": db.UUIDArray(ids), "communes": db.TextArray(tos), "codes": db.TextArray(codes),
		"old": db.TextArray(oldPaths), "new": db.TextArray(newPaths), "edition": edition, "run": id}
	steps := []struct{ what, sql string }{
		{"households", `UPDATE households h SET commune_edition = @edition, commune_code = u.commune, code = u.code,
			area_path = u.new_path::ltree, version = h.version + 1, updated_at = now() FROM ` + u + ` WHERE h.id = u.id`},
		{"enrollments", `UPDATE enrollments e SET area_path = u.new_path::ltree FROM ` + u + `
			WHERE e.household_id = u.id AND e.state IN ('proposed', 'returned', 'approved')`},
		{"approvals", `UPDATE approval_requests r SET area_path = e.area_path FROM enrollments e JOIN ` + u + ` ON e.household_id = u.id
			WHERE r.subject_type = 'enrollment' AND r.subject_id = e.id AND r.state IN ('pending', 'returned')`},
		{"duplicates", `UPDATE duplicate_candidates d SET area_path = u.new_path::ltree FROM members m JOIN ` + u + ` ON m.household_id = u.id
			WHERE d.status = 'open' AND (d.member_a = m.id OR d.member_b = m.id) AND d.area_path = u.old_path::ltree`},
		// Open complaints go with the household to the units that now handle
		// them: the new commune, or for an appeal the unit above it.
		{"complaints", `UPDATE complaints c SET area_path = u.new_path::ltree, handler_edition = @edition,
			handler_code = CASE WHEN c.instance = 1 THEN a.code ELSE p.code END,
			handler_path = CASE WHEN c.instance = 1 THEN a.path ELSE p.path END
			FROM ` + u + ` JOIN areas a ON a.edition = @edition AND a.code = u.commune
			JOIN areas p ON p.edition = a.edition AND p.code = a.parent_code
			WHERE c.household_id = u.id AND c.state IN ('received', 'accepted')`},
		// The sync feed: the old scope's clients learn the household left
		// them (it is no longer theirs: a tombstone), the new scope's get it.
		{"sync feed", `INSERT INTO registry_changes (household_id, area_path, op)
			SELECT u.id, p.path::ltree, 'upsert' FROM ` + u + ` CROSS JOIN LATERAL (VALUES (u.old_path), (u.new_path)) AS p (path)`},
		{"moves", `UPDATE reorganization_moves m SET moved_at = now(), new_household_code = u.code FROM ` + u + `
			WHERE m.reorganization_id = @run AND m.household_id = u.id`},
		{"progress", `INSERT INTO reorganization_batches (reorganization_id, moved) SELECT @run, cardinality(CAST(@ids AS uuid[]))`},
	}
	for _, st := range steps {
		if err := conn.Exec(st.sql, args).Error; err != nil {
			return fmt.Errorf("reorganize: move %s: %w", st.what, err)
		}
	}
	return nil
}

// status reads a reorganization.
func (s store) status(ctx context.Context, id uuid.UUID) (Status, error) {
	var st Status
	var plan []byte
	err := s.db.Conn(ctx).Raw(`SELECT r.id, r.from_edition, r.to_edition, r.state, r.started_by, r.started_at, r.finished_at, r.plan,
			r.households, (SELECT coalesce(sum(b.moved), 0) FROM reorganization_batches b WHERE b.reorganization_id = r.id),
			(SELECT count(*) FROM reorganization_moves m WHERE m.reorganization_id = r.id AND m.to_code IS NULL)
		FROM reorganizations r WHERE r.id = ?`, id).Row().
		Scan(&st.ID, &st.From, &st.To, &st.State, &st.StartedBy, &st.StartedAt, &st.FinishedAt, &plan,
			&st.Households, &st.Moved, &st.Queued)
	st.Pending = st.Households - st.Moved - st.Queued
	if errors.Is(err, sql.ErrNoRows) {
		return st, errNotFound
	}
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(plan, &st.Plan)
}

// reopen puts back under way an applied run that a household of its old
// edition outlived (registered by a request that read the edition in use
// before the switch and committed after the run finished).
func (s store) reopen(ctx context.Context) error {
	return s.db.Conn(ctx).Exec(`UPDATE reorganizations r SET state = 'applying', finished_at = NULL
		WHERE r.state = 'applied' AND EXISTS (SELECT 1 FROM households h WHERE h.commune_edition = r.from_edition)`).Error
}

// unfinished are the runs started and not applied, oldest first.
func (s store) unfinished(ctx context.Context) ([]uuid.UUID, error) {
	return db.Collect(s.db.Conn(ctx).Raw(`SELECT id FROM reorganizations WHERE state = 'applying' ORDER BY started_at`),
		func(r db.Scanner) (uuid.UUID, error) {
			var id uuid.UUID
			return id, r.Scan(&id)
		})
}

// lockStarts makes the transaction the only one starting a run.
func (s store) lockStarts(ctx context.Context) error {
	return s.db.Conn(ctx).Exec(`SELECT pg_advisory_xact_lock(hashtext('reorganize'))`).Error
}

// insertRun records a started run with its plan.
func (s store) insertRun(ctx context.Context, id uuid.UUID, p Plan, startedBy string) error {
	plan, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return s.db.Conn(ctx).Exec(`INSERT INTO reorganizations (id, from_edition, to_edition, state, mapping_sha256, plan, started_by)
		VALUES (?, ?, ?, 'applying', ?, ?, ?)`, id, p.From, p.To, p.MappingSHA256, string(plan), startedBy).Error
}

// switchInUse makes edition the one plain codes are read in. Two
// statements: the partial unique index on in_use is checked row by row, so
// one UPDATE could see two editions in use for a moment.
func (s store) switchInUse(ctx context.Context, edition string) error {
	if err := s.db.Conn(ctx).Exec(`UPDATE area_editions SET in_use = false WHERE in_use`).Error; err != nil {
		return err
	}
	res := s.db.Conn(ctx).Exec(`UPDATE area_editions SET in_use = true WHERE edition = ?`, edition)
	if res.Error == nil && res.RowsAffected != 1 {
		return fmt.Errorf("reorganize: no edition %s to put in use", edition)
	}
	return res.Error
}

// markApplied marks the run applied when no household of the old edition
// is left: whether it did.
func (s store) markApplied(ctx context.Context, id uuid.UUID) (bool, error) {
	res := s.db.Conn(ctx).Exec(`UPDATE reorganizations r SET state = 'applied', finished_at = now()
		WHERE r.id = ? AND r.state = 'applying'
		AND NOT EXISTS (SELECT 1 FROM households h WHERE h.commune_edition = r.from_edition)`, id)
	return res.RowsAffected > 0, res.Error
}

// pickPending locks up to size placed households not yet moved (only
// these, when ids is given), those of the commune whose code the new one
// kept first; rows another runner holds are skipped.
func (s store) pickPending(ctx context.Context, id uuid.UUID, ids []uuid.UUID, size int) ([]uuid.UUID, error) {
	q := `SELECT m.household_id FROM reorganization_moves m
		WHERE m.reorganization_id = ? AND m.moved_at IS NULL AND m.to_code IS NOT NULL`
	args := []any{id}
	if ids != nil {
		q += ` AND m.household_id = ANY(?::uuid[])`
		args = append(args, db.UUIDArray(ids))
	}
	q += ` ORDER BY (m.from_code = m.to_code) DESC, m.household_id LIMIT ? FOR UPDATE OF m SKIP LOCKED`
	args = append(args, size)
	return db.Collect(s.db.Conn(ctx).Raw(q, args...), func(r db.Scanner) (uuid.UUID, error) {
		var h uuid.UUID
		return h, r.Scan(&h)
	})
}

// lockBatch locks the picked households and reads where each goes.
func (s store) lockBatch(ctx context.Context, id uuid.UUID, to string, picked []uuid.UUID) ([]moved, error) {
	return db.Collect(s.db.Conn(ctx).Raw(`SELECT h.id, h.commune_code, m.to_code, h.code, h.area_path::text, a.path::text
		FROM households h JOIN reorganization_moves m ON m.reorganization_id = ? AND m.household_id = h.id
		JOIN areas a ON a.edition = ? AND a.code = m.to_code
		WHERE h.id = ANY(?::uuid[]) ORDER BY (m.from_code = m.to_code) DESC, h.id FOR UPDATE OF h`, id, to, db.UUIDArray(picked)),
		func(r db.Scanner) (moved, error) {
			var m moved
			err := r.Scan(&m.ID, &m.From, &m.To, &m.Code, &m.oldPath, &m.newPath)
			m.province, _, _ = strings.Cut(m.newPath, ".")
			return m, err
		})
}

// takenCodes are which of these (commune, code) pairs households of the
// edition hold, as "commune/code".
func (s store) takenCodes(ctx context.Context, edition string, communes, codes []string) (map[string]bool, error) {
	taken := map[string]bool{}
	err := db.Each(s.db.Conn(ctx).Raw(`SELECT h.commune_code || '/' || h.code FROM households h
		JOIN unnest(?::text[], ?::text[]) AS u (commune, code) ON h.commune_edition = ? AND h.commune_code = u.commune AND h.code = u.code`,
		db.TextArray(communes), db.TextArray(codes), edition), func(r db.Scanner) error {
		var k string
		err := r.Scan(&k)
		taken[k] = true
		return err
	})
	return taken, err
}

// codeExists reports whether a household of the commune holds the code.
func (s store) codeExists(ctx context.Context, edition, commune, code string) (bool, error) {
	var exists bool
	err := s.db.Conn(ctx).Raw(`SELECT EXISTS (SELECT 1 FROM households WHERE commune_edition = ? AND commune_code = ? AND code = ?)`,
		edition, commune, code).Row().Scan(&exists)
	return exists, err
}
