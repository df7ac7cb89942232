package program

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/household"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/google/uuid"
)

// Facts and eligibility: what a household's facts are, and which programs
// they make it (or its members) eligible for.

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

// circumstances are a household's live enrollments (by member; uuid.Nil for
// the household's own) and when it last left poverty (nil: never).
func (s *Service) circumstances(ctx context.Context, householdID uuid.UUID) (map[uuid.UUID][]string, *time.Time, error) {
	live, err := s.store.liveEnrollments(ctx, []uuid.UUID{householdID})
	if err != nil {
		return nil, nil, err
	}
	escapes, err := s.store.escapes(ctx, []uuid.UUID{householdID})
	if err != nil {
		return nil, nil, err
	}
	if d, ok := escapes[householdID]; ok {
		return live[householdID], &d, nil
	}
	return live[householdID], nil, nil
}

// subjectVerdict judges an enrollment's own subject again, as if it were not
// enrolled: the enrollment does not count against itself in rules about
// existing enrollments. A member who is no longer present is not eligible.
func (s *Service) subjectVerdict(ctx context.Context, p Program, h household.Household, e Enrollment, on time.Time) (Verdict, error) {
	c, err := s.compiledOf(p)
	if err != nil {
		return Verdict{}, err
	}
	mine, escaped, err := s.circumstances(ctx, h.ID)
	if err != nil {
		return Verdict{}, err
	}
	own := uuid.Nil
	if e.MemberID != nil {
		own = *e.MemberID
	}
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
	live, escaped, err := s.circumstances(ctx, h.ID)
	if err != nil {
		return nil, db.MapError(err)
	}
	var out []ProgramVerdict
	for _, p := range programs {
		if p.Status != "active" || !applies(p, h.AreaPath) {
			continue
		}
		v, err := s.judge(p, h, live, escaped, s.today())
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
