package household

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// candidatesOf is the SQL of the duplicate candidates of the present members
// @ids: the same folded name and birth date anywhere; a close name (trigram
// similarity >= 0.6) born the same year in the same commune, blocked by
// (commune, birth year) through members_duplicate_block so that each
// comparison is with the few people of that block; or, for a head, another
// head whose household has the same phone number. Each pair is proposed by
// the member scanned, in that member's area (whose workers made the change).
const candidatesOf = `
	WITH me AS (
		SELECT m.id, m.name_key, m.birth_date, m.birth_year, m.relationship, m.area_path, h.id AS household_id, h.phone
		FROM members m JOIN households h ON h.id = m.household_id
		WHERE m.id = ANY (CAST(@ids AS uuid[])) AND m.status = 'present'
	)
	SELECT least(me.id, found.other) AS member_a, greatest(me.id, found.other) AS member_b, found.reason, me.area_path
	FROM me CROSS JOIN LATERAL (
		SELECT DISTINCT ON (other) other, reason FROM (
			SELECT o.id AS other, 'same_name_and_birth_date' AS reason
			FROM members o WHERE o.name_key = me.name_key AND o.birth_date = me.birth_date
			AND o.id <> me.id AND o.status = 'present'
			UNION ALL
			SELECT o.id, 'similar_name_same_year_and_commune'
			FROM members o WHERE o.area_path = me.area_path AND o.birth_year = me.birth_year
			AND o.id <> me.id AND o.status = 'present' AND similarity(o.name_key, me.name_key) >= 0.6
			UNION ALL
			SELECT o.id, 'same_phone'
			FROM households oh JOIN members o ON o.household_id = oh.id AND o.relationship = 'head' AND o.status = 'present'
			WHERE oh.phone = me.phone AND oh.id <> me.household_id AND me.relationship = 'head' AND me.phone IS NOT NULL
		) c ORDER BY other, reason LIMIT 20
	) found`

// claimScans takes up to n queued members off the scan queue (migration
// 00037), oldest first, skipping those another scanner holds; the rows come
// back if the caller's transaction does not commit.
func (s store) claimScans(ctx context.Context, n int) ([]uuid.UUID, error) {
	return db.Collect(s.db.Conn(ctx).Raw(`DELETE FROM duplicate_scans WHERE id IN
		(SELECT id FROM duplicate_scans ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED) RETURNING member_id`, n),
		func(row db.Scanner) (uuid.UUID, error) {
			var id uuid.UUID
			return id, row.Scan(&id)
		})
}

// recordCandidates records the candidates of members (a pair known already,
// open or settled, keeps its row and resolution); it returns how many are new.
func (s store) recordCandidates(ctx context.Context, members []uuid.UUID) (int64, error) {
	res := s.db.Conn(ctx).Exec(`INSERT INTO duplicate_candidates (id, member_a, member_b, reason, area_path)
		SELECT uuid_v7(), c.member_a, c.member_b, c.reason, c.area_path FROM (`+candidatesOf+`) c
		ON CONFLICT (member_a, member_b) DO NOTHING`, map[string]any{"ids": db.UUIDArray(members)})
	return res.RowsAffected, res.Error
}

// CandidatePair is a pair the scan proposes, for measuring it (the bench).
type CandidatePair struct {
	A, B   uuid.UUID
	Reason string
}

// candidatePairs are the pairs the scan would propose for members, without
// recording them.
func (s store) candidatePairs(ctx context.Context, members []uuid.UUID) ([]CandidatePair, error) {
	return db.Collect(s.db.Conn(ctx).Raw(`SELECT member_a, member_b, reason FROM (`+candidatesOf+`) c`,
		map[string]any{"ids": db.UUIDArray(members)}), func(row db.Scanner) (CandidatePair, error) {
		var p CandidatePair
		return p, row.Scan(&p.A, &p.B, &p.Reason)
	})
}

// candidates lists the open candidate pairs in scope, oldest first.
func (s store) candidates(ctx context.Context, scope access.Scope, limit int) ([]Candidate, error) {
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
	return db.Collect(s.db.Conn(ctx).Raw(q, args...), func(row db.Scanner) (Candidate, error) {
		var c Candidate
		err := row.Scan(&c.ID, &c.Reason, &c.CreatedAt,
			&c.A.MemberID, &c.A.HouseholdID, &c.A.FullName, &c.A.BirthYear, &c.A.HouseholdCode, &c.A.AreaPath,
			&c.B.MemberID, &c.B.HouseholdID, &c.B.FullName, &c.B.BirthYear, &c.B.HouseholdCode, &c.B.AreaPath)
		return c, err
	})
}

// candidatePair is a candidate as Resolve needs it.
type candidatePair struct {
	a, b         uuid.UUID
	area, status string
}

// lockCandidate reads a candidate for update (found false when there is none).
func (s store) lockCandidate(ctx context.Context, id uuid.UUID) (c candidatePair, found bool, err error) {
	err = s.db.Conn(ctx).Raw(`SELECT member_a, member_b, area_path::text, status FROM duplicate_candidates WHERE id = ? FOR UPDATE`, id).
		Row().Scan(&c.a, &c.b, &c.area, &c.status)
	if errors.Is(err, sql.ErrNoRows) {
		return c, false, nil
	}
	return c, err == nil, err
}

// memberArea is the area path of a member's household.
func (s store) memberArea(ctx context.Context, memberID uuid.UUID) (string, error) {
	var area string
	err := s.db.Conn(ctx).Raw(`SELECT h.area_path::text FROM members m JOIN households h ON h.id = m.household_id WHERE m.id = ?`,
		memberID).Row().Scan(&area)
	return area, err
}

// retire merges a present member who is not a head into keep, as of date;
// false when there was no such member.
func (s store) retire(ctx context.Context, merged, keep uuid.UUID, date time.Time) (bool, error) {
	res := s.db.Conn(ctx).Exec(`UPDATE members SET status = 'merged', merged_into = ?, status_date = ?, version = version + 1,
		updated_at = now() WHERE id = ? AND status = 'present' AND relationship <> 'head'`, keep, date, merged)
	return res.RowsAffected > 0, res.Error
}

// settle records a candidate's resolution.
func (s store) settle(ctx context.Context, id uuid.UUID, resolution string) error {
	return s.db.Conn(ctx).Exec(`UPDATE duplicate_candidates SET status = ?, resolved_by = ?, resolved_at = now() WHERE id = ?`,
		resolution, access.ActorID(ctx), id).Error
}

// scanBacklog is the scan queue's depth (the span of its ids: exact but for
// rows a scanner took out of order, and two index probes however long the
// queue) and how long its oldest row has waited.
func (s store) scanBacklog(ctx context.Context) (depth int64, oldest float64, err error) {
	err = s.db.Conn(ctx).Raw(`SELECT coalesce((SELECT max(id) FROM duplicate_scans) - (SELECT min(id) FROM duplicate_scans) + 1, 0),
		coalesce(extract(epoch FROM now() - (SELECT queued_at FROM duplicate_scans ORDER BY id LIMIT 1)), 0)::float8`).Row().Scan(&depth, &oldest)
	return depth, oldest, err
}
