package program

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/approval"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/household"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// Enrollments: proposals, their decisions through the approval flow, their
// end, and the flags a new classification raises.

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

// validate trims the evidence and checks the dates against today.
func (in *Proposal) validate(today time.Time) error {
	var fe apperr.FieldList
	in.Evidence = strings.TrimSpace(in.Evidence)
	if in.StartsOn.IsZero() || in.StartsOn.Before(today.AddDate(-2, 0, 0)) || in.StartsOn.After(today.AddDate(1, 0, 0)) {
		fe.Add("starts_on", "invalid", "is required: a date from two years ago to a year from now")
	}
	if in.EndsOn != nil && in.EndsOn.Before(in.StartsOn) {
		fe.Add("ends_on", "invalid", "is before starts_on")
	}
	if len(in.Evidence) > 2000 {
		fe.Add("evidence", "too_long", "must be at most 2000 characters")
	}
	return fe.Err()
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
	if err := in.validate(s.today()); err != nil {
		return Enrollment{}, err
	}
	if in.ID == uuid.Nil {
		in.ID = uuid.Must(uuid.NewV7())
	}
	var out Enrollment
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		p, err := s.store.program(ctx, in.ProgramCode, false)
		if apperr.Is(err, apperr.NotFound) {
			return fieldError("program_code", "not_found", "no such program")
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
		e, err := s.proposed(ctx, p, h, in)
		if err != nil {
			return err
		}
		if err := s.expirePast(ctx, p.Code, h.ID, in.MemberID, in.StartsOn); err != nil {
			return err
		}
		err = s.store.insertEnrollment(ctx, e)
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

// proposed is the enrollment a proposal makes when its subject is eligible on
// the start date: the reason in words, the benefit and the amount.
func (s *Service) proposed(ctx context.Context, p Program, h household.Household, in Proposal) (Enrollment, error) {
	sit, err := s.circumstances(ctx, h, in.StartsOn)
	if err != nil {
		return Enrollment{}, err
	}
	verdict, err := s.judge(p, h, sit, in.StartsOn)
	if err != nil {
		return Enrollment{}, err
	}
	chosen, err := chooseVerdict(p, verdict, in.MemberID)
	if err != nil {
		return Enrollment{}, err
	}
	facts := Facts{Household: factsOf(h, sit, in.StartsOn)}
	if in.MemberID != nil {
		for _, m := range h.Members {
			if m.ID == *in.MemberID {
				facts.Member = memberFacts(m, sit.live, in.StartsOn)
			}
		}
	}
	benefit, amount, err := s.benefitOf(p, facts, in.StartsOn)
	if err != nil {
		return Enrollment{}, err
	}
	return Enrollment{ID: in.ID, ProgramCode: p.Code, HouseholdID: h.ID, MemberID: in.MemberID, AreaPath: h.AreaPath, State: Proposed,
		StartsOn: in.StartsOn, EndsOn: in.EndsOn, Amount: amount, Benefit: benefit, Reason: chosen.ReasonVI, Evidence: in.Evidence}, nil
}

// chooseVerdict is the verdict of the proposal's subject: the household, or
// the named member at member level; it must be eligible.
func chooseVerdict(p Program, verdict ProgramVerdict, memberID *uuid.UUID) (MemberVerdict, error) {
	switch {
	case p.Level == "member" && memberID == nil:
		return MemberVerdict{}, fieldError("member_id", "required", "this program enrolls a person: name the member")
	case p.Level == "household" && memberID != nil:
		return MemberVerdict{}, fieldError("member_id", "not_allowed", "this program enrolls the household")
	}
	var chosen *MemberVerdict
	for i, v := range verdict.Verdicts {
		if p.Level == "household" || *v.MemberID == *memberID {
			chosen = &verdict.Verdicts[i]
		}
	}
	if chosen == nil {
		return MemberVerdict{}, fieldError("member_id", "not_found", "no present member with this id in the household")
	}
	if !chosen.Eligible {
		return MemberVerdict{}, &apperr.Error{Kind: apperr.Invalid, Code: "not_eligible", Message: "not eligible: " + chosen.ReasonEN}
	}
	return *chosen, nil
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

// change is a transition of an enrollment in scope at version (< 0: If-Match
// not given), written with its audit event recording before and after.
func (s *Service) change(ctx context.Context, scope access.Scope, id uuid.UUID, version int, action, reason string,
	apply func(ctx context.Context, e *Enrollment) error) (Enrollment, error) {
	var out Enrollment
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		before, after, err := s.store.updateEnrollment(ctx, scope, id, version, apply)
		if err != nil {
			return err
		}
		out = after
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "enrollment." + action, EntityType: "enrollment",
			EntityID: id.String(), AreaPath: after.AreaPath, Reason: reason, Before: enrollmentState(before), After: enrollmentState(after)})
	})
	return out, db.MapError(err)
}

