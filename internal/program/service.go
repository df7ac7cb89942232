package program

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr/vm"
	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/approval"
	"github.com/ansinh/ansinh/internal/audit"
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
	now       func() time.Time

	mu       sync.Mutex
	compiled map[string]compiled // by code@version
}

// NewService makes the service; register Decided with the approval flow for
// SubjectType and Reclassified with the review's recognition.
func NewService(pool *db.DB, reg registry, flow approvals) *Service {
	return &Service{db: pool, store: store{db: pool}, registry: reg, approvals: flow, now: time.Now, compiled: map[string]compiled{}}
}

func actorID(ctx context.Context) *uuid.UUID {
	a, _ := access.ActorFrom(ctx)
	if a.UserID == uuid.Nil {
		return nil
	}
	return &a.UserID
}

func (s *Service) today() time.Time { return vn.Today(s.now()) }

// compiled is a program's rule, amount and computed parameters, checked.
type compiled struct {
	rule     Rule
	amount   Amount
	computed []map[string]*vm.Program // per params entry
}

// compileProgram checks every expression of a program; the error names the
// field that is wrong.
func compileProgram(p Program) (compiled, error) {
	var c compiled
	var err error
	if c.rule, err = CompileRule(p.Rule); err != nil {
		return c, apperr.Fields([]apperr.FieldError{{Field: "rule", Code: "invalid", Message: err.Error()}})
	}
	if c.amount, err = CompileAmount(p.Amount); err != nil {
		return c, apperr.Fields([]apperr.FieldError{{Field: "amount", Code: "invalid", Message: err.Error()}})
	}
	for i, e := range p.Params {
		m := map[string]*vm.Program{}
		for name, code := range e.Computed {
			prog, err := compileComputed(code)
			if err != nil {
				return c, apperr.Fields([]apperr.FieldError{{Field: fmt.Sprintf("params[%d].computed.%s", i, name), Code: "invalid",
					Message: err.Error()}})
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

// ---- catalog ----

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

var programCode = regexp.MustCompile(`^[a-z][a-z0-9_]{1,40}$`)

func validateProgram(p *Program, fe *apperr.FieldList) {
	p.NameVI, p.NameEN, p.LegalBasis = strings.TrimSpace(p.NameVI), strings.TrimSpace(p.NameEN), strings.TrimSpace(p.LegalBasis)
	if p.NameVI == "" || p.NameEN == "" || len(p.NameVI) > 300 || len(p.NameEN) > 300 {
		fe.Add("name_vi", "required", "name the program in Vietnamese and English (at most 300 characters each)")
	}
	if p.LegalBasis == "" || len(p.LegalBasis) > 500 {
		fe.Add("legal_basis", "required", "name its legal basis (at most 500 characters)")
	}
	if !slices.Contains([]string{"active", "suspended", "closed"}, p.Status) {
		fe.Add("status", "invalid", "must be active, suspended or closed")
	}
	for i, f := range p.Funding {
		if !programCode.MatchString(f) {
			fe.Add(fmt.Sprintf("funding[%d]", i), "invalid", "is a source code such as state, province, fatherland_front")
		}
	}
	for i, e := range p.Params {
		if _, err := time.Parse(time.DateOnly, e.From); err != nil {
			fe.Add(fmt.Sprintf("params[%d].from", i), "invalid", "must be a date, YYYY-MM-DD")
		}
		if e.To != "" {
			if _, err := time.Parse(time.DateOnly, e.To); err != nil || e.To < e.From {
				fe.Add(fmt.Sprintf("params[%d].to", i), "invalid", "must be a date on or after from")
			}
		}
	}
	if p.Amount == "" {
		p.Amount = "0"
	}
}

// CreateProgram adds a local program of an area in the caller's scope.
func (s *Service) CreateProgram(ctx context.Context, scope access.Scope, p Program) (Program, error) {
	var fe apperr.FieldList
	if !programCode.MatchString(p.Code) {
		fe.Add("code", "invalid", "lower-case letters, digits and underscores, starting with a letter (2 to 41)")
	}
	if !slices.Contains(Kinds, p.Kind) {
		fe.Add("kind", "invalid", "must be one of %s", strings.Join(Kinds, ", "))
	}
	if p.Level != "household" && p.Level != "member" {
		fe.Add("level", "invalid", "must be household or member")
	}
	if p.Status == "" {
		p.Status = "active"
	}
	validateProgram(&p, &fe)
	if err := fe.Err(); err != nil {
		return Program{}, err
	}
	if _, err := compileProgram(p); err != nil {
		return Program{}, err
	}
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		path, err := s.areaInScope(ctx, scope, p.AreaCode, "area_code")
		if err != nil {
			return err
		}
		p.AreaPath = path
		if err := s.store.saveProgram(ctx, p, true, actorID(ctx)); err != nil {
			if apperr.Is(db.MapError(err), apperr.Conflict) {
				return apperr.New(apperr.Conflict, "program_exists", "a program with code %s exists", p.Code)
			}
			return err
		}
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "program.create", EntityType: "program", EntityID: p.Code,
			AreaPath: path, After: programState(p)})
	})
	if err != nil {
		return Program{}, db.MapError(err)
	}
	return s.Program(ctx, p.Code)
}

// areaInScope is the path of an area the caller acts in.
func (s *Service) areaInScope(ctx context.Context, scope access.Scope, code, field string) (string, error) {
	var path string
	if err := s.db.Conn(ctx).Raw(`SELECT path::text FROM areas WHERE code = ?`, code).Row().Scan(&path); err != nil {
		return "", apperr.Fields([]apperr.FieldError{{Field: field, Code: "invalid", Message: "must be the code of an administrative area"}})
	}
	if !scope.Contains(path) {
		return "", apperr.New(apperr.Forbidden, "area_outside_scope", "area %s is outside your areas", code)
	}
	return path, nil
}

func programState(p Program) map[string]any {
	return map[string]any{"code": p.Code, "name_vi": p.NameVI, "name_en": p.NameEN, "legal_basis": p.LegalBasis, "kind": p.Kind,
		"level": p.Level, "area": p.AreaCode, "rule": p.Rule, "params": p.Params, "amount": p.Amount, "funding": p.Funding,
		"status": p.Status, "version": p.Version}
}

