package program

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/approval"
	"github.com/ansinh/ansinh/internal/household"
)

// DemoSupport is what SeedDemo did.
type DemoSupport struct {
	Enrollments int
	Deliveries  int
	Packages    int
	GiftAmount  int64
}

// demoPackage is the value of one Tết gift package in the demo campaign
// (the seed article: 39,000 packages worth 27.4 billion VND, about 700,000 each).
const demoPackage = 700_000

// SeedDemo links the demo area's classified households to their support for
// a year: health insurance cards for everyone in poor and near-poor
// households, tuition and study-cost support for poor pupils, electricity
// support, some houses and preferential loans, and a Tết gift campaign; each
// proposed by the commune, approved by the district and delivered, through
// the same rules as the API. It does nothing when the area already has
// enrollments starting that year.
func (s *Service) SeedDemo(ctx context.Context, areaCode string, year int, seed uint64) (DemoSupport, error) {
	var sum DemoSupport
	a, err := s.areas.Get(ctx, areaCode)
	if err != nil {
		return sum, fmt.Errorf("seed support: area %s: %w", areaCode, err)
	}
	var existing int
	if err := s.db.Conn(ctx).Raw(`SELECT count(*) FROM enrollments WHERE area_path <@ ?::ltree AND extract(year FROM starts_on) = ?`,
		a.Path, year).Scan(&existing).Error; err != nil || existing > 0 {
		return sum, err
	}
	d := demoRun{year: year, start: time.Date(year, time.January, 1, 0, 0, 0, 0, time.UTC), today: s.today()}
	d.campaign, err = s.AddCampaign(access.WithActor(ctx, access.System("seed-demo-province")), access.Everywhere(), "holiday_gift",
		Campaign{Name: fmt.Sprintf("Quà Tết %d (dữ liệu demo)", year), AreaCode: areaCode, StartsOn: d.start.AddDate(0, 0, 20),
			EndsOn: d.start.AddDate(0, 1, 15), PackageAmount: demoPackage})
	if err != nil {
		return sum, err
	}
	households, err := s.demoHouseholds(ctx, a.Path)
	if err != nil {
		return sum, err
	}
	if d.programs, err = s.Programs(ctx); err != nil {
		return sum, err
	}
	plans := d.draw(households, seed)
	// The households are worked on side by side, each household's
	// proposals, approvals and deliveries in one transaction.
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for _, pl := range plans {
		g.Go(func() error {
			var got DemoSupport
			err := s.db.WithTx(gctx, func(ctx context.Context) error {
				var err error
				got, err = s.seedHousehold(ctx, d, pl)
				return err
			})
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			sum.Enrollments += got.Enrollments
			sum.Deliveries += got.Deliveries
			sum.Packages += got.Packages
			sum.GiftAmount += got.GiftAmount
			return nil
		})
	}
	return sum, g.Wait()
}

// demoRun is what every household's support in one SeedDemo shares.
type demoRun struct {
	year         int
	start, today time.Time
	campaign     Campaign
	programs     []Program
}

// day is a record's date, never in the future.
func (d demoRun) day(t time.Time) string {
	if t.After(d.today) {
		t = d.today
	}
	return t.Format(time.DateOnly)
}

// demoPlan is what one household receives beyond what its class gives.
type demoPlan struct {
	h      household.Household
	houses bool
	loan   bool
	card   int // days from the start of the year the cards run to
}

// draw decides, in order from the seed, which households get houses and
// loans and whose cards run out soon (for the renewal list).
func (d demoRun) draw(households []household.Household, seed uint64) []demoPlan {
	r := rand.New(rand.NewPCG(seed, seed^0x2545f4914f6cdd1d))
	plans := make([]demoPlan, len(households))
	for i, h := range households {
		plans[i] = demoPlan{h: h, houses: r.IntN(10) == 0, loan: r.IntN(3) == 0, card: 364}
		if r.IntN(12) == 0 {
			plans[i].card = int(d.today.Sub(d.start).Hours()/24) + 5 + r.IntN(20)
		}
	}
	return plans
}

// demoHouseholds are the area's active households that are poor, near-poor
// or of an ethnic minority.
func (s *Service) demoHouseholds(ctx context.Context, path string) ([]household.Household, error) {
	var households []household.Household
	for after := uuid.Nil; ; {
		page, err := s.registry.List(ctx, access.Within(path), household.Filter{Status: "active", AgeMin: -1, AgeMax: -1}, after, 1000)
		if err != nil {
			return nil, err
		}
		for _, h := range page {
			if h.Classification == "poor" || h.Classification == "near_poor" || h.EthnicMinority {
				households = append(households, h)
			}
		}
		if len(page) < 1000 {
			return households, nil
		}
		after = page[len(page)-1].ID
	}
}

// demoPrograms are the national programs the demo enrolls households in.
var demoPrograms = []string{"bhyt_poor", "bhyt_near_poor", "tuition_exemption", "study_cost", "electricity", "housing_new",
	"vbsp_loan", "holiday_gift"}