// expirePast ends, as of their end date, the approved enrollments of the
// same program and person whose end date has passed by a new start: one that
// ran its term does not block the next year's.
func (s *Service) expirePast(ctx context.Context, code string, householdID uuid.UUID, memberID *uuid.UUID, start time.Time) error {
	ids, err := s.store.expired(ctx, code, householdID, memberID, start)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := s.change(ctx, access.Everywhere(), id, -1, "expire", "the end date passed",
			func(_ context.Context, e *Enrollment) error { return e.Expire() }); err != nil {
			return err
		}
	}
	return nil
}

// Resubmit puts a returned proposal to a decision again, with more evidence.
func (s *Service) Resubmit(ctx context.Context, scope access.Scope, id uuid.UUID, version int, evidence string) (Enrollment, error) {
	evidence = strings.TrimSpace(evidence)
	return s.change(ctx, scope, id, version, "resubmit", "", func(ctx context.Context, e *Enrollment) error {
		if err := e.Resubmit(evidence); err != nil {
			return err
		}
		return s.approvals.Submit(ctx, approval.Subject{Type: SubjectType, ID: e.ID, AreaPath: e.AreaPath}, evidence)
	})
}

// decided is the state a decision leaves an enrollment in.
var decided = map[approval.Action]string{approval.Approve: Approved, approval.Return: Returned, approval.Reject: Rejected}

// Decide approves, returns or rejects a proposal; the approval flow refuses
// the one who proposed it, and approving checks the budgets (in Decided).
func (s *Service) Decide(ctx context.Context, scope access.Scope, id uuid.UUID, version int, action approval.Action, reason string) (Enrollment, error) {
	return s.change(ctx, scope, id, version, string(action), strings.TrimSpace(reason), func(ctx context.Context, e *Enrollment) error {
		if err := e.decidable(string(action)); err != nil {
			return err
		}
		d, err := s.approvals.Decide(ctx, scope, approval.Subject{Type: SubjectType, ID: e.ID}, action, reason)
		if err != nil {
			return err
		}
		e.State = decided[d.Action]
		return nil
	})
}

// Decided is the approval flow's effect for enrollments, in the decision's
// transaction: a return or rejection sets the state; an approval first checks
// that the subject is still eligible and every budget of the program that
// covers the household's area for the enrollment's year, and is refused when
// it would exceed one.
func (s *Service) Decided(ctx context.Context, d approval.Decision) error {
	e, err := s.store.enrollment(ctx, access.Everywhere(), d.Subject.ID, false)
	if err != nil {
		return err
	}
	if d.Action == approval.Approve {
		if err := s.stillEligible(ctx, e); err != nil {
			return err
		}
		if err := s.withinBudgets(ctx, e); err != nil {
			return err
		}
	}
	return s.store.setState(ctx, e.ID, decided[d.Action])
}

// stillEligible refuses to approve a proposal the facts no longer support
// (a recognition in between).
func (s *Service) stillEligible(ctx context.Context, e Enrollment) error {
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
	return nil
}

// withinBudgets refuses an approval that would exceed a budget covering the
// enrollment's area in its year.
func (s *Service) withinBudgets(ctx context.Context, e Enrollment) error {
	if e.Amount <= 0 {
		return nil
	}
	budgets, err := s.store.lockCoveringBudgets(ctx, e.ProgramCode, e.StartsOn.Year(), e.AreaPath)
	if err != nil {
		return err
	}
	for _, b := range budgets {
		if b.Committed+e.Amount > b.Amount {
			return &apperr.Error{Kind: apperr.Conflict, Code: "budget_exceeded", State: e.State,
				Message: fmt.Sprintf("approving %s would exceed the %d budget of %s for %s: %s budgeted, %s committed, %s left",
					vnd(e.Amount), e.StartsOn.Year(), b.AreaCode, e.ProgramCode, vnd(b.Amount), vnd(b.Committed), vnd(b.Amount-b.Committed))}
		}
	}
	return nil
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
		return Enrollment{}, fieldError("reason", "required", "give the date and say why it ends")
	}
	today := s.today()
	return s.change(ctx, scope, id, version, "end", reason, func(_ context.Context, e *Enrollment) error {
		return e.End(on, today, reason)
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
		reason := "no longer eligible from " + effective.Format(time.DateOnly) + ": " + verdict.ReasonVI
		switch {
		case !verdict.Eligible && e.FlaggedOn == nil:
			_, err = s.change(ctx, access.Everywhere(), e.ID, -1, "flag", verdict.ReasonEN, func(_ context.Context, e *Enrollment) error {
				e.Flag(effective, reason)
				return nil
			})
		case verdict.Eligible && e.FlaggedOn != nil:
			_, err = s.change(ctx, access.Everywhere(), e.ID, -1, "unflag", verdict.ReasonEN, func(_ context.Context, e *Enrollment) error {
				e.Unflag()
				return nil
			})
		}
		if err != nil {
			return err
		}
	}
	return nil
}
