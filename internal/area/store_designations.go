package area

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/platform/db"
)

// lockDesignations makes the transaction the only one loading designations
// (overlaps are decided against what is loaded).
func (s *Store) lockDesignations(ctx context.Context) error {
	return s.db.Conn(ctx).Exec(`SELECT pg_advisory_xact_lock(hashtext('area_designations'))`).Error
}

// unitsOf are the units the designations name, by (edition, code).
func (s *Store) unitsOf(ctx context.Context, ds []Designation) (map[[2]string]Area, error) {
	editions, codes := make([]string, len(ds)), make([]string, len(ds))
	for i, d := range ds {
		editions[i], codes[i] = d.Edition, d.Code
	}
	out := map[[2]string]Area{}
	err := db.Each(s.db.Conn(ctx).Raw(`SELECT `+columns+` FROM areas a
		JOIN unnest(?::text[], ?::text[]) AS u (e, c) ON a.edition = u.e AND a.code = u.c`,
		db.TextArray(editions), db.TextArray(codes)), func(r db.Scanner) error {
		a, err := scan(r)
		out[[2]string{a.Edition, a.Code}] = a
		return err
	})
	return out, err
}

const designationColumns = `id, kind, coalesce(zone, ''), area_edition, area_code, area_path::text, coalesce(village, ''), valid_from, valid_to,
	decision_number, decision_date, issuer, illustrative`

func scanDesignation(r db.Scanner) (Designation, error) {
	var d Designation
	err := r.Scan(&d.ID, &d.Kind, &d.Zone, &d.Edition, &d.Code, &d.Path, &d.Village, &d.ValidFrom, &d.ValidTo,
		&d.DecisionNumber, &d.DecisionDate, &d.Issuer, &d.Illustrative)
	return d, err
}

// designationsLike are the loaded designations of the kinds and units the
// list names.
func (s *Store) designationsLike(ctx context.Context, ds []Designation) ([]Designation, error) {
	kinds, editions, codes := make([]string, len(ds)), make([]string, len(ds)), make([]string, len(ds))
	for i, d := range ds {
		kinds[i], editions[i], codes[i] = d.Kind, d.Edition, d.Code
	}
	return db.Collect(s.db.Conn(ctx).Raw(`SELECT DISTINCT `+designationColumns+` FROM area_designations d
		JOIN unnest(?::text[], ?::text[], ?::text[]) AS u (k, e, c)
		ON d.kind = u.k AND d.area_edition = u.e AND d.area_code = u.c`,
		db.TextArray(kinds), db.TextArray(editions), db.TextArray(codes)), scanDesignation)
}

// upsertDesignations writes checked designations; one of the same kind, unit
// (or hamlet) and start is replaced.
func (s *Store) upsertDesignations(ctx context.Context, ds []Designation) (int, error) {
	n := 0
	for _, d := range ds {
		var village *string
		if d.Village != "" {
			village = &d.Village
		}
		var zone *string
		if d.Zone != "" {
			zone = &d.Zone
		}
		res := s.db.Conn(ctx).Exec(`INSERT INTO area_designations (id, kind, zone, area_edition, area_code, area_path, village, valid_from, valid_to,
				decision_number, decision_date, issuer, illustrative) VALUES (?, ?, ?, ?, ?, ?::ltree, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (kind, area_edition, area_code, coalesce(village, ''), valid_from) DO UPDATE SET zone = excluded.zone,
				valid_to = excluded.valid_to, decision_number = excluded.decision_number, decision_date = excluded.decision_date,
				issuer = excluded.issuer, illustrative = excluded.illustrative`,
			uuid.Must(uuid.NewV7()), d.Kind, zone, d.Edition, d.Code, d.Path, village, d.ValidFrom, d.ValidTo,
			d.DecisionNumber, d.DecisionDate, d.Issuer, d.Illustrative)
		if res.Error != nil {
			return n, res.Error
		}
		n += int(res.RowsAffected)
	}
	return n, nil
}

// DesignationsOn are the designations in force on day, of the area's
// edition, in the area (its own and those of the units and hamlets in it)
// and of the units that contain it.
func (s *Store) DesignationsOn(ctx context.Context, a Area, day time.Time) ([]Designation, error) {
	return db.Collect(s.db.Conn(ctx).Raw(`SELECT `+designationColumns+` FROM area_designations
		WHERE area_edition = ? AND (area_path <@ ?::ltree OR area_path @> ?::ltree)
		AND valid_from <= ? AND (valid_to IS NULL OR valid_to >= ?)
		ORDER BY area_path, kind, village`, a.Edition, a.Path, a.Path, day, day), scanDesignation)
}
