package assessment

import (
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/household"
)

// Prefill rules: indicators the registry already answers. A standard names
// the rule of each such indicator (poverty_indicators.prefill).
const (
	RuleHealthInsurance = "health_insurance"
	RuleChildSchooling  = "child_schooling"
	RuleDependents      = "dependents"
)

// prefill judges an indicator from the registry's record of the household as
// of the reference date; false when the rule is unknown.
func prefill(rule string, h household.Household, ref time.Time) (Prefill, bool) {
	// The household as it was on the reference date: born by then, and not
	// yet gone (a death or a move after it does not count).
	var present []household.Member
	for _, m := range h.Members {
		born := m.BirthDate == nil && m.BirthYear <= ref.Year() || m.BirthDate != nil && !m.BirthDate.After(ref)
		there := m.Status == "present" || (m.Status == "deceased" || m.Status == "moved_out") && m.StatusDate != nil && m.StatusDate.After(ref)
		if born && there {
			present = append(present, m)
		}
	}
	var hits []uuid.UUID
	switch rule {
	case RuleHealthInsurance:
		for _, m := range present {
			if m.AgeOn(ref) < 6 {
				continue
			}
			if m.InsuranceCard == "" || m.InsuranceExpiry != nil && m.InsuranceExpiry.Before(ref) {
				hits = append(hits, m.ID)
			}
		}
		p := Prefill{Rule: rule, Deprived: len(hits) > 0, Members: hits,
			Reason: "every member aged 6 or over has a health insurance card valid on the reference date"}
		if p.Deprived {
			p.Reason = fmt.Sprintf("%d member(s) aged 6 or over have no health insurance card valid on the reference date", len(hits))
		}
		return p, true
	case RuleChildSchooling:
		for _, m := range present {
			if a := m.AgeOn(ref); a >= 3 && a < 16 && !m.Student {
				hits = append(hits, m.ID)
			}
		}
		p := Prefill{Rule: rule, Deprived: len(hits) > 0, Members: hits,
			Reason: "every child aged 3 to under 16 is recorded as attending school"}
		if p.Deprived {
			p.Reason = fmt.Sprintf("%d child(ren) aged 3 to under 16 not recorded as attending school", len(hits))
		}
		return p, true
	case RuleDependents:
		// Dependents: children under 16, people aged 60 or over and people
		// with a disability (the registry does not record who draws a social
		// allowance, so the worker overrides when that differs).
		for _, m := range present {
			if a := m.AgeOn(ref); a < 16 || a >= 60 || m.Disability {
				hits = append(hits, m.ID)
			}
		}
		p := Prefill{Rule: rule, Deprived: 2*len(hits) > len(present), Members: hits,
			Reason: fmt.Sprintf("%d of %d members are dependents (under 16, 60 or over, or disabled)", len(hits), len(present))}
		return p, true
	}
	return Prefill{}, false
}
