package assessment

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// DemoRates gives the share of poor households to aim for in an area (by its
// ltree path), for demo data.
type DemoRates func(areaPath string) float64

// SeedDemoReviews runs the periodic review of year through to recognition in
// every commune of the area that has households and no review of that year
// yet, with synthetic incomes and answers drawn to approach the given poverty
// rates. The commune submits as one system actor and the district
// recognizes as another. It returns how many reviews it recognized.
func (s *Service) SeedDemoReviews(ctx context.Context, areaPath string, year int, rates DemoRates, seed uint64) (int, error) {
	type hh struct {
		id       uuid.UUID
		commune  string
		path     string
		areaType string
	}
	var communes [][]hh
	err := db.Each(s.db.Conn(ctx).Raw(`SELECT h.id, h.commune_code, h.area_path::text, h.area_type FROM households h
		WHERE h.status = 'active' AND h.area_path <@ ?::ltree AND h.commune_edition = area_edition_in_use()
		AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.commune_edition = h.commune_edition AND r.commune_code = h.commune_code AND r.kind = 'periodic' AND r.year = ?)
		ORDER BY h.commune_code, h.id`, areaPath, year), func(row db.Scanner) error {
		var h hh
		if err := row.Scan(&h.id, &h.commune, &h.path, &h.areaType); err != nil {
			return err
		}
		if n := len(communes); n == 0 || communes[n-1][0].commune != h.commune {
			communes = append(communes, nil)
		}
		communes[len(communes)-1] = append(communes[len(communes)-1], h)
		return nil
	})
	if err != nil {
		return 0, err
	}
	standards, err := s.store.standards(ctx)
	if err != nil {
		return 0, err
	}
	// Draw everything first, in order, so the data depends only on the seed;
	// then run the communes' reviews side by side (each is its own transaction).
	r := rand.New(rand.NewPCG(seed, seed^0x5bd1e995))
	type job struct {
		commune string
		inputs  []AssessmentInput
		ids     []uuid.UUID
		votes   []Vote
	}
	jobs := make([]job, 0, len(communes))
	for _, households := range communes {
		std, ok := Choose(standards, households[0].path, time.Date(year, time.September, 1, 0, 0, 0, 0, time.UTC))
		if !ok {
			return 0, fmt.Errorf("seed reviews: no standard in force in %d", year)
		}
		j := job{commune: households[0].commune}
		for _, h := range households {
			j.inputs = append(j.inputs, demoAnswers(r, std, h.areaType, rates(h.path)))
			j.ids = append(j.ids, h.id)
			j.votes = append(j.votes, Vote{HouseholdID: h.id, Agree: 25 + r.IntN(10)})
		}
		jobs = append(jobs, j)
	}
	everywhere := access.Everywhere()
	meeting := time.Date(year, time.November, 20, 0, 0, 0, 0, time.UTC)
	decided := time.Date(year, time.December, 10, 0, 0, 0, 0, time.UTC)
	g, gctx := errgroup.WithContext(access.WithActor(ctx, access.System("seed-demo-commune")))
	g.SetLimit(4)
	for _, j := range jobs {
		g.Go(func() error {
			err := s.db.WithTx(gctx, func(ctx context.Context) error {
				review, err := s.CreateReview(ctx, everywhere, ReviewInput{Kind: Periodic, CommuneCode: j.commune, Year: year})
				if err != nil {
					return err
				}
				if err := s.seedAssessments(ctx, everywhere, review.ID, j.ids, j.inputs); err != nil {
					return err
				}
				if _, err := s.RecordMeeting(ctx, everywhere, review.ID, -1, Meeting{Date: meeting, Chair: "Trưởng ấp (demo)",
					Attendees: 40, Votes: j.votes}); err != nil {
					return err
				}
				if _, err := s.Post(ctx, everywhere, review.ID, -1, meeting.AddDate(0, 0, 1), meeting.AddDate(0, 0, 8)); err != nil {
					return err
				}
				if _, err := s.Submit(ctx, everywhere, review.ID, -1, "Kết quả rà soát (dữ liệu demo)"); err != nil {
					return err
				}
				// The district decides in its own name, in the same transaction.
				_, err = s.Recognize(access.WithActor(ctx, access.System("seed-demo-district")), everywhere, review.ID, -1,
					DecisionInput{Number: j.commune + "/QĐ-UBND", Date: decided, Signer: "Chủ tịch UBND (demo)"})
				return err
			})
			if err != nil {
				return fmt.Errorf("seed review of commune %s: %w", j.commune, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return 0, err
	}
	return len(jobs), nil
}

// demoAnswers draws an income and answers for a household: poor with about
// the given rate, near-poor a little more often, average living standard for
// about one household in eight. Every indicator is answered explicitly; a
// worker's answer that contradicts the registry's prefill carries a note.
func demoAnswers(r *rand.Rand, std Standard, areaType string, poorRate float64) AssessmentInput {
	line, top := std.Line(areaType), std.AverageMax(areaType)
	var income int64
	deprivations := 0
	switch x := r.Float64(); {
	case x < poorRate:
		income, deprivations = line-int64(r.IntN(600))*1000, 3+r.IntN(4)
	case x < poorRate*2.2:
		income, deprivations = line-int64(r.IntN(400))*1000, r.IntN(3)
	case x < poorRate*2.2+0.12:
		income, deprivations = line+1000+int64(r.IntN(int((top-line)/1000)))*1000, r.IntN(3)
	default:
		income, deprivations = top+1000+int64(r.IntN(4000))*1000, r.IntN(2)
	}
	deprived := map[string]bool{}
	for _, i := range r.Perm(len(std.Indicators))[:deprivations] {
		deprived[std.Indicators[i].Code] = true
	}
	in := AssessmentInput{IncomePerPerson: &income}
	for _, ind := range std.Indicators {
		d := deprived[ind.Code]
		a := AnswerInput{Indicator: ind.Code, Deprived: &d}
		if ind.Prefill != "" {
			a.Note = "Đối chiếu tại hộ (dữ liệu demo)"
		}
		in.Answers = append(in.Answers, a)
	}
	return in
}

// seedAssessments records the assessments of households in a review, in
// order, as CreateAssessment records each (the same checks, rows, sync feed
// entries, access-log entries and assessment.create events), with a few
// statements for all of them instead of a dozen for each.
func (s *Service) seedAssessments(ctx context.Context, scope access.Scope, reviewID uuid.UUID, ids []uuid.UUID, inputs []AssessmentInput) error {
	households, err := s.registry.GetEach(ctx, scope, ids)
	if err != nil {
		return err
	}
	r, err := s.store.review(ctx, scope, reviewID, true)
	if err != nil {
		return err
	}
	if err := r.TakeAssessments(); err != nil {
		return err
	}
	others, err := s.store.undecidedReviewsOf(ctx, ids, r.ID)
	if err != nil {
		return err
	}
	standards, err := s.store.standards(ctx)
	if err != nil {
		return err
	}
	as := make([]Assessment, len(households))
	for i, h := range households {
		switch {
		case h.Status != "active":
			return apperr.New(apperr.Conflict, "household_archived", "the household is archived")
		case r.CommuneEdition != h.CommuneEdition || r.CommuneCode != h.CommuneCode || r.Kind == Regular && *r.HouseholdID != h.ID:
			return fmt.Errorf("household %s: review %s is of another commune or household", h.ID, r.ID)
		case others[h.ID] != uuid.Nil:
			return apperr.New(apperr.Conflict, "household_in_open_review",
				"the household is being assessed in review %s, which is not decided yet", others[h.ID])
		}
		as[i] = Assessment{ID: uuid.Must(uuid.NewV7()), HouseholdID: h.ID, ReviewID: r.ID, AreaPath: h.AreaPath, ReferenceDate: r.ReferenceDate}
		if err := s.evaluateWith(standards, &as[i], h, inputs[i]); err != nil {
			return fmt.Errorf("household %s: %w", h.ID, err)
		}
	}
	if err := s.store.insertAssessments(ctx, as, access.ActorID(ctx)); err != nil {
		return err
	}
	if r.State == StateOpen {
		if err := s.store.setReviewState(ctx, r.ID, StateSurveying); err != nil {
			return err
		}
	}
	created := make([]uuid.UUID, len(as))
	for i, a := range as {
		created[i] = a.ID
	}
	saved, err := s.store.assessmentsByID(ctx, access.Everywhere(), created)
	if err != nil {
		return err
	}
	for _, a := range saved {
		if err := s.registry.NoteChange(ctx, "assessment", a.ID, a.HouseholdID, a.AreaPath); err != nil {
			return err
		}
		if err := audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "assessment.create", EntityType: "assessment",
			EntityID: a.ID.String(), AreaPath: a.AreaPath, After: assessmentState(a)}); err != nil {
			return err
		}
	}
	return nil
}
