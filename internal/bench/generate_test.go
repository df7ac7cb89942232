package bench

import (
	"bytes"
	"context"
	"log/slog"
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
	if res.Households != 300 || res.Members < 300 || res.AuditEvents != 300 || res.RowsPerSecond() <= 0 {
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
	pool.Conn(ctx).Raw(`SELECT count(*) FILTER (WHERE classification = 'poor'), count(*) FROM households WHERE area_path <@ '91.914'`).
		Row().Scan(&poorGT, &allGT)
	if ids == 0 || allGT == 0 || 2*poorGT < allGT/2 {
		t.Fatalf("%d ID numbers; Giang Thành %d poor of %d", ids, poorGT, allGT)
	}
}
