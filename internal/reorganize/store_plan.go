package reorganize

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/area"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// store holds every SQL statement of the package: the plan's reads here,
// the run's writes in store_apply.go, the queue's in store_queue.go.
type store struct{ db *db.DB }

// inUse is the edition records are filed under.
func (s store) inUse(ctx context.Context) (string, error) {
	var e string
	err := s.db.Conn(ctx).Raw(`SELECT area_edition_in_use()`).Row().Scan(&e)
	return e, err
}

func (s store) units(ctx context.Context, edition string) ([]area.Unit, error) {
	return db.Collect(s.db.Conn(ctx).Raw(`SELECT level, code, coalesce(parent_code, ''), name, full_name, name_en, unit_type
		FROM areas WHERE edition = ? ORDER BY path`, edition), func(r db.Scanner) (area.Unit, error) {
		var u area.Unit
		err := r.Scan(&u.Level, &u.Code, &u.ParentCode, &u.Name, &u.FullName, &u.NameEN, &u.UnitType)
		return u, err
	})
}

// loadedMapping is the loaded successions between two editions as mapping
// rows (provinces, which are derived, left out).
func (s store) loadedMapping(ctx context.Context, from, to string) ([]area.Succession, error) {
	return db.Collect(s.db.Conn(ctx).Raw(`SELECT CASE o.level WHEN 'commune' THEN o.code ELSE '' END,
			CASE o.level WHEN 'commune' THEN o.parent_code ELSE o.code END, subpath(o.path, 0, 1)::text, n.code, n.parent_code, s.divided
		FROM area_successions s JOIN areas o ON o.edition = s.from_edition AND o.code = s.from_code
		JOIN areas n ON n.edition = s.to_edition AND n.code = s.to_code
		WHERE s.from_edition = ? AND s.to_edition = ? AND o.level <> 'province'`, from, to), func(r db.Scanner) (area.Succession, error) {
		var x area.Succession
		err := r.Scan(&x.OldCommune, &x.OldDistrict, &x.OldProvince, &x.NewCommune, &x.NewProvince, &x.Divided)
		return x, err
	})
}

// communeCounts are the old edition's communes with records, and what each
// holds.
func (s store) communeCounts(ctx context.Context, from string) ([]CommunePlan, error) {
	return db.Collect(s.db.Conn(ctx).Raw(`
		WITH h AS (SELECT id, commune_code FROM households WHERE commune_edition = @from),
		hc AS (SELECT commune_code, count(*) AS n FROM h GROUP BY 1),
		mc AS (SELECT h.commune_code, count(*) AS n FROM h JOIN members m ON m.household_id = h.id GROUP BY 1),
		ac AS (SELECT h.commune_code, count(*) AS n FROM h JOIN attachments a ON a.status = 'active' AND (
				(a.subject_type = 'household' AND a.subject_id = h.id) OR
				(a.subject_type = 'member' AND a.subject_id IN (SELECT m.id FROM members m WHERE m.household_id = h.id)))
			GROUP BY 1),
		ec AS (SELECT h.commune_code, count(*) AS n FROM h JOIN enrollments e ON e.household_id = h.id
			AND e.state IN ('proposed', 'returned', 'approved') GROUP BY 1),
		rc AS (SELECT commune_code, count(*) AS n FROM reviews WHERE commune_edition = @from AND state <> 'recognized' GROUP BY 1),
		c AS (SELECT commune_code FROM hc UNION SELECT commune_code FROM rc)
		SELECT c.commune_code, coalesce(hc.n, 0), coalesce(mc.n, 0), coalesce(ac.n, 0), coalesce(ec.n, 0), coalesce(rc.n, 0)
		FROM c LEFT JOIN hc USING (commune_code) LEFT JOIN mc USING (commune_code) LEFT JOIN ac USING (commune_code)
		LEFT JOIN ec USING (commune_code) LEFT JOIN rc USING (commune_code) ORDER BY 1`, map[string]any{"from": from}),
		func(r db.Scanner) (CommunePlan, error) {
			var c CommunePlan
			err := r.Scan(&c.Code, &c.Households, &c.Members, &c.Attachments, &c.Enrollments, &c.OpenReviews)
			return c, err
		})
}

// bindings are what is bound to units of the old edition and in force on
// day: live role assignments, budgets and targets of day's year or later,
// local standards and campaigns not yet over, local programs.
func (s store) bindings(ctx context.Context, from string, day time.Time) ([]Binding, error) {
	year := day.Year()
	q := `
		SELECT 'assignment', r.id::text, r.role || ' ' || u.username || CASE r.status WHEN 'pending' THEN ' (pending)' ELSE '' END,
			r.area_code, a.level, r.user_id::text || '/' || r.role || '/@'
		FROM role_assignments r JOIN users u ON u.id = r.user_id JOIN areas a ON a.edition = r.area_edition AND a.code = r.area_code
		WHERE r.area_edition = @from AND r.revoked_at IS NULL
		UNION ALL
		SELECT 'budget', b.program_code || '/' || b.area_code || '/' || b.year, 'budget of ' || b.program_code || ' for ' || b.year,
			b.area_code, a.level, b.program_code || '/@/' || b.year
		FROM program_budgets b JOIN areas a ON a.edition = b.area_edition AND a.code = b.area_code
		WHERE b.area_edition = @from AND b.year >= @year
		UNION ALL
		SELECT 'target', t.id::text, 'target ' || t.metric || ' for ' || t.year, t.area_code, a.level, '@/' || t.metric || '/' || t.year
		FROM report_targets t JOIN areas a ON a.edition = t.area_edition AND a.code = t.area_code
		WHERE t.area_edition = @from AND t.year >= @year
		UNION ALL
		SELECT 'standard', p.code, p.name, p.area_code, a.level, '@'
		FROM poverty_standards p JOIN areas a ON a.edition = p.area_edition AND a.code = p.area_code
		WHERE p.area_edition = @from AND p.valid_to >= @day
		UNION ALL
		SELECT 'program', p.code, p.name_vi, p.area_code, a.level, 'program/' || p.code
		FROM programs p JOIN areas a ON a.edition = p.area_edition AND a.code = p.area_code
		WHERE p.area_edition = @from
		UNION ALL
		SELECT 'campaign', c.id::text, c.name, c.area_code, a.level, 'campaign/' || c.id
		FROM program_campaigns c JOIN areas a ON a.edition = c.area_edition AND a.code = c.area_code
		WHERE c.area_edition = @from AND c.ends_on >= @day
		ORDER BY 1, 4, 2`
	return db.Collect(s.db.Conn(ctx).Raw(q, map[string]any{"from": from, "year": year, "day": day.Format(time.DateOnly)}),
		func(r db.Scanner) (Binding, error) {
			var b Binding
			err := r.Scan(&b.Kind, &b.Ref, &b.Label, &b.FromCode, &b.FromLevel, &b.key)
			b.key = b.Kind + ":" + b.key
			return b, err
		})
}

// dividedHousehold is a household of a divided commune, with its village.
type dividedHousehold struct {
	id               uuid.UUID
	commune, village string
}

// dividedHouseholds are the households of these old communes.
func (s store) dividedHouseholds(ctx context.Context, from string, codes []string) ([]dividedHousehold, error) {
	return db.Collect(s.db.Conn(ctx).Raw(`SELECT id, commune_code, village FROM households
		WHERE commune_edition = ? AND commune_code IN ? ORDER BY id`, from, codes), func(r db.Scanner) (dividedHousehold, error) {
		var h dividedHousehold
		return h, r.Scan(&h.id, &h.commune, &h.village)
	})
}
