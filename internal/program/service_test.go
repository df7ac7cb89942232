package program

import (
	"context"
	"errors"
	"testing"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/area"
	"github.com/ansinh/ansinh/internal/platform/apperr"
)

type fakeAreas struct {
	a   area.Area
	err error
}

func (f fakeAreas) Get(context.Context, string) (area.Area, error) { return f.a, f.err }

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
