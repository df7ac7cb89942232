package household

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// findDuplicates records candidate duplicates of a member just written: the
// same folded name and birth date anywhere, a very similar name (trigram)
// with the same birth year in the same commune, or, for a head, another head
// whose household has the same phone number. A pair once dismissed is not
// proposed again (the unique pair keeps its resolution).
func (s *Service) findDuplicates(ctx context.Context, memberID uuid.UUID) error {
	// Two index-friendly branches: an exact match by (name_key, birth_date),
	// and within the commune (households by commune, members by household)
	// the same birth year with a close name (similarity >= 0.6).
	return s.db.Conn(ctx).Exec(`
		WITH me AS (
			SELECT m.id, m.name_key, m.birth_date, m.birth_year, m.relationship, h.id AS household_id, h.phone,
			       h.commune_code, h.area_path
			FROM members m JOIN households h ON h.id = m.household_id WHERE m.id = ?
		), found AS (
			SELECT DISTINCT ON (other) other, reason FROM (
				SELECT o.id AS other, 'same_name_and_birth_date' AS reason
				FROM me JOIN members o ON o.name_key = me.name_key AND o.birth_date = me.birth_date
				WHERE o.id <> me.id AND o.status = 'present'
				UNION ALL
				SELECT o.id, 'similar_name_same_year_and_commune'
				FROM me JOIN households oh ON oh.commune_code = me.commune_code
				JOIN members o ON o.household_id = oh.id AND o.birth_year = me.birth_year
				WHERE o.id <> me.id AND o.status = 'present' AND similarity(o.name_key, me.name_key) >= 0.6
				UNION ALL
				SELECT o.id, 'same_phone'
				FROM me JOIN households oh ON oh.phone = me.phone AND oh.id <> me.household_id
				JOIN members o ON o.household_id = oh.id AND o.relationship = 'head' AND o.status = 'present'
				WHERE me.relationship = 'head' AND me.phone IS NOT NULL
			) c ORDER BY other, reason LIMIT 20
		)
		INSERT INTO duplicate_candidates (id, member_a, member_b, reason, area_path)
		SELECT gen_random_uuid(), least(me.id, found.other), greatest(me.id, found.other), found.reason, me.area_path
		FROM me, found
		ON CONFLICT (member_a, member_b) DO NOTHING`, memberID).Error
}

// Candidate is a proposed duplicate pair.
type Candidate struct {
	ID        uuid.UUID
	Reason    string
	A, B      CandidateMember
	CreatedAt time.Time
}

// CandidateMember is one side of a pair.
type CandidateMember struct {
	MemberID, HouseholdID uuid.UUID
	FullName              string
	BirthYear             int
	HouseholdCode         string
	AreaPath              string
}

// Duplicates lists the open candidates in scope, oldest first.
func (s *Service) Duplicates(ctx context.Context, scope access.Scope, limit int) ([]Candidate, error) {
	q := `SELECT d.id, d.reason, d.created_at,
		a.id, a.household_id, a.full_name, a.birth_year, ha.code, ha.area_path::text,
		b.id, b.household_id, b.full_name, b.birth_year, hb.code, hb.area_path::text
		FROM duplicate_candidates d
		JOIN members a ON a.id = d.member_a JOIN households ha ON ha.id = a.household_id
		JOIN members b ON b.id = d.member_b JOIN households hb ON hb.id = b.household_id
		WHERE d.status = 'open'`
	args := []any{}
	if !scope.IsEverywhere() {
		if scope.Empty() {
			return nil, nil
		}
		cond, cargs := scope.SQL("d.area_path")
		q += ` AND ` + cond
		args = append(args, cargs...)
	}
	q += ` ORDER BY d.created_at, d.id LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.Conn(ctx).Raw(q, args...).Rows()
	if err != nil {
		return nil, db.MapError(err)
	}
	defer rows.Close()
	var out []Candidate
	for rows.Next() {
		var c Candidate
		if err := rows.Scan(&c.ID, &c.Reason, &c.CreatedAt,
			&c.A.MemberID, &c.A.HouseholdID, &c.A.FullName, &c.A.BirthYear, &c.A.HouseholdCode, &c.A.AreaPath,
			&c.B.MemberID, &c.B.HouseholdID, &c.B.FullName, &c.B.BirthYear, &c.B.HouseholdCode, &c.B.AreaPath); err != nil {
			return nil, err
		}
		// A side outside the caller's scope is shown without its name.
		for _, side := range []*CandidateMember{&c.A, &c.B} {
			if !scope.Contains(side.AreaPath) {
				*side = CandidateMember{MemberID: side.MemberID, AreaPath: side.AreaPath, FullName: "(outside your area)"}
			}
		}
		out = append(out, c)
	}
	return out, db.MapError(rows.Err())
}

// Resolve settles a candidate. "different" dismisses the pair for good;
// "same" keeps keep (one of the two) and retires the other record into it
// (status merged, history kept). Both records must be in the caller's scope.
func (s *Service) Resolve(ctx context.Context, scope access.Scope, id uuid.UUID, resolution string, keep uuid.UUID) error {
	if resolution != "same" && resolution != "different" {
		return apperr.Fields([]apperr.FieldError{{Field: "resolution", Code: "invalid", Message: "must be same or different"}})
	}
	return s.db.WithTx(ctx, func(ctx context.Context) error {
		var a, b uuid.UUID
		var area, status string
		err := s.db.Conn(ctx).Raw(`SELECT member_a, member_b, area_path::text, status FROM duplicate_candidates WHERE id = ? FOR UPDATE`, id).
			Row().Scan(&a, &b, &area, &status)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !scope.Contains(area)) {
			return apperr.New(apperr.NotFound, "candidate_not_found", "no such duplicate candidate")
		}
		if err != nil {
			return err
		}
		if status != "open" {
			return apperr.New(apperr.Conflict, "candidate_resolved", "this pair was already resolved (%s)", status)
		}
		var merged uuid.UUID
		if resolution == "same" {
			if keep != a && keep != b {
				return apperr.Fields([]apperr.FieldError{{Field: "keep_member_id", Code: "invalid", Message: "must be one of the pair"}})
			}
			merged = a
			if keep == a {
				merged = b
			}
			var mergedArea string
			if err := s.db.Conn(ctx).Raw(`SELECT h.area_path::text FROM members m JOIN households h ON h.id = m.household_id WHERE m.id = ?`,
				merged).Row().Scan(&mergedArea); err != nil {
				return err
			}
			if !scope.Contains(mergedArea) {
				return apperr.New(apperr.Forbidden, "merge_outside_scope", "the other record lies outside your area: its commune must resolve it")
			}
			res := s.db.Conn(ctx).Exec(`UPDATE members SET status = 'merged', merged_into = ?, status_date = ?, version = version + 1,
				updated_at = now() WHERE id = ? AND status = 'present' AND relationship <> 'head'`, keep, today(s.now()), merged)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 {
				return apperr.New(apperr.Conflict, "cannot_merge", "the record to retire is not present, or heads its household: change the head first")
			}
		}
		if err := s.db.Conn(ctx).Exec(`UPDATE duplicate_candidates SET status = ?, resolved_by = ?, resolved_at = now() WHERE id = ?`,
			resolution, actorID(ctx), id).Error; err != nil {
			return err
		}
		after := map[string]any{"resolution": resolution, "member_a": a, "member_b": b}
		if resolution == "same" {
			after["kept"], after["merged"] = keep, merged
		}
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "duplicate.resolve", EntityType: "duplicate_candidate",
			EntityID: id.String(), AreaPath: area, After: after})
	})
}