// ProgramPatch changes a program; nil leaves a field alone.
type ProgramPatch struct {
	NameVI, NameEN, LegalBasis, Amount, Status *string
	Rule                                       []Clause
	Params                                     []Params
	Funding                                    []string
}

// UpdateProgram edits a local program in scope at version; rules are
// recompiled and refused when bad.
func (s *Service) UpdateProgram(ctx context.Context, scope access.Scope, code string, version int, patch ProgramPatch) (Program, error) {
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		before, err := s.store.program(ctx, code, true)
		if err != nil {
			return err
		}
		if before.AreaPath == "" {
			return errNationalProgram
		}
		if !scope.Contains(before.AreaPath) {
			return errProgramNotFound
		}
		if before.Version != version {
			return apperr.New(apperr.PreconditionFailed, "precondition_failed",
				"the program was changed since you read it (version %d, now %d): read it again", version, before.Version)
		}
		p := before
		set := func(dst *string, v *string) {
			if v != nil {
				*dst = *v
			}
		}
		set(&p.NameVI, patch.NameVI)
		set(&p.NameEN, patch.NameEN)
		set(&p.LegalBasis, patch.LegalBasis)
		set(&p.Amount, patch.Amount)
		set(&p.Status, patch.Status)
		if patch.Rule != nil {
			p.Rule = patch.Rule
		}
		if patch.Params != nil {
			p.Params = patch.Params
		}
		if patch.Funding != nil {
			p.Funding = patch.Funding
		}
		var fe apperr.FieldList
		validateProgram(&p, &fe)
		if err := fe.Err(); err != nil {
			return err
		}
		if _, err := compileProgram(p); err != nil {
			return err
		}
		if err := s.store.saveProgram(ctx, p, false, actorID(ctx)); err != nil {
			return err
		}
		p.Version++
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "program.update", EntityType: "program", EntityID: code,
			AreaPath: p.AreaPath, Before: programState(before), After: programState(p)})
	})
	if err != nil {
		return Program{}, db.MapError(err)
	}
	return s.Program(ctx, code)
}

func validateCampaign(c *Campaign) error {
	var fe apperr.FieldList
	c.Name = strings.TrimSpace(c.Name)
	if c.Name == "" || len(c.Name) > 300 {
		fe.Add("name", "required", "name the campaign (at most 300 characters)")
	}
	if c.StartsOn.IsZero() || c.EndsOn.IsZero() || c.EndsOn.Before(c.StartsOn) {
		fe.Add("ends_on", "invalid", "give starts_on and ends_on, in that order")
	}
	if c.PackageAmount <= 0 || c.PackageAmount > 100_000_000 {
		fe.Add("package_amount", "invalid", "a package is worth 1 to 100,000,000 VND")
	}
	return fe.Err()
}

func campaignState(c Campaign) map[string]any {
	return map[string]any{"program": c.ProgramCode, "name": c.Name, "area": c.AreaCode, "starts_on": c.StartsOn.Format(time.DateOnly),
		"ends_on": c.EndsOn.Format(time.DateOnly), "package_amount": c.PackageAmount, "version": c.Version}
}

// CampaignPatch changes a campaign; nil leaves a field alone.
type CampaignPatch struct {
	Name          *string
	EndsOn        *time.Time
	PackageAmount *int64
}

// UpdateCampaign edits a campaign in scope at version: its name, its end,
// the value of its package (packages already handed over keep theirs).
func (s *Service) UpdateCampaign(ctx context.Context, scope access.Scope, code string, id uuid.UUID, version int, p CampaignPatch) (Campaign, error) {
	var out Campaign
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		before, err := s.store.campaign(ctx, code, id)
		if err != nil {
			return err
		}
		if !scope.Contains(before.AreaPath) {
			return errCampaignNotFound
		}
		if before.Version != version {
			return apperr.New(apperr.PreconditionFailed, "precondition_failed",
				"the campaign was changed since you read it (version %d, now %d): read it again", version, before.Version)
		}
		c := before
		if p.Name != nil {
			c.Name = *p.Name
		}
		if p.EndsOn != nil {
			c.EndsOn = *p.EndsOn
		}
		if p.PackageAmount != nil {
			c.PackageAmount = *p.PackageAmount
		}
		if err := validateCampaign(&c); err != nil {
			return err
		}
		if err := s.db.Conn(ctx).Exec(`UPDATE program_campaigns SET name = ?, ends_on = ?, package_amount = ?, version = version + 1,
			updated_by = ?, updated_at = now() WHERE id = ?`, c.Name, c.EndsOn, c.PackageAmount, actorID(ctx), id).Error; err != nil {
			return err
		}
		c.Version++
		out = c
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "campaign.update", EntityType: "campaign", EntityID: id.String(),
			AreaPath: c.AreaPath, Before: campaignState(before), After: campaignState(c)})
	})
	return out, db.MapError(err)
}

