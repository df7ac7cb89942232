// Package program holds the support programs: the catalog with eligibility
// rules and benefit parameters as data, campaigns and budgets, enrollments
// decided through the approval flow, and the records of support delivered.
package program

import (
	"time"

	"github.com/google/uuid"
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
	Code       string
	NameVI     string
	NameEN     string
	LegalBasis string
	Kind       string
	Level      string // household, member
	AreaCode   string // empty for a national program
	AreaPath   string
	Rule       []Clause
	Params     []Params
	Amount     string // expression: what one enrollment commits of the budget
	Funding    []string
	Status     string // active, suspended, closed
	Version    int
	UpdatedAt  time.Time
}

// Params are a program's benefit parameters for a period.
type Params struct {
	From     string            `json:"from"`
	To       string            `json:"to,omitempty"`
	Values   map[string]any    `json:"values,omitempty"`
	Computed map[string]string `json:"computed,omitempty"` // name -> expression over the facts
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
