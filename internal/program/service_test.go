package program

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/area"
	"github.com/ansinh/ansinh/internal/household"
	"github.com/ansinh/ansinh/internal/platform/apperr"
)

type fakeAreas struct {
	a   area.Area
	err error
}

func (f fakeAreas) Get(context.Context, string) (area.Area, error) { return f.a, f.err }

func (f fakeAreas) DesignationsOn(context.Context, area.Area, time.Time) ([]area.Designation, error) {
	return nil, f.err
}

// A designation reaches the households of its unit and of the units in it,
// and a hamlet's only the households of that village.
func TestDesignationsOf(t *testing.T) {
	ds := []area.Designation{
		{Kind: area.EthnicMountainousZone, Zone: "III", Edition: "2026-04", Code: "30793", Path: "91.30793"},
		{Kind: area.ExtremelyDifficultHamlet, Edition: "2026-04", Code: "30793", Path: "91.30793", Village: "Ấp Tà Teng"},
		{Kind: area.CoastalExtremelyDifficult, Edition: "2026-04", Code: "30796", Path: "91.30796"},
		{Kind: area.PoorDistrict, Edition: "2025-03", Code: "914", Path: "91.914"},
	}
	h := household.Household{CommuneEdition: "2026-04", AreaPath: "91.30793", Village: "ấp  tà teng"}
	if got := strings.Join(designationsOf(ds, h), ","); got != "ethnic_mountainous_zone_III,extremely_difficult_hamlet" {
		t.Errorf("a household of the hamlet: %s", got)
	}
	h.Village = "Ấp 2"
	if got := strings.Join(designationsOf(ds, h), ","); got != "ethnic_mountainous_zone_III" {
		t.Errorf("another village: %s", got)
	}
	old := household.Household{CommuneEdition: "2025-03", AreaPath: "91.914.30791"}
	if got := strings.Join(designationsOf(ds, old), ","); got != "poor_district" {
		t.Errorf("a commune of a poor district: %s", got)
	}
}

// Only an unknown area is the field's error; any other failure of the lookup
// is returned as it is, and an area outside the scope is forbidden.
func TestAreaLookup(t *testing.T) {
	ctx := context.Background()
	s := &Service{areas: fakeAreas{err: apperr.New(apperr.NotFound, "area_not_found", "no area")}}
	_, err := s.areaInScope(ctx, access.Everywhere(), "99999", "area_code")
	wantCode(t, err, apperr.Invalid, "validation_failed")
	if e, _ := apperr.As(err); len(e.Fields) != 1 || e.Fields[0].Field != "area_code" {
		t.Fatalf("fields: %+v", e.Fields)
	}
	down := errors.New("connection refused")
	s.areas = fakeAreas{err: down}
	if _, err := s.areaOf(ctx, "91", "area"); !errors.Is(err, down) {
		t.Fatalf("a failing lookup became %v", err)
	}
	s.areas = fakeAreas{a: area.Area{Code: "79", Path: "79"}}
	_, err = s.areaInScope(ctx, access.Within("91"), "79", "area_code")
	wantCode(t, err, apperr.Forbidden, "area_outside_scope")
	if a, err := s.areaInScope(ctx, access.Within("79"), "79", "area_code"); err != nil || a.Path != "79" {
		t.Fatalf("in scope: %+v %v", a, err)
	}
}
