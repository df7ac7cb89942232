package program

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/area"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// The catalogue: programs, their campaigns and their budgets.

// Programs lists the catalog.
func (s *Service) Programs(ctx context.Context) ([]Program, error) {
	out, err := s.store.programs(ctx)
	return out, db.MapError(err)
}

// Program reads one program.
func (s *Service) Program(ctx context.Context, code string) (Program, error) {
	p, err := s.store.program(ctx, code, false)
	return p, db.MapError(err)
}

// CreateProgram adds a local program of an area in the caller's scope.
func (s *Service) CreateProgram(ctx context.Context, scope access.Scope, p Program) (Program, error) {
	if err := p.validateNew(); err != nil {
		return Program{}, err
	}
	if _, err := compileProgram(p); err != nil {
		return Program{}, err
	}
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		a, err := s.areaInScope(ctx, scope, p.AreaCode, "area_code")
		if err != nil {
			return err
		}
		p.AreaEdition, p.AreaPath = a.Edition, a.Path
		if err := s.store.insertProgram(ctx, p); err != nil {
			if apperr.Is(db.MapError(err), apperr.Conflict) {
				return apperr.New(apperr.Conflict, "program_exists", "a program with code %s exists", p.Code)
			}
			return err
		}
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "program.create", EntityType: "program", EntityID: p.Code,
			AreaPath: p.AreaPath, After: programState(p)})
	})
	if err != nil {
		return Program{}, db.MapError(err)
	}
	return s.Program(ctx, p.Code)
}

func programState(p Program) map[string]any {
	return map[string]any{"code": p.Code, "name_vi": p.NameVI, "name_en": p.NameEN, "legal_basis": p.LegalBasis, "kind": p.Kind,
		"level": p.Level, "area": p.AreaCode, "rule": p.Rule, "params": p.Params, "amount": p.Amount, "funding": p.Funding,
		"status": p.Status, "version": p.Version}
}

// UpdateProgram edits a local program in scope at version; rules are
// recompiled and refused when bad.
func (s *Service) UpdateProgram(ctx context.Context, scope access.Scope, code string, version int, patch ProgramPatch) (Program, error) {
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		before, after, err := s.store.updateProgram(ctx, code, version, func(p Program) error {
			if p.AreaPath == "" {
				return errNationalProgram
			}
			if !scope.Contains(p.AreaPath) {
				return errProgramNotFound
			}
			return nil
		}, func(p *Program) error {
			if err := p.Apply(patch); err != nil {
				return err
			}
			_, err := compileProgram(*p)
			return err
		})
		if err != nil {
			return err
		}
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "program.update", EntityType: "program", EntityID: code,
			AreaPath: after.AreaPath, Before: programState(before), After: programState(after)})
	})
	if err != nil {
		return Program{}, db.MapError(err)
	}
	return s.Program(ctx, code)
}

func campaignState(c Campaign) map[string]any {
	return map[string]any{"program": c.ProgramCode, "name": c.Name, "area": c.AreaCode, "starts_on": c.StartsOn.Format(time.DateOnly),
		"ends_on": c.EndsOn.Format(time.DateOnly), "package_amount": c.PackageAmount, "version": c.Version}
}

// UpdateCampaign edits a campaign in scope at version: its name, its end,
// the value of its package (packages already handed over keep theirs).
func (s *Service) UpdateCampaign(ctx context.Context, scope access.Scope, code string, id uuid.UUID, version int, p CampaignPatch) (Campaign, error) {
	var out Campaign
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		before, after, err := s.store.updateCampaign(ctx, code, id, version, func(c Campaign) error {
			if !scope.Contains(c.AreaPath) {
				return errCampaignNotFound
			}
			return nil
		}, func(c *Campaign) error { return c.Apply(p) })
		if err != nil {
			return err
		}
		out = after
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "campaign.update", EntityType: "campaign", EntityID: id.String(),
			AreaPath: after.AreaPath, Before: campaignState(before), After: campaignState(after)})
	})
	return out, db.MapError(err)
}