// AddCampaign opens a gift or relief campaign of a program in an area.
func (s *Service) AddCampaign(ctx context.Context, scope access.Scope, code string, c Campaign) (Campaign, error) {
	if err := validateCampaign(&c); err != nil {
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
			return apperr.New(apperr.Conflict, "not_a_campaign_program", "only gift and relief programs run campaigns")
		}
		if c.AreaPath, err = s.areaInScope(ctx, scope, c.AreaCode, "area_code"); err != nil {
			return err
		}
		c.ID, c.ProgramCode, c.Version = uuid.Must(uuid.NewV7()), code, 1
		if err := s.db.Conn(ctx).Exec(`INSERT INTO program_campaigns (id, program_code, name, area_code, area_path, starts_on, ends_on,
			package_amount, created_by) VALUES (?, ?, ?, ?, ?::ltree, ?, ?, ?, ?)`, c.ID, code, c.Name, c.AreaCode, c.AreaPath,
			c.StartsOn, c.EndsOn, c.PackageAmount, actorID(ctx)).Error; err != nil {
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
// budget below what is already committed is refused.
func (s *Service) SetBudget(ctx context.Context, scope access.Scope, code, areaCode string, year int, version int, amount int64) (Budget, error) {
	var fe apperr.FieldList
	if year < 2000 || year > 2100 {
		fe.Add("year", "invalid", "must be from 2000 to 2100")
	}
	if amount < 0 || amount > 10_000_000_000_000 {
		fe.Add("amount", "invalid", "must be whole VND from 0 to 10,000,000,000,000")
	}
	if err := fe.Err(); err != nil {
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
		path, err := s.areaInScope(ctx, scope, areaCode, "area_code")
		if err != nil {
			return err
		}
		conn := s.db.Conn(ctx)
		var current struct {
			Amount  *int64
			Version *int
		}
		if err := conn.Raw(`SELECT amount, version FROM program_budgets WHERE program_code = ? AND area_code = ? AND year = ? FOR UPDATE`,
			code, areaCode, year).Scan(&current).Error; err != nil {
			return err
		}
		before := current.Amount
		// Changing a budget needs the version read; setting a new one does not.
		if current.Version != nil && version < 0 {
			return apperr.New(apperr.PreconditionNeeded, "precondition_required", "this budget exists: send If-Match with the version you read")
		}
		if current.Version != nil && *current.Version != version {
			return apperr.New(apperr.PreconditionFailed, "precondition_failed",
				"the budget was changed since you read it (version %d, now %d): read it again", version, *current.Version)
		}
		if err := conn.Exec(`INSERT INTO program_budgets (program_code, area_code, area_path, year, amount, updated_by)
			VALUES (?, ?, ?::ltree, ?, ?, ?) ON CONFLICT (program_code, area_code, year)
			DO UPDATE SET amount = excluded.amount, version = program_budgets.version + 1, updated_by = excluded.updated_by,
			updated_at = now()`, code, areaCode, path, year, amount, actorID(ctx)).Error; err != nil {
			return err
		}
		list, err := s.store.budgets(ctx, access.Within(path), code, year)
		if err != nil {
			return err
		}
		for _, b := range list {
			if b.AreaCode == areaCode {
				out = b
			}
		}
		if out.Committed > amount {
			return apperr.New(apperr.Conflict, "budget_below_committed",
				"approved enrollments already commit %d VND of this budget: it cannot be set to %d", out.Committed, amount)
		}
		return audit.Record(ctx, conn, audit.Event{Action: "budget.set", EntityType: "budget",
			EntityID: fmt.Sprintf("%s/%s/%d", code, areaCode, year), AreaPath: path,
			Before: map[string]any{"amount": before}, After: map[string]any{"amount": amount}})
	})
	return out, db.MapError(err)
}

// Budgets lists a program's budgets in scope for a year (0: all).
func (s *Service) Budgets(ctx context.Context, scope access.Scope, code string, year int) ([]Budget, error) {
	if _, err := s.Program(ctx, code); err != nil {
		return nil, err
	}
	out, err := s.store.budgets(ctx, scope, code, year)
	return out, db.MapError(err)
}

// ---- facts and eligibility ----

// ageOn is a member's age in whole years on a date.
func ageOn(m household.Member, date time.Time) int {
	if m.BirthDate == nil {
		return date.Year() - m.BirthYear
	}
	b := *m.BirthDate
	age := date.Year() - b.Year()
	if date.Month() < b.Month() || date.Month() == b.Month() && date.Day() < b.Day() {
		age--
	}
	return age
}

// factsOf are the facts of a household on a date, with its live enrollments
// (by member; uuid.Nil for the household's own) and when it last left poverty.
func factsOf(h household.Household, live map[uuid.UUID][]string, escaped *time.Time, on time.Time) HouseholdFacts {
	f := HouseholdFacts{Classification: h.Classification, AreaType: h.AreaType, EthnicMinority: h.EthnicMinority,
		Enrolled: append([]string{}, live[uuid.Nil]...), YearsSinceEscaping: -1}
	if h.ClassificationEffective != nil {
		f.ClassificationSince = h.ClassificationEffective.Format(time.DateOnly)
	}
	if escaped != nil {
		f.YearsSinceEscaping = on.Sub(*escaped).Hours() / 24 / 365.25
	}
	for _, m := range h.Members {
		if m.Status == "present" {
			f.Members++
		}
	}
	return f
}

func memberFacts(m household.Member, live map[uuid.UUID][]string, on time.Time) MemberFacts {
	return MemberFacts{Name: m.FullName, Age: ageOn(m, on), Sex: string(m.Sex), Relationship: m.Relationship, Student: m.Student,
		SchoolLevel: m.SchoolLevel, Disability: m.Disability, Enrolled: append([]string{}, live[m.ID]...)}
}

// applies reports whether a program reaches a household's area.
func applies(p Program, areaPath string) bool {
	return p.AreaPath == "" || areaPath == p.AreaPath || strings.HasPrefix(areaPath, p.AreaPath+".")
}

// Verdict is a program's eligibility decision for a household or one member.
type MemberVerdict struct {
	MemberID *uuid.UUID
	Verdict
}

// ProgramVerdict is a program's eligibility decision for one household.
type ProgramVerdict struct {
	Program  Program
	Eligible bool
	Enrolled bool // a live enrollment exists (for some member, at member level)
	Verdicts []MemberVerdict
}

// judge evaluates a program for a household (each present member at member
// level); a member's reason names them and their age.
func (s *Service) judge(p Program, h household.Household, live map[uuid.UUID][]string, escaped *time.Time, on time.Time) (ProgramVerdict, error) {
	c, err := s.compiledOf(p)
	if err != nil {
		return ProgramVerdict{}, err
	}
	out := ProgramVerdict{Program: p}
	if p.Level == "household" {
		v := verdictOf(c, p, h, nil, live, escaped, on)
		out.Eligible, out.Enrolled = v.Eligible, slices.Contains(live[uuid.Nil], p.Code)
		out.Verdicts = []MemberVerdict{{Verdict: v}}
		return out, nil
	}
	for _, m := range h.Members {
		if m.Status != "present" {
			continue
		}
		id := m.ID
		v := verdictOf(c, p, h, &m, live, escaped, on)
		out.Verdicts = append(out.Verdicts, MemberVerdict{MemberID: &id, Verdict: v})
		out.Eligible = out.Eligible || v.Eligible
		out.Enrolled = out.Enrolled || slices.Contains(live[m.ID], p.Code)
	}
	return out, nil
}

// verdictOf judges one subject: the household (m nil) or one of its members.
func verdictOf(c compiled, p Program, h household.Household, m *household.Member, live map[uuid.UUID][]string, escaped *time.Time, on time.Time) Verdict {
	facts := Facts{Household: factsOf(h, live, escaped, on)}
	if m == nil {
		v, _ := c.rule.Evaluate(facts)
		return v
	}
	facts.Member = memberFacts(*m, live, on)
	v, _ := c.rule.Evaluate(facts)
	v.ReasonVI = fmt.Sprintf("%s, %d tuổi: %s", m.FullName, facts.Member.Age, v.ReasonVI)
	v.ReasonEN = fmt.Sprintf("member %s, %d: %s", m.FullName, facts.Member.Age, v.ReasonEN)
	return v
}

// subjectVerdict judges an enrollment's own subject again, as if it were not
// enrolled: the enrollment does not count against itself in rules about
// existing enrollments. A member who is no longer present is not eligible.
func (s *Service) subjectVerdict(ctx context.Context, p Program, h household.Household, e Enrollment, on time.Time) (Verdict, error) {
	c, err := s.compiledOf(p)
	if err != nil {
		return Verdict{}, err
	}
	live, err := s.store.liveEnrollments(ctx, []uuid.UUID{h.ID})
	if err != nil {
		return Verdict{}, err
	}
	escapes, err := s.store.escapes(ctx, []uuid.UUID{h.ID})
	if err != nil {
		return Verdict{}, err
	}
	var escaped *time.Time
	if d, ok := escapes[h.ID]; ok {
		escaped = &d
	}
	own := uuid.Nil
	if e.MemberID != nil {
		own = *e.MemberID
	}
	mine := live[h.ID]
	if mine != nil {
		mine[own] = slices.DeleteFunc(slices.Clone(mine[own]), func(code string) bool { return code == e.ProgramCode })
	}
	if e.MemberID == nil {
		return verdictOf(c, p, h, nil, mine, escaped, on), nil
	}
	for _, m := range h.Members {
		if m.ID == *e.MemberID && m.Status == "present" {
			return verdictOf(c, p, h, &m, mine, escaped, on), nil
		}
	}
	return Verdict{ReasonVI: "không còn là thành viên của hộ", ReasonEN: "is no longer a present member of the household"}, nil
}

// Eligibility judges every active program that reaches a household in scope.
func (s *Service) Eligibility(ctx context.Context, scope access.Scope, householdID uuid.UUID) ([]ProgramVerdict, error) {
	h, err := s.registry.Get(ctx, scope, householdID)
	if err != nil {
		return nil, err
	}
	programs, err := s.Programs(ctx)
	if err != nil {
		return nil, err
	}
	live, err := s.store.liveEnrollments(ctx, []uuid.UUID{h.ID})
	if err != nil {
		return nil, db.MapError(err)
	}
	escapes, err := s.store.escapes(ctx, []uuid.UUID{h.ID})
	if err != nil {
		return nil, db.MapError(err)
	}
	var escaped *time.Time
	if d, ok := escapes[h.ID]; ok {
		escaped = &d
	}
	var out []ProgramVerdict
	for _, p := range programs {
		if p.Status != "active" || !applies(p, h.AreaPath) {
			continue
		}
		v, err := s.judge(p, h, live[h.ID], escaped, s.today())
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Gap is a household, or a member, eligible for a program and not enrolled.
type Gap struct {
	HouseholdID   uuid.UUID
	HouseholdCode string
	CommuneCode   string
	Village       string
	MemberID      *uuid.UUID
	ReasonVI      string
	ReasonEN      string
}

// gapBatch is how many households are judged per database round trip.
const gapBatch = 500

// Gaps lists who is eligible for a program but has no live enrollment in it,
// within an area and the caller's scope, at most limit entries. Households
// are read in batches with their enrollments and escape dates, and the
// compiled rule judges each in memory.
func (s *Service) Gaps(ctx context.Context, scope access.Scope, code, areaCode string, limit int) ([]Gap, error) {
	p, err := s.Program(ctx, code)
	if err != nil {
		return nil, err
	}
	if p.Status != "active" {
		return nil, apperr.New(apperr.Conflict, "program_not_active", "program %s is %s: nobody is enrolled in it now", p.Code, p.Status)
	}
	var path string
	if err := s.db.Conn(ctx).Raw(`SELECT path::text FROM areas WHERE code = ?`, areaCode).Row().Scan(&path); err != nil {
		return nil, apperr.Fields([]apperr.FieldError{{Field: "area", Code: "invalid", Message: "must be the code of an administrative area"}})
	}
	within := narrow(scope, path)
	if within.Empty() {
		return nil, apperr.New(apperr.NotFound, "area_outside_scope", "area %s is outside your areas", areaCode)
	}
	var out []Gap
	on := s.today()
	after := uuid.Nil
	for len(out) < limit {
		page, err := s.registry.List(ctx, within, household.Filter{Status: "active", AgeMin: -1, AgeMax: -1}, after, gapBatch)
		if err != nil {
			return nil, err
		}
		if len(page) == 0 {
			break
		}
		ids := make([]uuid.UUID, len(page))
		for i, h := range page {
			ids[i] = h.ID
		}
		live, err := s.store.liveEnrollments(ctx, ids)
		if err != nil {
			return nil, db.MapError(err)
		}
		escapes, err := s.store.escapes(ctx, ids)
		if err != nil {
			return nil, db.MapError(err)
		}
		for _, h := range page {
			if !applies(p, h.AreaPath) {
				continue
			}
			var escaped *time.Time
			if d, ok := escapes[h.ID]; ok {
				escaped = &d
			}
			v, err := s.judge(p, h, live[h.ID], escaped, on)
			if err != nil {
				return nil, err
			}
			for _, mv := range v.Verdicts {
				if !mv.Eligible {
					continue
				}
				member := uuid.Nil
				if mv.MemberID != nil {
					member = *mv.MemberID
				}
				if slices.Contains(live[h.ID][member], p.Code) {
					continue
				}
				out = append(out, Gap{HouseholdID: h.ID, HouseholdCode: h.Code, CommuneCode: h.CommuneCode, Village: h.Village,
					MemberID: mv.MemberID, ReasonVI: mv.ReasonVI, ReasonEN: mv.ReasonEN})
			}
		}
		if len(page) < gapBatch {
			break
		}
		after = page[len(page)-1].ID
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// narrow is the part of a scope inside an area: the area itself when the
// scope covers it, else the scope's subtrees that lie in it.
func narrow(scope access.Scope, path string) access.Scope {
	if scope.Contains(path) {
		return access.Within(path)
	}
	var inside []string
	for _, p := range scope.Paths() {
		if strings.HasPrefix(p+".", path+".") {
			inside = append(inside, p)
		}
	}
	return access.Within(inside...)
}

// ---- enrollments ----

// Proposal is a worker's proposal to enroll a household or a member.
type Proposal struct {
	ID          uuid.UUID
	ProgramCode string
	HouseholdID uuid.UUID
	MemberID    *uuid.UUID
	StartsOn    time.Time
	EndsOn      *time.Time
	Evidence    string
}

// benefitOf derives an enrollment's benefit parameters (the values in force
// on its start and those computed from the facts) and the amount it commits.
func (s *Service) benefitOf(p Program, facts Facts, start time.Time) (map[string]any, int64, error) {
	c, err := s.compiledOf(p)
	if err != nil {
		return nil, 0, err
	}
	benefit := map[string]any{}
	if i := p.inForce(start.Format(time.DateOnly)); i >= 0 {
		for k, v := range p.Params[i].Values {
			benefit[k] = v
		}
		for name, prog := range c.computed[i] {
			v, err := run(prog, facts)
			f, _ := v.(float64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, 0, apperr.New(apperr.Conflict, "benefit_not_computable",
					"program %s cannot compute %s for this case (%v %v): its manager must correct the program", p.Code, name, v, err)
			}
			benefit[name] = v
		}
	}
	amount, err := c.amount.Of(facts)
	if err != nil {
		return nil, 0, apperr.New(apperr.Conflict, "benefit_not_computable",
			"program %s cannot compute the amount for this case (%v): its manager must correct the program", p.Code, err)
	}
	return benefit, amount, nil
}

// Propose records a worker's proposal and submits it for approval. The
// household (and member) must be eligible on the start date; the benefit and
// the amount it commits come from the program's parameters.
func (s *Service) Propose(ctx context.Context, scope access.Scope, in Proposal) (Enrollment, error) {
	var fe apperr.FieldList
	in.Evidence = strings.TrimSpace(in.Evidence)
	if today := s.today(); in.StartsOn.IsZero() || in.StartsOn.Before(today.AddDate(-2, 0, 0)) || in.StartsOn.After(today.AddDate(1, 0, 0)) {
		fe.Add("starts_on", "invalid", "is required: a date from two years ago to a year from now")
	}
	if in.EndsOn != nil && in.EndsOn.Before(in.StartsOn) {
		fe.Add("ends_on", "invalid", "is before starts_on")
	}
	if len(in.Evidence) > 2000 {
		fe.Add("evidence", "too_long", "must be at most 2000 characters")
	}
	if err := fe.Err(); err != nil {
		return Enrollment{}, err
	}
	if in.ID == uuid.Nil {
		in.ID = uuid.Must(uuid.NewV7())
	}
	var out Enrollment
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		p, err := s.store.program(ctx, in.ProgramCode, false)
		if apperr.Is(err, apperr.NotFound) {
			return apperr.Fields([]apperr.FieldError{{Field: "program_code", Code: "not_found", Message: "no such program"}})
		}
		if err != nil {
			return err
		}
		if p.Status != "active" {
			return apperr.New(apperr.Conflict, "program_not_active", "program %s is %s", p.Code, p.Status)
		}
		h, err := s.registry.Get(ctx, scope, in.HouseholdID)
		if err != nil {
			return err
		}
		if h.Status != "active" || !applies(p, h.AreaPath) {
			return apperr.New(apperr.Conflict, "not_applicable", "program %s does not reach this household", p.Code)
		}
		live, err := s.store.liveEnrollments(ctx, []uuid.UUID{h.ID})
		if err != nil {
			return err
		}
		escapes, err := s.store.escapes(ctx, []uuid.UUID{h.ID})
		if err != nil {
			return err
		}
		var escaped *time.Time
		if d, ok := escapes[h.ID]; ok {
			escaped = &d
		}
		verdict, err := s.judge(p, h, live[h.ID], escaped, in.StartsOn)
		if err != nil {
			return err
		}
		var chosen *MemberVerdict
		switch {
		case p.Level == "member" && in.MemberID == nil:
			return apperr.Fields([]apperr.FieldError{{Field: "member_id", Code: "required", Message: "this program enrolls a person: name the member"}})
		case p.Level == "household" && in.MemberID != nil:
			return apperr.Fields([]apperr.FieldError{{Field: "member_id", Code: "not_allowed", Message: "this program enrolls the household"}})
		}
		for i, v := range verdict.Verdicts {
			if p.Level == "household" || *v.MemberID == *in.MemberID {
				chosen = &verdict.Verdicts[i]
			}
		}
		if chosen == nil {
			return apperr.Fields([]apperr.FieldError{{Field: "member_id", Code: "not_found", Message: "no present member with this id in the household"}})
		}
		if !chosen.Eligible {
			return &apperr.Error{Kind: apperr.Invalid, Code: "not_eligible", Message: "not eligible: " + chosen.ReasonEN}
		}
		facts := Facts{Household: factsOf(h, live[h.ID], escaped, in.StartsOn)}
		if in.MemberID != nil {
			for _, m := range h.Members {
				if m.ID == *in.MemberID {
					facts.Member = memberFacts(m, live[h.ID], in.StartsOn)
				}
			}
		}
		benefit, amount, err := s.benefitOf(p, facts, in.StartsOn)
		if err != nil {
			return err
		}
		b, err := json.Marshal(benefit)
		if err != nil {
			return err
		}
		if err := s.expirePast(ctx, p.Code, h.ID, in.MemberID, in.StartsOn); err != nil {
			return err
		}
		err = s.db.Conn(ctx).Exec(`INSERT INTO enrollments (id, program_code, household_id, member_id, area_path, state, starts_on, ends_on,
			amount, benefit, reason, evidence, created_by, updated_by) VALUES (?, ?, ?, ?, ?::ltree, 'proposed', ?, ?, ?, ?, ?, ?, ?, ?)`,
			in.ID, p.Code, h.ID, in.MemberID, h.AreaPath, in.StartsOn, in.EndsOn, amount, string(b), chosen.ReasonVI, in.Evidence,
			actorID(ctx), actorID(ctx)).Error
		if apperr.Is(db.MapError(err), apperr.Conflict) {
			return apperr.New(apperr.Conflict, "already_enrolled", "there is already a live enrollment in %s for this household or member (or the id is taken)", p.Code)
		}
		if err != nil {
			return err
		}
		if err := s.approvals.Submit(ctx, approval.Subject{Type: SubjectType, ID: in.ID, AreaPath: h.AreaPath}, in.Evidence); err != nil {
			return err
		}
		if out, err = s.store.enrollment(ctx, access.Everywhere(), in.ID, false); err != nil {
			return err
		}
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "enrollment.propose", EntityType: "enrollment",
			EntityID: in.ID.String(), AreaPath: h.AreaPath, After: enrollmentState(out)})
	})
	return out, db.MapError(err)
}

func enrollmentState(e Enrollment) map[string]any {
	date := func(t *time.Time) any {
		if t == nil {
			return nil
		}
		return t.Format(time.DateOnly)
	}
	return map[string]any{"program": e.ProgramCode, "household_id": e.HouseholdID, "member_id": e.MemberID, "state": e.State,
		"starts_on": e.StartsOn.Format(time.DateOnly), "ends_on": date(e.EndsOn), "amount": e.Amount, "benefit": e.Benefit,
		"reason": e.Reason, "evidence": e.Evidence, "flagged_on": date(e.FlaggedOn), "flag_reason": e.FlagReason,
		"end_reason": e.EndReason, "ended_on": date(e.EndedOn), "version": e.Version}
}

// change is the read-modify-write of an enrollment in scope: lock, check
// If-Match (version < 0: not given), apply, record before and after.
func (s *Service) change(ctx context.Context, scope access.Scope, id uuid.UUID, version int, action, reason string,
	apply func(ctx context.Context, e *Enrollment) error) (Enrollment, error) {
	var after Enrollment
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		before, err := s.store.enrollment(ctx, scope, id, true)
		if err != nil {
			return err
		}
		if version >= 0 && before.Version != version {
			return &apperr.Error{Kind: apperr.PreconditionFailed, Code: "precondition_failed", State: before.State,
				Message: fmt.Sprintf("the enrollment was changed since you read it (version %d, now %d): read it again", version, before.Version)}
		}
		e := before
		if err := apply(ctx, &e); err != nil {
			return err
		}
		if err := s.db.Conn(ctx).Exec(`UPDATE enrollments SET version = version + 1, updated_by = ?, updated_at = now() WHERE id = ?`,
			actorID(ctx), id).Error; err != nil {
			return err
		}
		if after, err = s.store.enrollment(ctx, access.Everywhere(), id, false); err != nil {
			return err
		}
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "enrollment." + action, EntityType: "enrollment",
			EntityID: id.String(), AreaPath: after.AreaPath, Reason: reason, Before: enrollmentState(before), After: enrollmentState(after)})
	})
	return after, db.MapError(err)
}

