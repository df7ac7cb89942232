// Package assessment holds the poverty standards (as data), household
// assessments and their classification (a pure function), and the annual
// review campaign (rà soát) that turns assessments into recognized lists.
package assessment

import (
	"time"

	"github.com/google/uuid"
)

// Classifications a household can have.
const (
	None     = "none"
	Poor     = "poor"
	NearPoor = "near_poor"
	Average  = "average" // average living standard (hộ có mức sống trung bình)
)

// Standard is a multidimensional poverty standard: national, or a province's
// higher local one.
type Standard struct {
	Code        string
	Name        string
	LegalSource string
	ValidFrom   time.Time // dates, inclusive
	ValidTo     time.Time
	AreaCode    string // empty for the national standard
	AreaPath    string
	LineRural   int64 // VND per person per month
	LineUrban   int64
	// AverageMax* is the upper edge of the average-living-standard band,
	// which starts just above the line.
	AverageMaxRural     int64
	AverageMaxUrban     int64
	PoorMinDeprivations int
	Notes               string
	Indicators          []Indicator
}

// Line is the income line for an area type.
func (s Standard) Line(areaType string) int64 {
	if areaType == "urban" {
		return s.LineUrban
	}
	return s.LineRural
}

// AverageMax is the top of the average band for an area type.
func (s Standard) AverageMax(areaType string) int64 {
	if areaType == "urban" {
		return s.AverageMaxUrban
	}
	return s.AverageMaxRural
}

// InForce reports whether the standard applies on date (a calendar date).
func (s Standard) InForce(date time.Time) bool {
	return !date.Before(s.ValidFrom) && !date.After(s.ValidTo)
}

// Indicator reports whether code is one of the standard's indicators.
func (s Standard) Indicator(code string) (Indicator, bool) {
	for _, i := range s.Indicators {
		if i.Code == code {
			return i, true
		}
	}
	return Indicator{}, false
}

// Indicator is one deprivation indicator of a standard.
type Indicator struct {
	Code      string
	Position  int
	Dimension string
	NameVI    string
	NameEN    string
	Criterion string // how it is judged
	Prefill   string // the registry rule that judges it, or empty
}

// Answer is a household's answer to one indicator.
type Answer struct {
	Indicator string   `json:"indicator"`
	Deprived  bool     `json:"deprived"`
	Answer    string   `json:"answer,omitempty"` // what the worker observed
	Source    string   `json:"source"`           // registry, worker, override
	Prefill   *Prefill `json:"prefill,omitempty"`
	Note      string   `json:"note,omitempty"` // why the worker overrode the registry
}

// Answer sources.
const (
	SourceRegistry = "registry" // the registry's prefill, kept
	SourceWorker   = "worker"   // answered by the worker (no prefill)
	SourceOverride = "override" // the worker overrode the prefill, with a note
)

// Prefill is what the registry says about an indicator.
type Prefill struct {
	Rule     string      `json:"rule"`
	Deprived bool        `json:"deprived"`
	Reason   string      `json:"reason"`
	Members  []uuid.UUID `json:"members,omitempty"` // the members it is about
}

// Assessment is one assessment of a household in a review.
type Assessment struct {
	ID              uuid.UUID
	HouseholdID     uuid.UUID
	ReviewID        uuid.UUID
	AreaPath        string
	ReferenceDate   time.Time
	StandardCode    string
	AreaType        string
	IncomePerPerson int64
	Answers         []Answer
	Result          Result
	State           string // draft, agreed, recognized
	VotesAgree      *int
	VotesAttendees  *int
	SentBack        bool // a meeting or an upheld objection sent it back to surveying
	Note            string
	Version         int
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Assessment states.
const (
	Draft      = "draft"
	Agreed     = "agreed"
	Recognized = "recognized"
)

// Review is a review campaign of one commune.
type Review struct {
	ID             uuid.UUID
	Kind           string // periodic, regular
	CommuneCode    string
	AreaPath       string
	Year           int
	ReferenceDate  time.Time
	HouseholdID    *uuid.UUID // the requesting household of a regular review
	RequestedOn    *time.Time
	DecideBy       *time.Time
	State          string
	MeetingDate    *time.Time
	MeetingChair   string
	Attendees      *int
	PostingStart   *time.Time
	PostingEnd     *time.Time
	DecisionNumber string
	DecisionDate   *time.Time
	DecisionSigner string
	ReturnReason   string
	Note           string
	Version        int
	CreatedAt      time.Time
	UpdatedAt      time.Time
	Counts         map[string]int // assessments by state
}

// Review kinds and states.
const (
	Periodic = "periodic"
	Regular  = "regular"

	StateOpen            = "open"
	StateSurveying       = "surveying"
	StateMeetingRecorded = "meeting_recorded"
	StatePosted          = "posted"
	StateSubmitted       = "submitted"
	StateReturned        = "returned"
	StateRecognized      = "recognized"
)

// Objection is an objection raised while the list was posted.
type Objection struct {
	ID          uuid.UUID
	ReviewID    uuid.UUID
	HouseholdID *uuid.UUID
	RaisedBy    string
	RaisedOn    time.Time
	Content     string
	Outcome     string // dismissed, upheld; empty while open
	Resolution  string
	ResolvedAt  *time.Time
	CreatedAt   time.Time
}

// Lists a recognition derives.
const (
	ListNewlyPoor          = "newly_poor"
	ListNewlyNearPoor      = "newly_near_poor"
	ListEscapedPoverty     = "escaped_poverty"
	ListEscapedNearPoverty = "escaped_near_poverty"
	ListReEnteredPoverty   = "re_entered_poverty"
)

// ListKinds are the recognized lists, in the order of the official forms.
var ListKinds = []string{ListNewlyPoor, ListNewlyNearPoor, ListEscapedPoverty, ListEscapedNearPoverty, ListReEnteredPoverty}

// ListEntry is a household on a recognized list.
type ListEntry struct {
	HouseholdID    uuid.UUID
	HouseholdCode  string
	Village        string
	HeadName       string
	From, To       string
	EffectiveDate  time.Time
	DecisionNumber string
	Income         int64
	Deprivations   int
}
