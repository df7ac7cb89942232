package bench

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/household"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
)

type nopReads struct{}

func (nopReads) Read(context.Context, string, string, ...uuid.UUID) {}

// A small generated province: every household whole, every ID number sealed
// and consistent with its holder (the registry reads them back), the poor
// where the rates put them, an audit event for each household.
func TestGenerate(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	protect, err := household.NewIDProtector(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Generate(context.Background(), d.AppURL, protect, GenOptions{Households: 300, Seed: 1, Province: "91", Tag: "t",
		PoorRate: func(district string) float64 {
			if district == "Giang Thành" {
				return 0.5
			}
			return 0.01
		}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Households != 300 || res.Members < 3*300 || res.Reviews == 0 || res.Assessments == 0 || res.Enrollments == 0 ||
		res.Deliveries != res.Enrollments || res.AuditEvents != 300+res.Reviews+res.Enrollments || res.RowsPerSecond() <= 0 {
		t.Fatalf("result: %+v", res)
	}
	pool, err := db.Open(db.Options{URL: d.AppURL, MaxOpenConns: 2, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	svc := household.NewService(pool, protect, nopReads{})
	ctx := access.WithActor(context.Background(), access.System("test"))
	list, err := svc.List(ctx, access.Everywhere(), household.Filter{AgeMin: -1, AgeMax: -1}, uuid.Nil, 500)
	if err != nil || len(list) != 300 {
		t.Fatalf("%d households, %v", len(list), err)
	}
	ids := 0
	for _, h := range list {
		if _, ok := h.Head(); !ok {
			t.Fatalf("household %s has no head", h.Code)
		}
		for _, m := range h.Members {
			if m.IDNumber != nil {
				ids++
				if err := m.IDNumber.CheckPerson(m.Sex, m.BirthYear); err != nil {
					t.Fatalf("%s: %v", m.FullName, err)
				}
			}
		}
	}
	var poorGT, allGT int
	if err := pool.Conn(ctx).Raw(`SELECT count(*) FILTER (WHERE classification = 'poor'), count(*) FROM households WHERE area_path <@ '91.914'`).
		Row().Scan(&poorGT, &allGT); err != nil {
		t.Fatal(err)
	}
	if ids == 0 || allGT == 0 || 2*poorGT < allGT/2 {
		t.Fatalf("%d ID numbers; Giang Thành %d poor of %d", ids, poorGT, allGT)
	}
	// History: every classified household was assessed in its commune's
	// recognized review, by the standard's rule (income against the line,
	// three deprivations make the poor), its answers agreeing with the count;
	// every present member of a poor or near-poor household has an approved
	// card enrollment with the card delivered.
	var classified, wrong, unenrolled, cards int
	if err := pool.Conn(ctx).Raw(`SELECT count(*) FROM households WHERE classification <> 'none'`).Scan(&classified).Error; err != nil {
		t.Fatal(err)
	}
	if err := pool.Conn(ctx).Raw(`SELECT count(*) FROM assessments a JOIN reviews r ON r.id = a.review_id JOIN households h ON h.id = a.household_id
		JOIN poverty_standards s ON s.code = a.standard_code
		WHERE r.state <> 'recognized' OR a.result <> h.classification
			OR (SELECT count(*) FROM jsonb_array_elements(a.answers) x WHERE (x->>'deprived')::boolean) <> a.deprivations
			OR NOT CASE a.result
				WHEN 'poor' THEN a.income_per_person <= s.income_line_rural AND a.deprivations >= 3
				WHEN 'near_poor' THEN a.income_per_person <= s.income_line_rural AND a.deprivations < 3
				WHEN 'average' THEN a.income_per_person > s.income_line_rural AND a.income_per_person <= s.average_max_rural
				ELSE false END`).Scan(&wrong).Error; err != nil {
		t.Fatal(err)
	}
	if res.Assessments != classified || wrong != 0 {
		t.Fatalf("%d assessments of %d classified households, %d inconsistent", res.Assessments, classified, wrong)
	}
	if err := pool.Conn(ctx).Raw(`SELECT count(*) FROM members m JOIN households h ON h.id = m.household_id
		WHERE h.classification IN ('poor', 'near_poor') AND m.status = 'present' AND NOT EXISTS (SELECT 1 FROM enrollments e
			WHERE e.member_id = m.id AND e.state = 'approved' AND e.program_code = 'bhyt_' || h.classification)`).Scan(&unenrolled).Error; err != nil {
		t.Fatal(err)
	}
	if err := pool.Conn(ctx).Raw(`SELECT count(*) FROM deliveries d JOIN enrollments e ON e.id = d.enrollment_id
		WHERE d.kind = 'health_insurance' AND d.details->>'valid_to' = e.ends_on::text AND d.amount > 0`).Scan(&cards).Error; err != nil {
		t.Fatal(err)
	}
	if unenrolled != 0 || cards != res.Enrollments {
		t.Fatalf("%d members without their card enrollment; %d cards for %d enrollments", unenrolled, cards, res.Enrollments)
	}
}

// As the tables' owner the generator drops the secondary indexes for the
// COPY and builds every one of them again.
func TestGenerateAsOwnerRebuildsIndexes(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	protect, err := household.NewIDProtector(bytes.Repeat([]byte{4}, 32))
	if err != nil {
		t.Fatal(err)
	}
	pool, err := db.Open(db.Options{URL: d.OwnerURL, MaxOpenConns: 2, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	indexes := func() string {
		var defs string
		if err := pool.Conn(context.Background()).Raw(`SELECT string_agg(indexdef, E'\n' ORDER BY indexname) FROM pg_indexes
			WHERE tablename IN ('households', 'members')`).Scan(&defs).Error; err != nil {
			t.Fatal(err)
		}
		return defs
	}
	before := indexes()
	res, err := Generate(context.Background(), d.OwnerURL, protect, GenOptions{Households: 50, Seed: 2, Province: "91", Tag: "o"})
	if err != nil || res.Households != 50 {
		t.Fatalf("%+v %v", res, err)
	}
	if after := indexes(); after != before || !strings.Contains(after, "members_area_name") {
		t.Fatalf("indexes before:\n%s\nafter:\n%s", before, after)
	}
}