// expirePast ends, as of their end date, the approved enrollments of the
// same program and person whose end date has passed by a new start: one that
// ran its term does not block the next year's.
func (s *Service) expirePast(ctx context.Context, code string, householdID uuid.UUID, memberID *uuid.UUID, start time.Time) error {
	var ids []uuid.UUID
	if err := s.db.Conn(ctx).Raw(`SELECT id FROM enrollments WHERE program_code = ? AND household_id = ?
		AND member_id IS NOT DISTINCT FROM ? AND state = 'approved' AND ends_on < ?`, code, householdID, memberID, start).Scan(&ids).Error; err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := s.change(ctx, access.Everywhere(), id, -1, "expire", "the end date passed", func(ctx context.Context, e *Enrollment) error {
			return s.db.Conn(ctx).Exec(`UPDATE enrollments SET state = 'ended', ended_on = ends_on, end_reason = 'the end date passed',
				flagged_on = NULL, flag_reason = NULL WHERE id = ?`, e.ID).Error
		}); err != nil {
			return err
		}
	}
	return nil
}

// Resubmit puts a returned proposal to a decision again, with more evidence.
func (s *Service) Resubmit(ctx context.Context, scope access.Scope, id uuid.UUID, version int, evidence string) (Enrollment, error) {
	evidence = strings.TrimSpace(evidence)
	return s.change(ctx, scope, id, version, "resubmit", "", func(ctx context.Context, e *Enrollment) error {
		if e.State != Returned {
			return wrongState("be resubmitted", e.State)
		}
		if evidence != "" {
			e.Evidence = strings.TrimSpace(e.Evidence + "\n" + evidence)
		}
		if err := s.db.Conn(ctx).Exec(`UPDATE enrollments SET state = 'proposed', evidence = ? WHERE id = ?`, e.Evidence, e.ID).Error; err != nil {
			return err
		}
		return s.approvals.Submit(ctx, approval.Subject{Type: SubjectType, ID: e.ID, AreaPath: e.AreaPath}, evidence)
	})
}

