package program

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/area"
	"github.com/ansinh/ansinh/internal/household"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/vn"
	"github.com/google/uuid"
)

// Facts and eligibility: what a household's facts are, and which programs
// they make it (or its members) eligible for.

// situation is what a household's facts need beyond its record: its live
// enrollments (by member; uuid.Nil for the household's own), when it last
// left poverty (nil: never) and the designations around it on the date.
type situation struct {
	live         map[uuid.UUID][]string
	escaped      *time.Time
	designations []string
}

// designationsOf are the labels of the designations that reach a household:
// of its commune or a unit containing it, or of its hamlet (its village, by
// name without case).
func designationsOf(ds []area.Designation, h household.Household) []string {
	out := []string{}
	for _, d := range ds {
		if d.Edition != h.CommuneEdition || !access.Within(d.Path).Contains(h.AreaPath) {
			continue
		}
		if d.Village != "" && vn.VillageKey(d.Village) != vn.VillageKey(h.Village) {
			continue
		}
		if !slices.Contains(out, d.Label()) {
			out = append(out, d.Label())
		}
	}
	slices.Sort(out)
	return out
}

// factsOf are the facts of a household on a date in its situation.
func factsOf(h household.Household, sit situation, on time.Time) HouseholdFacts {
	live, escaped := sit.live, sit.escaped
	f := HouseholdFacts{Classification: h.Classification, AreaType: h.AreaType, EthnicMinority: h.EthnicMinority,
		Enrolled: append([]string{}, live[uuid.Nil]...), YearsSinceEscaping: -1, Designations: append([]string{}, sit.designations...)}
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
	return MemberFacts{Name: m.FullName, Age: m.AgeOn(on), Sex: string(m.Sex), Relationship: m.Relationship, Student: m.Student,
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
func (s *Service) judge(p Program, h household.Household, sit situation, on time.Time) (ProgramVerdict, error) {
	live := sit.live
	c, err := s.compiledOf(p)
	if err != nil {
		return ProgramVerdict{}, err
	}
	out := ProgramVerdict{Program: p}
	if p.Level == "household" {
		v := verdictOf(c, p, h, nil, sit, on)
		out.Eligible, out.Enrolled = v.Eligible, slices.Contains(live[uuid.Nil], p.Code)
		out.Verdicts = []MemberVerdict{{Verdict: v}}
		return out, nil
	}
	for _, m := range h.Members {
		if m.Status != "present" {
			continue
		}
		id := m.ID
		v := verdictOf(c, p, h, &m, sit, on)
		out.Verdicts = append(out.Verdicts, MemberVerdict{MemberID: &id, Verdict: v})
		out.Eligible = out.Eligible || v.Eligible
		out.Enrolled = out.Enrolled || slices.Contains(live[m.ID], p.Code)
	}
	return out, nil
}

// verdictOf judges one subject: the household (m nil) or one of its members.
func verdictOf(c compiled, p Program, h household.Household, m *household.Member, sit situation, on time.Time) Verdict {
	facts := Facts{Household: factsOf(h, sit, on)}
	rule := c.ruleOn(p, on) // the rule in force on the reference date
	if m == nil {
		v, _ := rule.Evaluate(facts)
		return v
	}
	facts.Member = memberFacts(*m, sit.live, on)
	v, _ := rule.Evaluate(facts)
	v.ReasonVI = fmt.Sprintf("%s, %d tuổi: %s", m.FullName, facts.Member.Age, v.ReasonVI)
	v.ReasonEN = fmt.Sprintf("member %s, %d: %s", m.FullName, facts.Member.Age, v.ReasonEN)
	return v
}

// circumstances are a household's situation on a date.
func (s *Service) circumstances(ctx context.Context, h household.Household, on time.Time) (situation, error) {
	live, err := s.store.liveEnrollments(ctx, []uuid.UUID{h.ID})
	if err != nil {
		return situation{}, err
	}
	escapes, err := s.store.escapes(ctx, []uuid.UUID{h.ID})
	if err != nil {
		return situation{}, err
	}
	ds, err := s.areas.DesignationsOn(ctx, area.Area{Edition: h.CommuneEdition, Code: h.CommuneCode, Path: h.AreaPath}, on)
	if err != nil {
		return situation{}, err
	}
	sit := situation{live: live[h.ID], designations: designationsOf(ds, h)}
	if d, ok := escapes[h.ID]; ok {
		sit.escaped = &d
	}
	return sit, nil
}

// subjectVerdict judges an enrollment's own subject again, as if it were not
// enrolled: the enrollment does not count against itself in rules about
// existing enrollments. A member who is no longer present is not eligible.
func (s *Service) subjectVerdict(ctx context.Context, p Program, h household.Household, e Enrollment, on time.Time) (Verdict, error) {
	c, err := s.compiledOf(p)
	if err != nil {
		return Verdict{}, err
	}
	sit, err := s.circumstances(ctx, h, on)
	if err != nil {
		return Verdict{}, err
	}
	mine := sit.live
	own := uuid.Nil
	if e.MemberID != nil {
		own = *e.MemberID
	}
	if mine != nil {
		mine[own] = slices.DeleteFunc(slices.Clone(mine[own]), func(code string) bool { return code == e.ProgramCode })
	}
	if e.MemberID == nil {
		return verdictOf(c, p, h, nil, sit, on), nil
	}
	for _, m := range h.Members {
		if m.ID == *e.MemberID && m.Status == "present" {
			return verdictOf(c, p, h, &m, sit, on), nil
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
	today := s.today()
	sit, err := s.circumstances(ctx, h, today)
	if err != nil {
		return nil, db.MapError(err)
	}
	var out []ProgramVerdict
	for _, p := range programs {
		if p.Status != "active" || !applies(p, h.AreaPath) {
			continue
		}
		v, err := s.judge(p, h, sit, today)
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
	a, err := s.areaOf(ctx, areaCode, "area")
	if err != nil {
		return nil, err
	}
	within := narrow(scope, a.Path)
	if within.Empty() {
		return nil, apperr.New(apperr.NotFound, "area_outside_scope", "area %s is outside your areas", areaCode)
	}
	var out []Gap
	on := s.today()
	// The designations in the area and above it, once: each household takes
	// those that reach it.
	designated, err := s.areas.DesignationsOn(ctx, a, on)
	if err != nil {
		return nil, err
	}
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
			sit := situation{live: live[h.ID], designations: designationsOf(designated, h)}
			if d, ok := escapes[h.ID]; ok {
				sit.escaped = &d
			}
			v, err := s.judge(p, h, sit, on)
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