// seedHousehold enrolls one household (or its members) in every demo program
// it is eligible for, and delivers the support.
func (s *Service) seedHousehold(ctx context.Context, d demoRun, pl demoPlan) (DemoSupport, error) {
	var got DemoSupport
	for _, p := range d.programs {
		if p.AreaPath != "" || !slices.Contains(demoPrograms, p.Code) {
			continue
		}
		if p.Code == "housing_new" && !pl.houses || p.Code == "vbsp_loan" && !pl.loan {
			continue
		}
		v, err := s.judge(p, pl.h, situation{}, d.start)
		if err != nil {
			return got, err
		}
		for _, mv := range v.Verdicts {
			if !mv.Eligible {
				continue
			}
			if err := s.seedEnrollment(ctx, d, pl, p, mv.MemberID, &got); err != nil {
				return got, err
			}
		}
	}
	return got, nil
}

// seedEnrollment proposes, approves and delivers one enrollment.
func (s *Service) seedEnrollment(ctx context.Context, d demoRun, pl demoPlan, p Program, member *uuid.UUID, got *DemoSupport) error {
	e, err := s.Propose(access.WithActor(ctx, access.System("seed-demo-commune")), access.Everywhere(),
		Proposal{ProgramCode: p.Code, HouseholdID: pl.h.ID, MemberID: member, StartsOn: d.start, Evidence: "Dữ liệu demo"})
	if err != nil {
		return fmt.Errorf("%s for household %s: %w", p.Code, pl.h.ID, err)
	}
	if _, err := s.Decide(access.WithActor(ctx, access.System("seed-demo-district")), access.Everywhere(), e.ID, -1,
		approval.Approve, ""); err != nil {
		return fmt.Errorf("approve %s for household %s: %w", p.Code, pl.h.ID, err)
	}
	got.Enrollments++
	for _, rec := range d.records(pl, p, member, e) {
		raw, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		x, err := s.AddDelivery(access.WithActor(ctx, access.System("seed-demo-commune")), access.Everywhere(), e.ID, raw)
		if err != nil {
			return fmt.Errorf("deliver %s to household %s: %w", p.Code, pl.h.ID, err)
		}
		got.Deliveries++
		if x.CampaignID != nil {
			got.Packages++
			got.GiftAmount += x.Amount
		}
	}
	return nil
}

// records are the delivery records of an enrollment of the program's kind.
func (d demoRun) records(pl demoPlan, p Program, member *uuid.UUID, e Enrollment) []any {
	start, year := d.start, d.year
	switch p.Kind {
	case KindHealthInsurance:
		return []any{CardRecord{CardNumber: fmt.Sprintf("HN491%010d", r2(pl.h.ID, member)),
			ValidFrom: d.day(start), ValidTo: start.AddDate(0, 0, pl.card).Format(time.DateOnly),
			IssuedAt: "BHXH huyện (demo)", Premium: 1_105_650}}
	case KindTuition, KindStudyCost:
		amount := int64(150_000 * 9)
		if p.Kind == KindTuition {
			amount = 0
		}
		return []any{SchoolRecord{SchoolYear: fmt.Sprintf("%d-%d", year-1, year), School: "Trường công lập (demo)",
			Level: "primary", Months: 9, Amount: amount, PaidOn: d.day(start.AddDate(0, 4, 0))}}
	case KindElectricity:
		var records []any
		for q := 0; q < 4 && !start.AddDate(0, 3*q+2, 0).After(d.today); q++ {
			records = append(records, PaymentRecord{Period: fmt.Sprintf("%d-Q%d", year, q+1),
				Date: d.day(start.AddDate(0, 3*q+2, 25)), Amount: 3 * 30 * 1_893})
		}
		return records
	case KindHousing:
		return []any{
			HousingRecord{Milestone: "approved", Date: d.day(start.AddDate(0, 2, 0)), Budget: 40_000_000},
			HousingRecord{Milestone: "started", Date: d.day(start.AddDate(0, 3, 0)), Budget: 55_000_000,
				Contributions: map[string]int64{"state": 40_000_000, "fatherland_front": 10_000_000, "household": 5_000_000}},
			HousingRecord{Milestone: "handed_over", Date: d.day(start.AddDate(0, 7, 0)), FinalCost: 54_500_000}}
	case KindLoan:
		return []any{LoanRecord{ContractNumber: fmt.Sprintf("VBSP-%d-%06d", year, r2(pl.h.ID, nil)%1_000_000),
			Event: "disbursement", Date: d.day(start.AddDate(0, 1, 10)), Amount: 50_000_000,
			RatePct: rate(e), TermMonths: 60, OutstandingBalance: 50_000_000}}
	case KindGift:
		return []any{PackageRecord{CampaignID: d.campaign.ID, Date: d.day(start.AddDate(0, 0, 25)),
			Package: "Gạo, dầu ăn, bánh chưng và tiền mặt", Amount: demoPackage}}
	}
	return nil
}

// r2 is a stable number drawn from ids, for demo card and contract numbers.
func r2(h uuid.UUID, m *uuid.UUID) int64 {
	id := h
	if m != nil {
		id = *m
	}
	var n int64
	for _, b := range id[8:] {
		n = n*31 + int64(b)
	}
	if n < 0 {
		n = -n
	}
	return n % 10_000_000_000
}

// rate is the loan rate the enrollment's benefit computed from the rule.
func rate(e Enrollment) float64 {
	f, _ := e.Benefit["rate_pct"].(float64)
	return f
}