// Decide approves, returns or rejects a proposal; the approval flow refuses
// the one who proposed it, and approving checks the budgets (in Decided).
func (s *Service) Decide(ctx context.Context, scope access.Scope, id uuid.UUID, version int, action approval.Action, reason string) (Enrollment, error) {
	return s.change(ctx, scope, id, version, string(action), strings.TrimSpace(reason), func(ctx context.Context, e *Enrollment) error {
		if e.State != Proposed {
			return wrongState(string(action)+" it", e.State)
		}
		_, err := s.approvals.Decide(ctx, scope, approval.Subject{Type: SubjectType, ID: e.ID}, action, reason)
		return err
	})
}

// Decided is the approval flow's effect for enrollments, in the decision's
// transaction: a return or rejection sets the state; an approval first checks
// every budget of the program that covers the household's area for the
// enrollment's year, and is refused when it would exceed one.
func (s *Service) Decided(ctx context.Context, d approval.Decision) error {
	state := map[approval.Action]string{approval.Approve: Approved, approval.Return: Returned, approval.Reject: Rejected}[d.Action]
	e, err := s.store.enrollment(ctx, access.Everywhere(), d.Subject.ID, false)
	if err != nil {
		return err
	}
	conn := s.db.Conn(ctx)
	if d.Action == approval.Approve {
		// Facts may have changed since the proposal (a recognition in between).
		p, err := s.store.program(ctx, e.ProgramCode, false)
		if err != nil {
			return err
		}
		h, err := s.registry.Get(ctx, access.Everywhere(), e.HouseholdID)
		if err != nil {
			return err
		}
		v, err := s.subjectVerdict(ctx, p, h, e, e.StartsOn)
		if err != nil {
			return err
		}
		if !v.Eligible || h.Status != "active" || p.Status != "active" {
			return &apperr.Error{Kind: apperr.Conflict, Code: "not_eligible", State: e.State,
				Message: "no longer eligible: " + v.ReasonEN + " (return or reject the proposal)"}
		}
	}
	if d.Action == approval.Approve && e.Amount > 0 {
		type row struct {
			AreaCode string
			Amount   int64
		}
		var budgets []row
		// Lock the budgets first: approvals against the same budget queue here.
		if err := conn.Raw(`SELECT area_code, amount FROM program_budgets WHERE program_code = ? AND year = ? AND ?::ltree <@ area_path
			ORDER BY area_code FOR UPDATE`, e.ProgramCode, e.StartsOn.Year(), e.AreaPath).Scan(&budgets).Error; err != nil {
			return err
		}
		for _, b := range budgets {
			var committed int64
			if err := conn.Raw(`SELECT coalesce(sum(amount), 0) FROM enrollments WHERE program_code = ? AND state IN ('approved', 'ended')
				AND extract(year FROM starts_on) = ? AND area_path <@ (SELECT path FROM areas WHERE code = ?)`,
				e.ProgramCode, e.StartsOn.Year(), b.AreaCode).Scan(&committed).Error; err != nil {
				return err
			}
			if committed+e.Amount > b.Amount {
				return &apperr.Error{Kind: apperr.Conflict, Code: "budget_exceeded", State: e.State,
					Message: fmt.Sprintf("approving %s would exceed the %d budget of %s for %s: %s budgeted, %s committed, %s left",
						vnd(e.Amount), e.StartsOn.Year(), b.AreaCode, e.ProgramCode, vnd(b.Amount), vnd(committed), vnd(b.Amount-committed))}
			}
		}
	}
	return conn.Exec(`UPDATE enrollments SET state = ? WHERE id = ?`, state, e.ID).Error
}

