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
	var path string
	if err := s.db.Conn(ctx).Raw(`SELECT path::text FROM areas WHERE code = ?`, areaCode).Row().Scan(&path); err != nil {
		return sum, fmt.Errorf("seed support: area %s: %w", areaCode, err)
	}
	var existing int
	if err := s.db.Conn(ctx).Raw(`SELECT count(*) FROM enrollments WHERE area_path <@ ?::ltree AND extract(year FROM starts_on) = ?`,
		path, year).Scan(&existing).Error; err != nil || existing > 0 {
		return sum, err
	}
	start := time.Date(year, time.January, 1, 0, 0, 0, 0, time.UTC)
	today := s.today()
	clamp := func(t time.Time) time.Time { // records are never dated in the future
		if t.After(today) {
			return today
		}
		return t
	}
	campaign, err := s.AddCampaign(access.WithActor(ctx, access.System("seed-demo-province")), access.Everywhere(), "holiday_gift",
		Campaign{Name: fmt.Sprintf("Quà Tết %d (dữ liệu demo)", year), AreaCode: areaCode, StartsOn: start.AddDate(0, 0, 20),
			EndsOn: start.AddDate(0, 1, 15), PackageAmount: demoPackage})
	if err != nil {
		return sum, err
	}
	var households []household.Household
	for after := uuid.Nil; ; {
		page, err := s.registry.List(ctx, access.Within(path), household.Filter{Status: "active", AgeMin: -1, AgeMax: -1}, after, 1000)
		if err != nil {
			return sum, err
		}
		for _, h := range page {
			if h.Classification == "poor" || h.Classification == "near_poor" || h.EthnicMinority {
				households = append(households, h)
			}
		}
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].ID
	}
	programs, err := s.Programs(ctx)
	if err != nil {
		return sum, err
	}
	// Which enrollments to make is drawn in order, from the seed; then the
	// households are worked on side by side.
	r := rand.New(rand.NewPCG(seed, seed^0x2545f4914f6cdd1d))
	type plan struct {
		h      household.Household
		houses bool
		loan   bool
		card   int // days from the start of the year the cards run to
	}
	plans := make([]plan, len(households))
	for i, h := range households {
		plans[i] = plan{h: h, houses: r.IntN(10) == 0, loan: r.IntN(3) == 0, card: 364}
		if r.IntN(12) == 0 { // some cards run out soon, for the renewal list
			plans[i].card = int(today.Sub(start).Hours()/24) + 5 + r.IntN(20)
		}
	}
	var mu sync.Mutex
	add := func(d DemoSupport) {
		mu.Lock()
		defer mu.Unlock()
		sum.Enrollments += d.Enrollments
		sum.Deliveries += d.Deliveries
		sum.Packages += d.Packages
		sum.GiftAmount += d.GiftAmount
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for _, pl := range plans {
		g.Go(func() error {
			var got DemoSupport
			enroll := func(code string, member *uuid.UUID, build func(e Enrollment) []any) error {
				e, err := s.Propose(access.WithActor(gctx, access.System("seed-demo-commune")), access.Everywhere(),
					Proposal{ProgramCode: code, HouseholdID: pl.h.ID, MemberID: member, StartsOn: start, Evidence: "Dữ liệu demo"})
				if err != nil {
					return fmt.Errorf("%s for household %s: %w", code, pl.h.ID, err)
				}
				if _, err := s.Decide(access.WithActor(gctx, access.System("seed-demo-district")), access.Everywhere(), e.ID, -1,
					approval.Approve, ""); err != nil {
					return fmt.Errorf("approve %s for household %s: %w", code, pl.h.ID, err)
				}
				got.Enrollments++
				for _, rec := range build(e) {
					raw, err := json.Marshal(rec)
					if err != nil {
						return err
					}
					d, err := s.AddDelivery(access.WithActor(gctx, access.System("seed-demo-commune")), access.Everywhere(), e.ID, raw)
					if err != nil {
						return fmt.Errorf("deliver %s to household %s: %w", code, pl.h.ID, err)
					}
					got.Deliveries++
					if d.CampaignID != nil {
						got.Packages++
						got.GiftAmount += d.Amount
					}
				}
				return nil
			}
			day := func(t time.Time) string { return clamp(t).Format(time.DateOnly) }
			for _, p := range programs {
				if p.AreaPath != "" || !slices.Contains([]string{"bhyt_poor", "bhyt_near_poor", "tuition_exemption", "study_cost",
					"electricity", "housing_new", "vbsp_loan", "holiday_gift"}, p.Code) {
					continue
				}
				if p.Code == "housing_new" && !pl.houses || p.Code == "vbsp_loan" && !pl.loan {
					continue
				}
				v, err := s.judge(p, pl.h, nil, nil, start)
				if err != nil {
					return err
				}
				for _, mv := range v.Verdicts {
					if !mv.Eligible {
						continue
					}
					build := func(e Enrollment) []any {
						var records []any
						switch p.Kind {
						case KindHealthInsurance:
							records = append(records, CardRecord{CardNumber: fmt.Sprintf("HN491%010d", r2(pl.h.ID, mv.MemberID)),
								ValidFrom: day(start), ValidTo: start.AddDate(0, 0, pl.card).Format(time.DateOnly),
								IssuedAt: "BHXH huyện (demo)", Premium: 1_105_650})
						case KindTuition, KindStudyCost:
							amount := int64(150_000 * 9)
							if p.Kind == KindTuition {
								amount = 0
							}
							records = append(records, SchoolRecord{SchoolYear: fmt.Sprintf("%d-%d", year-1, year), School: "Trường công lập (demo)",
								Level: "primary", Months: 9, Amount: amount, PaidOn: day(start.AddDate(0, 4, 0))})
						case KindElectricity:
							for q := 0; q < 4 && !start.AddDate(0, 3*q+2, 0).After(today); q++ {
								records = append(records, PaymentRecord{Period: fmt.Sprintf("%d-Q%d", year, q+1),
									Date: day(start.AddDate(0, 3*q+2, 25)), Amount: 3 * 30 * 1_893})
							}
						case KindHousing:
							records = append(records,
								HousingRecord{Milestone: "approved", Date: day(start.AddDate(0, 2, 0)), Budget: 40_000_000},
								HousingRecord{Milestone: "started", Date: day(start.AddDate(0, 3, 0)), Budget: 55_000_000,
									Contributions: map[string]int64{"state": 40_000_000, "fatherland_front": 10_000_000, "household": 5_000_000}},
								HousingRecord{Milestone: "handed_over", Date: day(start.AddDate(0, 7, 0)), FinalCost: 54_500_000})
						case KindLoan:
							records = append(records, LoanRecord{ContractNumber: fmt.Sprintf("VBSP-%d-%06d", year, r2(pl.h.ID, nil)%1_000_000),
								Event: "disbursement", Date: day(start.AddDate(0, 1, 10)), Amount: 50_000_000,
								RatePct: rate(e), TermMonths: 60, OutstandingBalance: 50_000_000})
						case KindGift:
							records = append(records, PackageRecord{CampaignID: campaign.ID, Date: day(start.AddDate(0, 0, 25)),
								Package: "Gạo, dầu ăn, bánh chưng và tiền mặt", Amount: demoPackage})
						}
						return records
					}
					if err := enroll(p.Code, mv.MemberID, build); err != nil {
						return err
					}
				}
			}
			add(got)
			return nil
		})
	}
	return sum, g.Wait()
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
