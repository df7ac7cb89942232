package program

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/expr-lang/expr/vm"
	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/approval"
	"github.com/ansinh/ansinh/internal/area"
	"github.com/ansinh/ansinh/internal/household"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/vn"
)

// registry is what this package needs of the household registry.
type registry interface {
	Get(ctx context.Context, scope access.Scope, id uuid.UUID) (household.Household, error)
	List(ctx context.Context, scope access.Scope, f household.Filter, after uuid.UUID, limit int) ([]household.Household, error)
}

// areas is what this package needs of the administrative areas (*area.Store).
type areas interface {
	Get(ctx context.Context, code string) (area.Area, error)
	DesignationsOn(ctx context.Context, a area.Area, day time.Time) ([]area.Designation, error)
}

// approvals is the generic approval flow.
type approvals interface {
	Submit(ctx context.Context, s approval.Subject, note string) error
	Decide(ctx context.Context, scope access.Scope, s approval.Subject, action approval.Action, reason string) (approval.Decision, error)
}

// SubjectType is what enrollments are called in the approval flow.
const SubjectType = "enrollment"

// Service applies the programs' rules, each change in one transaction with
// its audit event.
type Service struct {
	db        *db.DB
	store     store
	registry  registry
	approvals approvals
	areas     areas
	now       func() time.Time

	mu       sync.Mutex
	compiled map[string]compiled // by code@version
}

// NewService makes the service; register Decided with the approval flow for
// SubjectType and Reclassified with the review's recognition.
func NewService(pool *db.DB, reg registry, flow approvals, places areas) *Service {
	return &Service{db: pool, store: store{db: pool}, registry: reg, approvals: flow, areas: places, now: time.Now,
		compiled: map[string]compiled{}}
}

func (s *Service) today() time.Time { return vn.Today(s.now()) }

// compiled is a program's rule, amount and computed parameters, checked.
type compiled struct {
	rule     Rule
	rules    []*Rule // per params entry: its own rule (nil: the program's)
	amount   Amount
	computed []map[string]*vm.Program // per params entry
}

// ruleOn is the rule in force on a day: that of the params entry in force
// then when it has one, else the program's.
func (c compiled) ruleOn(p Program, on time.Time) Rule {
	if i := p.inForce(on.Format(time.DateOnly)); i >= 0 && i < len(c.rules) && c.rules[i] != nil {
		return *c.rules[i]
	}
	return c.rule
}

// compileProgram checks every expression of a program; the error names the
// field that is wrong.
func compileProgram(p Program) (compiled, error) {
	var c compiled
	var err error
	if c.rule, err = CompileRule(p.Rule); err != nil {
		return c, fieldError("rule", "invalid", err.Error())
	}
	if c.amount, err = CompileAmount(p.Amount); err != nil {
		return c, fieldError("amount", "invalid", err.Error())
	}
	for i, e := range p.Params {
		var r *Rule
		if len(e.Rule) > 0 {
			compiledRule, err := CompileRule(e.Rule)
			if err != nil {
				return c, fieldError(fmt.Sprintf("params[%d].rule", i), "invalid", err.Error())
			}
			r = &compiledRule
		}
		c.rules = append(c.rules, r)
		m := map[string]*vm.Program{}
		for name, code := range e.Computed {
			prog, err := compileComputed(code)
			if err != nil {
				return c, fieldError(fmt.Sprintf("params[%d].computed.%s", i, name), "invalid", err.Error())
			}
			m[name] = prog
		}
		c.computed = append(c.computed, m)
	}
	return c, nil
}

// compiledOf is the cached compilation of a stored program.
func (s *Service) compiledOf(p Program) (compiled, error) {
	key := fmt.Sprintf("%s@%d", p.Code, p.Version)
	s.mu.Lock()
	c, ok := s.compiled[key]
	s.mu.Unlock()
	if ok {
		return c, nil
	}
	c, err := compileProgram(p)
	if err != nil {
		return c, fmt.Errorf("stored program %s does not compile: %w", p.Code, err)
	}
	s.mu.Lock()
	s.compiled[key] = c
	s.mu.Unlock()
	return c, nil
}

// areaOf is an area by its code; an unknown code is the field's error, any
// other failure is returned as it is.
func (s *Service) areaOf(ctx context.Context, code, field string) (area.Area, error) {
	a, err := s.areas.Get(ctx, code)
	if apperr.Is(err, apperr.NotFound) {
		return a, fieldError(field, "invalid", "must be the code of an administrative area")
	}
	return a, err
}

// areaInScope is an area the caller acts in.
func (s *Service) areaInScope(ctx context.Context, scope access.Scope, code, field string) (area.Area, error) {
	a, err := s.areaOf(ctx, code, field)
	if err != nil {
		return a, err
	}
	if !scope.Contains(a.Path) {
		return a, apperr.New(apperr.Forbidden, "area_outside_scope", "area %s is outside your areas", code)
	}
	return a, nil
}