// vnd writes whole đồng with thousands separators.
func vnd(n int64) string {
	s := fmt.Sprintf("%d", n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && c != '-' && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String() + " VND"
}

// End closes an approved enrollment on a date, with the reason (ending is
// a decision: a flag after a classification change does not end anything).
func (s *Service) End(ctx context.Context, scope access.Scope, id uuid.UUID, version int, on time.Time, reason string) (Enrollment, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 1000 || on.IsZero() {
		return Enrollment{}, apperr.Fields([]apperr.FieldError{{Field: "reason", Code: "required", Message: "give the date and say why it ends"}})
	}
	return s.change(ctx, scope, id, version, "end", reason, func(ctx context.Context, e *Enrollment) error {
		if e.State != Approved {
			return wrongState("be ended", e.State)
		}
		if on.Before(e.StartsOn) || on.After(s.today()) {
			return apperr.Fields([]apperr.FieldError{{Field: "date", Code: "invalid",
				Message: "must fall from the enrollment's start to today (a later end is set as ends_on when proposing)"}})
		}
		return s.db.Conn(ctx).Exec(`UPDATE enrollments SET state = 'ended', ended_on = ?, end_reason = ?, flagged_on = NULL,
			flag_reason = NULL WHERE id = ?`, on, reason, e.ID).Error
	})
}

// Enrollment reads one enrollment in scope.
func (s *Service) Enrollment(ctx context.Context, scope access.Scope, id uuid.UUID) (Enrollment, error) {
	e, err := s.store.enrollment(ctx, scope, id, false)
	return e, db.MapError(err)
}

// Enrollments lists enrollments in scope in id order after the cursor.
func (s *Service) Enrollments(ctx context.Context, scope access.Scope, f EnrollmentFilter, after uuid.UUID, limit int) ([]Enrollment, error) {
	out, err := s.store.enrollments(ctx, scope, f, after, limit)
	return out, db.MapError(err)
}

// Reclassified flags, in the recognition's transaction, the approved
// enrollments of a household that its new classification no longer makes
// eligible, with the date the rule stops applying; an earlier flag that no
// longer holds is cleared. Nothing is ended: that is a decision.
func (s *Service) Reclassified(ctx context.Context, householdID uuid.UUID, effective time.Time) error {
	list, err := s.store.enrollments(ctx, access.Everywhere(), EnrollmentFilter{HouseholdID: &householdID, State: Approved}, uuid.Nil, 0)
	if err != nil || len(list) == 0 {
		return err
	}
	h, err := s.registry.Get(ctx, access.Everywhere(), householdID)
	if err != nil {
		return err
	}
	programs := map[string]Program{}
	for _, e := range list {
		p, ok := programs[e.ProgramCode]
		if !ok {
			if p, err = s.store.program(ctx, e.ProgramCode, false); err != nil {
				return err
			}
			programs[e.ProgramCode] = p
		}
		verdict, err := s.subjectVerdict(ctx, p, h, e, effective)
		if err != nil {
			return err
		}
		switch {
		case !verdict.Eligible && e.FlaggedOn == nil:
			_, err = s.change(ctx, access.Everywhere(), e.ID, -1, "flag", verdict.ReasonEN, func(ctx context.Context, e *Enrollment) error {
				return s.db.Conn(ctx).Exec(`UPDATE enrollments SET flagged_on = ?, flag_reason = ? WHERE id = ?`,
					effective, "no longer eligible from "+effective.Format(time.DateOnly)+": "+verdict.ReasonVI, e.ID).Error
			})
		case verdict.Eligible && e.FlaggedOn != nil:
			_, err = s.change(ctx, access.Everywhere(), e.ID, -1, "unflag", verdict.ReasonEN, func(ctx context.Context, e *Enrollment) error {
				return s.db.Conn(ctx).Exec(`UPDATE enrollments SET flagged_on = NULL, flag_reason = NULL WHERE id = ?`, e.ID).Error
			})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// ---- deliveries ----

// AddDelivery appends a record of support delivered under an approved
// enrollment in scope; the record's shape is the program kind's.
func (s *Service) AddDelivery(ctx context.Context, scope access.Scope, enrollmentID uuid.UUID, raw json.RawMessage) (Delivery, error) {
	var out Delivery
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		e, err := s.store.enrollment(ctx, scope, enrollmentID, true)
		if err != nil {
			return err
		}
		if e.State != Approved && e.State != Ended {
			return wrongState("receive support before it is approved", e.State)
		}
		p, err := s.store.program(ctx, e.ProgramCode, false)
		if err != nil {
			return err
		}
		details, sum, err := decodeRecord(p.Kind, raw)
		if err != nil {
			return err
		}
		last := s.today().AddDate(0, 1, 0)
		for _, end := range []*time.Time{e.EndedOn, e.EndsOn} {
			if end != nil && end.Before(last) {
				last = *end
			}
		}
		if sum.date.Before(e.StartsOn) || sum.date.After(last) {
			return apperr.Fields([]apperr.FieldError{{Field: "record", Code: "date_out_of_range",
				Message: fmt.Sprintf("the record's date must fall from the enrollment's start (%s) to %s",
					e.StartsOn.Format(time.DateOnly), last.Format(time.DateOnly))}})
		}
		if sum.campaign != nil {
			c, err := s.store.campaign(ctx, p.Code, *sum.campaign)
			if apperr.Is(err, apperr.NotFound) || err == nil && e.AreaPath != c.AreaPath && !strings.HasPrefix(e.AreaPath, c.AreaPath+".") {
				return apperr.Fields([]apperr.FieldError{{Field: "record.campaign_id", Code: "not_found",
					Message: "no campaign of this program covers the household's area"}})
			}
			if err != nil {
				return err
			}
			if sum.date.Before(c.StartsOn) || sum.date.After(c.EndsOn) || sum.amount > c.PackageAmount {
				return apperr.Fields([]apperr.FieldError{{Field: "record", Code: "outside_campaign",
					Message: fmt.Sprintf("a package of this campaign is handed over from %s to %s and is worth at most %s",
						c.StartsOn.Format(time.DateOnly), c.EndsOn.Format(time.DateOnly), vnd(c.PackageAmount))}})
			}
		}
		b, err := json.Marshal(details)
		if err != nil {
			return err
		}
		out = Delivery{ID: uuid.Must(uuid.NewV7()), EnrollmentID: e.ID, Kind: p.Kind, AreaPath: e.AreaPath, OccurredOn: *sum.date,
			Amount: sum.amount, ExpiresOn: sum.expires, CampaignID: sum.campaign, Details: details, CreatedAt: s.now().UTC()}
		if err := s.db.Conn(ctx).Exec(`INSERT INTO deliveries (id, enrollment_id, kind, area_path, occurred_on, amount, expires_on,
			campaign_id, details, created_by) VALUES (?, ?, ?, ?::ltree, ?, ?, ?, ?, ?, ?)`, out.ID, e.ID, p.Kind, e.AreaPath,
			out.OccurredOn, out.Amount, out.ExpiresOn, out.CampaignID, string(b), actorID(ctx)).Error; err != nil {
			if apperr.Is(db.MapError(err), apperr.Conflict) {
				return apperr.New(apperr.Conflict, "package_delivered", "this enrollment already received its package of this campaign")
			}
			return err
		}
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "delivery.record", EntityType: "delivery", EntityID: out.ID.String(),
			AreaPath: e.AreaPath, After: map[string]any{"enrollment_id": e.ID, "kind": p.Kind, "occurred_on": out.OccurredOn.Format(time.DateOnly),
				"amount": out.Amount, "details": details}})
	})
	return out, db.MapError(err)
}

// Deliveries lists an enrollment's delivery records in scope, oldest first.
func (s *Service) Deliveries(ctx context.Context, scope access.Scope, enrollmentID uuid.UUID) ([]Delivery, error) {
	if _, err := s.store.enrollment(ctx, scope, enrollmentID, false); err != nil {
		return nil, db.MapError(err)
	}
	out, err := s.store.deliveries(ctx, scope, &enrollmentID, nil, time.Time{}, 1000)
	return out, db.MapError(err)
}

// ExpiringCards lists health insurance cards in scope whose latest card
// expires within the next days (today included).
func (s *Service) ExpiringCards(ctx context.Context, scope access.Scope, days, limit int) ([]Delivery, error) {
	today := s.today()
	by := today.AddDate(0, 0, days)
	out, err := s.store.deliveries(ctx, scope, nil, &by, today, limit)
	return out, db.MapError(err)
}
