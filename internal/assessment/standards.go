package assessment

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// Standards lists every poverty standard, national and local.
func (s *Service) Standards(ctx context.Context) ([]Standard, error) {
	out, err := s.store.standards(ctx)
	return out, db.MapError(err)
}

// Standard reads one standard by code.
func (s *Service) Standard(ctx context.Context, code string) (Standard, error) {
	all, err := s.Standards(ctx)
	if err != nil {
		return Standard{}, err
	}
	for _, st := range all {
		if st.Code == code {
			return st, nil
		}
	}
	return Standard{}, errStandardNotFound
}

var standardCode = regexp.MustCompile(`^[A-Za-z0-9._-]{2,40}$`)

// checkLocalStandard tidies a local standard's text and reports every
// problem of its own fields.
func checkLocalStandard(st *Standard) error {
	var fe apperr.FieldList
	st.Name, st.LegalSource, st.Notes = strings.TrimSpace(st.Name), strings.TrimSpace(st.LegalSource), strings.TrimSpace(st.Notes)
	if !standardCode.MatchString(st.Code) {
		fe.Add("code", "invalid", "2 to 40 letters, digits, dots, dashes or underscores")
	}
	if st.Name == "" || len(st.Name) > 200 {
		fe.Add("name", "required", "is required (at most 200 characters)")
	}
	if st.LegalSource == "" || len(st.LegalSource) > 500 {
		fe.Add("legal_source", "required", "name the decision that sets it (at most 500 characters)")
	}
	if st.ValidFrom.IsZero() || st.ValidTo.IsZero() || st.ValidTo.Before(st.ValidFrom) {
		fe.Add("valid_to", "invalid", "the period needs valid_from and valid_to, in that order")
	}
	if st.PoorMinDeprivations == 0 {
		st.PoorMinDeprivations = 3
	}
	for field, v := range map[string]int64{"income_line_rural": st.LineRural, "income_line_urban": st.LineUrban,
		"average_max_rural": st.AverageMaxRural, "average_max_urban": st.AverageMaxUrban} {
		if v <= 0 || v > 1_000_000_000 {
			fe.Add(field, "invalid", "must be a whole amount of VND between 1 and 1,000,000,000")
		}
	}
	if st.AverageMaxRural <= st.LineRural || st.AverageMaxUrban <= st.LineUrban {
		fe.Add("average_max_rural", "invalid", "the average band must end above the income line")
	}
	return fe.Err()
}

// basedOn checks a new local standard against the standards there are: its
// code is new, it overlaps no other of its province, it is not below any
// national standard of its period; it answers the national standard in
// force when it starts, whose indicators it takes.
func basedOn(st Standard, all []Standard) (Standard, error) {
	var national *Standard
	for i, o := range all {
		overlaps := !o.ValidTo.Before(st.ValidFrom) && !o.ValidFrom.After(st.ValidTo)
		if o.Code == st.Code {
			return Standard{}, apperr.New(apperr.Conflict, "standard_exists", "a standard with code %s exists", st.Code)
		}
		if overlaps && o.AreaPath == st.AreaPath {
			return Standard{}, apperr.New(apperr.Conflict, "standard_overlaps", "standard %s already covers part of this period here", o.Code)
		}
		if overlaps && o.AreaPath == "" {
			if st.LineRural < o.LineRural || st.LineUrban < o.LineUrban {
				return Standard{}, apperr.Fields([]apperr.FieldError{{Field: "income_line_rural", Code: "below_national",
					Message: fmt.Sprintf("a local standard may not be below the national %s (%d rural, %d urban)", o.Code, o.LineRural, o.LineUrban)}})
			}
			if o.InForce(st.ValidFrom) && !o.HistoryOnly {
				national = &all[i]
			}
		}
	}
	if national == nil {
		return Standard{}, apperr.Fields([]apperr.FieldError{{Field: "valid_from", Code: "no_national_standard",
			Message: "no national standard is in force on this date to take the indicators from"}})
	}
	return *national, nil
}

// AddLocalStandard records a province's own, higher standard for a period.
// Its indicators are the national standard's in force when it starts; its
// lines may not be below the national lines of any day of its period.
func (s *Service) AddLocalStandard(ctx context.Context, scope access.Scope, st Standard) (Standard, error) {
	if err := checkLocalStandard(&st); err != nil {
		return Standard{}, err
	}
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		province, err := s.areaOf(ctx, st.AreaCode, "province", "area_code", "must be the code of a province")
		if err != nil {
			return err
		}
		if !scope.Contains(province.Path) {
			return apperr.New(apperr.Forbidden, "area_outside_scope", "you can set a local standard only for your own province")
		}
		st.AreaEdition, st.AreaPath = province.Edition, province.Path
		if err := s.store.lockStandards(ctx); err != nil {
			return err
		}
		all, err := s.store.standards(ctx)
		if err != nil {
			return err
		}
		national, err := basedOn(st, all)
		if err != nil {
			return err
		}
		st.Indicators = national.Indicators
		if err := s.store.insertStandard(ctx, st, access.ActorID(ctx)); err != nil {
			return err
		}
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "poverty_standard.create", EntityType: "poverty_standard",
			EntityID: st.Code, AreaPath: st.AreaPath, After: map[string]any{"code": st.Code, "name": st.Name, "legal_source": st.LegalSource,
				"valid_from": st.ValidFrom.Format(time.DateOnly), "valid_to": st.ValidTo.Format(time.DateOnly),
				"income_line_rural": st.LineRural, "income_line_urban": st.LineUrban,
				"average_max_rural": st.AverageMaxRural, "average_max_urban": st.AverageMaxUrban, "based_on": national.Code}})
	})
	if err != nil {
		return Standard{}, db.MapError(err)
	}
	return s.Standard(ctx, st.Code)
}
