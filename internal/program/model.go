// Package program holds the support programs: the catalog with eligibility
// rules and benefit parameters as data, campaigns and budgets, enrollments
// decided through the approval flow, and the records of support delivered.
package program

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/platform/apperr"
)

// Kinds of support; each has its own delivery record.
const (
	KindHealthInsurance    = "health_insurance"
	KindTuition            = "tuition"
	KindStudyCost          = "study_cost"
	KindHousing            = "housing"
	KindVocationalTraining = "vocational_training"
	KindLoan               = "loan"
	KindElectricity        = "electricity"
	KindLegalAid           = "legal_aid"
	KindGift               = "gift"
	KindRelief             = "relief"
)

// Kinds lists every kind of support.
var Kinds = []string{KindHealthInsurance, KindTuition, KindStudyCost, KindHousing, KindVocationalTraining, KindLoan,
	KindElectricity, KindLegalAid, KindGift, KindRelief}

// Program is a support program.
type Program struct {
	Code        string
	NameVI      string
	NameEN      string
	LegalBasis  string
	Kind        string
	Level       string // household, member
	AreaCode    string // empty for a national program
	AreaEdition string // of the list of units, with AreaCode
	AreaPath    string
	Rule        []Clause
	Params      []Params
	Amount      string // expression: what one enrollment commits of the budget
	Funding     []string
	Status      string // active, suspended, closed
	Version     int
	UpdatedAt   time.Time
}

// Params are a program's benefit parameters for a period.
type Params struct {
	From     string            `json:"from"`
	To       string            `json:"to,omitempty"`
	Values   map[string]any    `json:"values,omitempty"`
	Computed map[string]string `json:"computed,omitempty"` // name -> expression over the facts
	// Rule, when given, is who is eligible in this period, in place of the
	// program's rule: the law changes who, not only how much.
	Rule []Clause `json:"rule,omitempty"`
}

// inForce is the index of the params entry in force on a date (YYYY-MM-DD):
// the latest to start among those covering it; -1 when none does.
func (p Program) inForce(date string) int {
	best := -1
	for i, e := range p.Params {
		if e.From <= date && (e.To == "" || date <= e.To) && (best < 0 || e.From > p.Params[best].From) {
			best = i
		}
	}
	return best
}

// Campaign is a gift or relief campaign.
type Campaign struct {
	ID            uuid.UUID
	ProgramCode   string
	Name          string
	AreaCode      string
	AreaEdition   string
	AreaPath      string
	StartsOn      time.Time
	EndsOn        time.Time
	PackageAmount int64
	Version       int
}

// Budget is what an area may commit to a program in a year, and what its
// approved enrollments have committed.
type Budget struct {
	ProgramCode string
	AreaCode    string
	AreaEdition string
	AreaPath    string
	Year        int
	Amount      int64
	Committed   int64
	Version     int
}

// Enrollment states.
const (
	Proposed = "proposed"
	Returned = "returned"
	Approved = "approved"
	Rejected = "rejected"
	Ended    = "ended"
)