// AddCampaign opens a gift or relief campaign of a program in an area.
func (s *Service) AddCampaign(ctx context.Context, scope access.Scope, code string, c Campaign) (Campaign, error) {
	if err := c.validate(); err != nil {
		return Campaign{}, err
	}
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		p, err := s.store.program(ctx, code, false)
		if err != nil {
			return err
		}
		if p.AreaPath != "" && !scope.Contains(p.AreaPath) {
			return errProgramNotFound // another province's own program
		}
		if p.Kind != KindGift && p.Kind != KindRelief {
			return errNotCampaignProgram
		}
		a, err := s.areaInScope(ctx, scope, c.AreaCode, "area_code")
		if err != nil {
			return err
		}
		c.AreaEdition, c.AreaPath = a.Edition, a.Path
		c.ID, c.ProgramCode, c.Version = uuid.Must(uuid.NewV7()), code, 1
		if err := s.store.insertCampaign(ctx, c); err != nil {
			return err
		}
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "campaign.create", EntityType: "campaign", EntityID: c.ID.String(),
			AreaPath: c.AreaPath, After: campaignState(c)})
	})
	return c, db.MapError(err)
}

// Campaigns lists a program's campaigns.
func (s *Service) Campaigns(ctx context.Context, code string) ([]Campaign, error) {
	if _, err := s.Program(ctx, code); err != nil {
		return nil, err
	}
	out, err := s.store.campaigns(ctx, code)
	return out, db.MapError(err)
}

// SetBudget sets what an area in scope may commit to a program in a year. A
// budget below what is already committed is refused. Changing a budget
// needs the version read (version < 0: none sent); setting a new one does not.
func (s *Service) SetBudget(ctx context.Context, scope access.Scope, code, areaCode string, year int, version int, amount int64) (Budget, error) {
	if err := checkBudget(year, amount); err != nil {
		return Budget{}, err
	}
	var out Budget
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		p, err := s.store.program(ctx, code, false)
		if err != nil {
			return err
		}
		if p.AreaPath != "" && !scope.Contains(p.AreaPath) {
			return errProgramNotFound // another province's own program
		}
		a, err := s.areaInScope(ctx, scope, areaCode, "area_code")
		if err != nil {
			return err
		}
		path := a.Path
		before, current, err := s.store.lockBudget(ctx, code, a, year)
		if err != nil {
			return err
		}
		if current != nil && version < 0 {
			return errBudgetNeedsVersion
		}
		if current != nil && *current != version {
			return stale("budget", version, *current, "")
		}
		if err := s.store.putBudget(ctx, code, a, year, amount); err != nil {
			return err
		}
		if out, err = s.budgetOf(ctx, code, a, year); err != nil {
			return err
		}
		if out.Committed > amount {
			return apperr.New(apperr.Conflict, "budget_below_committed",
				"approved enrollments already commit %d VND of this budget: it cannot be set to %d", out.Committed, amount)
		}
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "budget.set", EntityType: "budget",
			EntityID: fmt.Sprintf("%s/%s/%d", code, areaCode, year), AreaPath: path,
			Before: map[string]any{"amount": before}, After: map[string]any{"amount": amount}})
	})
	return out, db.MapError(err)
}

// budgetOf reads one budget with what is committed of it.
func (s *Service) budgetOf(ctx context.Context, code string, a area.Area, year int) (Budget, error) {
	var out Budget
	list, err := s.store.budgets(ctx, access.Within(a.Path), code, year)
	for _, b := range list {
		if b.AreaEdition == a.Edition && b.AreaCode == a.Code {
			out = b
		}
	}
	return out, err
}

// Budgets lists a program's budgets in scope for a year (0: all).
func (s *Service) Budgets(ctx context.Context, scope access.Scope, code string, year int) ([]Budget, error) {
	if _, err := s.Program(ctx, code); err != nil {
		return nil, err
	}
	out, err := s.store.budgets(ctx, scope, code, year)
	return out, db.MapError(err)
}
