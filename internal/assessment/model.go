// Package assessment holds the poverty standards (as data), household
// assessments and their classification (a pure function), and the annual
// review campaign (rà soát) that turns assessments into recognized lists.
package assessment

import (
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/platform/apperr"
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
	AreaEdition string // of the list of units, with AreaCode
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
	// HistoryOnly: recorded for the history of classifications (the
	// 2016-2020 standard, whose rule the assessments do not implement); no
	// assessment is made under it.
	HistoryOnly bool
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
	CommuneEdition string // of the list of units
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

// ---- transitions ----
//
// The methods below are the review's state machine and an assessment's
// changes: each checks that the current state allows the step (a typed
// error when it does not: 409 review_state with the state, or another
// conflict) and applies it to the value; the store writes it.

// Revise checks that the assessment may still be changed: only a draft may.
func (a *Assessment) Revise() error {
	if a.State != Draft {
		return errNotDraft
	}
	return nil
}

// Vote applies the village meeting's vote: at least half of those attending
// must agree, or the assessment goes back to surveying, a draft again.
func (a *Assessment) Vote(agree, attendees int) {
	a.VotesAgree, a.VotesAttendees = &agree, &attendees
	a.State, a.SentBack = Agreed, false
	if 2*agree < attendees {
		a.State, a.SentBack = Draft, true
	}
}

// TakeAssessments checks that the review takes new assessments.
func (r Review) TakeAssessments() error {
	if r.State != StateOpen && r.State != StateSurveying {
		return wrongState("take new assessments", r.State)
	}
	return nil
}

// AllowChanges checks that the review's assessments may still be changed.
func (r Review) AllowChanges() error {
	if r.State != StateSurveying && r.State != StateOpen {
		return wrongState("change assessments", r.State)
	}
	return nil
}

// Vote is the village meeting's vote on one household's result.
type Vote struct {
	HouseholdID uuid.UUID
	Agree       int
}

// Meeting is the village meeting's record.
type Meeting struct {
	Date      time.Time
	Chair     string
	Attendees int
	Votes     []Vote
}

// RecordMeeting records the village meeting of a periodic review that is
// surveying, on its draft assessments: every draft needs one vote, and only
// drafts take one. It answers the drafts as voted; when any went back to
// surveying the review stays surveying, else it moves on to posting.
func (r *Review) RecordMeeting(m Meeting, drafts []Assessment) ([]Assessment, error) {
	if r.Kind != Periodic {
		return nil, apperr.New(apperr.Conflict, "no_meeting_for_regular", "a regular review has no village meeting")
	}
	if r.State != StateSurveying {
		return nil, wrongState("record a village meeting", r.State)
	}
	if len(drafts) == 0 {
		return nil, apperr.New(apperr.Conflict, "nothing_to_vote", "no assessment of this review awaits the meeting")
	}
	votes := map[uuid.UUID]int{}
	var fe apperr.FieldList
	for i, v := range m.Votes {
		if _, dup := votes[v.HouseholdID]; dup {
			fe.Add(fmt.Sprintf("votes[%d].household_id", i), "duplicate", "this household is voted twice")
		}
		votes[v.HouseholdID] = v.Agree
	}
	pending := map[uuid.UUID]bool{}
	var missing []string
	for _, a := range drafts {
		pending[a.HouseholdID] = true
		if _, ok := votes[a.HouseholdID]; !ok {
			missing = append(missing, a.HouseholdID.String())
		}
	}
	for i, v := range m.Votes {
		if !pending[v.HouseholdID] {
			fe.Add(fmt.Sprintf("votes[%d].household_id", i), "not_pending", "this household has no draft assessment in the review")
		}
	}
	if len(missing) > 0 {
		fe.Add("votes", "missing", "every household awaiting the meeting needs a vote; missing: %s", strings.Join(missing, ", "))
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	voted := make([]Assessment, len(drafts))
	r.State = StateMeetingRecorded
	for i, a := range drafts {
		a.Vote(votes[a.HouseholdID], m.Attendees)
		if a.SentBack {
			r.State = StateSurveying
		}
		voted[i] = a
	}
	date, attendees := m.Date, m.Attendees
	r.MeetingDate, r.MeetingChair, r.Attendees = &date, m.Chair, &attendees
	return voted, nil
}

// Post records the public posting of the result list, after the meeting.
func (r *Review) Post(start, end time.Time) error {
	if r.State != StateMeetingRecorded {
		return wrongState("post its list", r.State)
	}
	if r.MeetingDate != nil && start.Before(*r.MeetingDate) {
		return apperr.Fields([]apperr.FieldError{{Field: "start_date", Code: "invalid", Message: "the list is posted after the village meeting"}})
	}
	r.State, r.PostingStart, r.PostingEnd = StatePosted, &start, &end
	return nil
}

// TakeObjection checks that the review takes objections: only a posted list does.
func (r Review) TakeObjection() error {
	if r.State != StatePosted {
		return wrongState("take objections (only a posted list does)", r.State)
	}
	return nil
}

// Objection outcomes.
const (
	Dismissed = "dismissed"
	Upheld    = "upheld"
)

// ResolveObjection resolves an objection to the posted list (nil: there is
// no such objection in the review). An upheld objection about a household
// sends the review back to surveying: the corrected result goes to a meeting
// and is posted again.
func (r *Review) ResolveObjection(o *Objection, outcome, resolution string) error {
	if r.State != StatePosted {
		return wrongState("resolve objections", r.State)
	}
	if o == nil {
		return errObjectionNotFound
	}
	if o.Outcome != "" {
		return apperr.New(apperr.Conflict, "objection_resolved", "this objection is already resolved")
	}
	o.Outcome, o.Resolution = outcome, resolution
	if outcome == Upheld && o.HouseholdID != nil {
		r.State = StateSurveying
	}
	return nil
}

// agreesOnSubmit reports whether submitting agrees the review's drafts: a
// regular review decides the household's request on its assessment, with no
// meeting.
func (r Review) agreesOnSubmit() bool { return r.Kind == Regular && r.State == StateSurveying }

// Tally is what a submission checks: objections not resolved, assessments
// not agreed (of which drafts), assessments in all.
type Tally struct{ Open, NotAgreed, Drafts, Total int }

// Submit sends the review for recognition: a periodic one after its posting
// ended (before today) with every objection resolved; a regular one once its
// household is assessed (its draft is agreed on submission). A returned
// review may be submitted again. Every assessment must be agreed.
func (r *Review) Submit(today time.Time, t Tally) error {
	switch {
	case r.State == StateReturned:
	case r.Kind == Periodic && r.State == StatePosted:
		if r.PostingEnd != nil && !r.PostingEnd.Before(today) {
			return apperr.New(apperr.Conflict, "posting_not_over", "the list is posted until %s: submit after that", r.PostingEnd.Format(time.DateOnly))
		}
	case r.agreesOnSubmit():
		t.NotAgreed -= t.Drafts
	default:
		return wrongState("be submitted", r.State)
	}
	if t.Open > 0 {
		return apperr.New(apperr.Conflict, "objections_open", "%d objection(s) are not resolved yet", t.Open)
	}
	if t.Total == 0 || t.NotAgreed > 0 {
		return apperr.New(apperr.Conflict, "assessments_not_agreed", "every household of the review must be assessed and agreed first")
	}
	r.State, r.ReturnReason = StateSubmitted, ""
	return nil
}

// Reopen takes a returned review back to surveying to correct it, to go to
// a new meeting and posting.
func (r *Review) Reopen() error {
	if r.State != StateReturned {
		return wrongState("be reopened", r.State)
	}
	r.State, r.PostingStart, r.PostingEnd = StateSurveying, nil, nil
	return nil
}

// DecisionInput is the recognition decision of a review.
type DecisionInput struct {
	Number string
	Date   time.Time
	Signer string
}

// Recognize records the recognition decision of a submitted review.
func (r *Review) Recognize(d DecisionInput) error {
	if r.State != StateSubmitted {
		return wrongState("be recognized", r.State)
	}
	date := d.Date
	r.State, r.DecisionNumber, r.DecisionDate, r.DecisionSigner = StateRecognized, d.Number, &date, d.Signer
	return nil
}

// Return sends a submitted review back to the commune with the reasons.
func (r *Review) Return(reason string) error {
	if r.State != StateSubmitted {
		return wrongState("be returned", r.State)
	}
	r.State, r.ReturnReason = StateReturned, reason
	return nil
}