// Enrollment is a household or a member in a program.
type Enrollment struct {
	ID          uuid.UUID
	ProgramCode string
	HouseholdID uuid.UUID
	MemberID    *uuid.UUID
	AreaPath    string
	State       string
	StartsOn    time.Time
	EndsOn      *time.Time
	Amount      int64
	Benefit     map[string]any
	Reason      string // why eligible, in words, when proposed
	Evidence    string
	FlaggedOn   *time.Time // the date the rule stopped applying, after a classification change
	FlagReason  string
	EndReason   string
	EndedOn     *time.Time
	Version     int
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Delivery is one record of support delivered.
type Delivery struct {
	ID           uuid.UUID
	EnrollmentID uuid.UUID
	Kind         string
	AreaPath     string
	OccurredOn   time.Time
	Amount       int64
	ExpiresOn    *time.Time
	CampaignID   *uuid.UUID
	Details      map[string]any
	CreatedAt    time.Time
}

var programCode = regexp.MustCompile(`^[a-z][a-z0-9_]{1,40}$`)

// validateNew checks what only a new program sets (its code, kind and level)
// and then what every program must hold; a missing status is active.
func (p *Program) validateNew() error {
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
	p.validate(&fe)
	return fe.Err()
}

// validate trims the names and checks the fields every program must hold; an
// empty amount is 0.
func (p *Program) validate(fe *apperr.FieldList) {
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

// ProgramPatch changes a program; nil leaves a field alone.
type ProgramPatch struct {
	NameVI, NameEN, LegalBasis, Amount, Status *string
	Rule                                       []Clause
	Params                                     []Params
	Funding                                    []string
}

// Apply changes the program by the patch and checks the result (the
// expressions are compiled by the service).
func (p *Program) Apply(patch ProgramPatch) error {
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
	p.validate(&fe)
	return fe.Err()
}

// validate trims the campaign's name and checks its dates and package value.
func (c *Campaign) validate() error {
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

// CampaignPatch changes a campaign; nil leaves a field alone.
type CampaignPatch struct {
	Name          *string
	EndsOn        *time.Time
	PackageAmount *int64
}

// Apply changes the campaign by the patch and checks the result.
func (c *Campaign) Apply(p CampaignPatch) error {
	if p.Name != nil {
		c.Name = *p.Name
	}
	if p.EndsOn != nil {
		c.EndsOn = *p.EndsOn
	}
	if p.PackageAmount != nil {
		c.PackageAmount = *p.PackageAmount
	}
	return c.validate()
}

// covers reports whether a campaign's area holds an area path.
func (c Campaign) covers(areaPath string) bool {
	return areaPath == c.AreaPath || strings.HasPrefix(areaPath, c.AreaPath+".")
}

// checkBudget checks a budget's year and amount.
func checkBudget(year int, amount int64) error {
	var fe apperr.FieldList
	if year < 2000 || year > 2100 {
		fe.Add("year", "invalid", "must be from 2000 to 2100")
	}
	if amount < 0 || amount > 10_000_000_000_000 {
		fe.Add("amount", "invalid", "must be whole VND from 0 to 10,000,000,000,000")
	}
	return fe.Err()
}

// Resubmit puts a returned proposal to a decision again, with more evidence
// (trimmed; empty adds none).
func (e *Enrollment) Resubmit(evidence string) error {
	if e.State != Returned {
		return wrongState("be resubmitted", e.State)
	}
	if evidence != "" {
		e.Evidence = strings.TrimSpace(e.Evidence + "\n" + evidence)
	}
	e.State = Proposed
	return nil
}

// decidable refuses a decision on anything but a proposal.
func (e Enrollment) decidable(action string) error {
	if e.State != Proposed {
		return wrongState(action+" it", e.State)
	}
	return nil
}

// End closes an approved enrollment on a date from its start to today, with
// the reason; a flag no longer matters then.
func (e *Enrollment) End(on, today time.Time, reason string) error {
	if e.State != Approved {
		return wrongState("be ended", e.State)
	}
	if on.Before(e.StartsOn) || on.After(today) {
		return fieldError("date", "invalid", "must fall from the enrollment's start to today (a later end is set as ends_on when proposing)")
	}
	e.close(on, reason)
	return nil
}

// Expire ends an approved enrollment whose end date has passed, as of that date.
func (e *Enrollment) Expire() error {
	if e.State != Approved || e.EndsOn == nil {
		return wrongState("expire", e.State)
	}
	e.close(*e.EndsOn, "the end date passed")
	return nil
}

func (e *Enrollment) close(on time.Time, reason string) {
	e.State, e.EndedOn, e.EndReason = Ended, &on, reason
	e.FlaggedOn, e.FlagReason = nil, ""
}

// Flag marks an enrollment whose rule stopped applying on a date.
func (e *Enrollment) Flag(on time.Time, reason string) {
	e.FlaggedOn, e.FlagReason = &on, reason
}

// Unflag clears a flag that no longer holds.
func (e *Enrollment) Unflag() {
	e.FlaggedOn, e.FlagReason = nil, ""
}
