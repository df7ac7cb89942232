package assessment

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/platform/db"
)

// undecidedReviewsOf is, for each of the households assessed in another
// review than except that is not recognized yet, one such review (what
// undecidedReviewOf answers for one household).
func (s store) undecidedReviewsOf(ctx context.Context, householdIDs []uuid.UUID, except uuid.UUID) (map[uuid.UUID]uuid.UUID, error) {
	out := map[uuid.UUID]uuid.UUID{}
	err := db.Each(s.db.Conn(ctx).Raw(`SELECT DISTINCT ON (a.household_id) a.household_id, r.id
		FROM assessments a JOIN reviews r ON r.id = a.review_id
		WHERE a.household_id = ANY (?::uuid[]) AND r.id <> ? AND r.state <> 'recognized'`, db.UUIDArray(householdIDs), except),
		func(row db.Scanner) error {
			var h, r uuid.UUID
			err := row.Scan(&h, &r)
			out[h] = r
			return err
		})
	return out, err
}

// insertAssessments records new assessments with one statement (one for
// insertAssessment, a commune's for the demo seed).
func (s store) insertAssessments(ctx context.Context, as []Assessment, actor *uuid.UUID) error {
	if len(as) == 0 {
		return nil
	}
	rows := make([]string, len(as))
	args := make([]any, 0, 15*len(as))
	for i, a := range as {
		answers, reasons, err := marshalResult(a)
		if err != nil {
			return err
		}
		rows[i] = "(?, ?, ?, ?::ltree, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
		args = append(args, a.ID, a.HouseholdID, a.ReviewID, a.AreaPath, a.ReferenceDate, a.StandardCode, a.AreaType,
			a.IncomePerPerson, answers, a.Result.Deprivations, a.Result.Classification, reasons, a.Note, actor, actor)
	}
	return db.MapError(s.db.Conn(ctx).Exec(`INSERT INTO assessments (id, household_id, review_id, area_path, reference_date,
		standard_code, area_type, income_per_person, answers, deprivations, result, reasons, note, created_by, updated_by)
		VALUES `+strings.Join(rows, ", "), args...).Error)
}
