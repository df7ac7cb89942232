// Package complaint handles complaints (khiếu nại) under the Law on
// Complaints: a person's complaint about a decision or act (a
// classification, an enrollment or its refusal, a delivery, a staff
// member's conduct) received by a worker on their behalf with a reference
// number, accepted or not within its limit, settled by a reasoned decision
// within the statutory time (longer for complex cases and in remote areas;
// limits are data), and appealed to the level above. Every step is audited
// and the complaints are part of the household's history.
package complaint

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/platform/apperr"
)

// States of a complaint.
const (
	Received    = "received"
	Accepted    = "accepted"
	NotAccepted = "not_accepted"
	Settled     = "settled"
)

// Complaint is a complaint at one instance.
type Complaint struct {
	ID               uuid.UUID
	Reference        string
	Instance         int
	AppealOf         *uuid.UUID
	HouseholdID      uuid.UUID
	AreaPath         string
	HandlerEdition   string
	HandlerCode      string
	HandlerPath      string
	ComplainantName  string
	Channel          string
	ReceivedOn       time.Time
	KnownOn, FileBy  *time.Time // when the complainant learned of it; the last day to complain
	LateReason       string     // why a complaint filed late was accepted
	SubjectKind      string
	SubjectID        *uuid.UUID
	RespondentUserID *uuid.UUID
	Content          string
	Complex, Remote  bool
	State            string
	AcceptBy         time.Time
	AcceptedOn       *time.Time
	SettleBy         *time.Time
	NotAcceptedWhy   string
	DecidedOn        *time.Time
	Outcome          string
	Reasoning        string
	DecidedBy        *uuid.UUID
	Version          int
	CreatedAt        time.Time
	Steps            []Step
	Appealed         bool // an appeal followed: the first instance is closed to changes
}

// Step is something done to settle a complaint.
type Step struct {
	ID         uuid.UUID
	Kind       string
	OccurredOn time.Time
	Summary    string
	CreatedAt  time.Time
}

// Intake is a complaint as received.
type Intake struct {
	HouseholdID      uuid.UUID
	ComplainantName  string
	Channel          string
	ReceivedOn       *time.Time
	KnownOn          *time.Time // when the complainant learned of the decision or act, when known
	SubjectKind      string
	SubjectID        *uuid.UUID
	RespondentUserID *uuid.UUID
	Content          string
}

var (
	channels     = []string{"in_person", "phone", "letter", "hotline", "client"}
	subjectKinds = []string{"classification", "enrollment", "enrollment_refusal", "delivery", "staff_conduct", "other"}
	outcomes     = []string{"upheld", "partly_upheld", "rejected"}
	stepKinds    = []string{"meeting", "verification", "evidence", "note"}
)

func oneOf(v string, allowed []string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

// check tidies an intake and finds every problem of its own fields.
func (in *Intake) check(today time.Time) error {
	var fe apperr.FieldList
	in.ComplainantName, in.Content = strings.TrimSpace(in.ComplainantName), strings.TrimSpace(in.Content)
	if in.HouseholdID == uuid.Nil {
		fe.Add("household_id", "required", "name the household of the complainant")
	}
	if in.ComplainantName == "" || len(in.ComplainantName) > 200 {
		fe.Add("complainant_name", "required", "is required (at most 200 characters)")
	}
	if !oneOf(in.Channel, channels) {
		fe.Add("channel", "invalid", "must be in_person, phone, letter, hotline or client")
	}
	if !oneOf(in.SubjectKind, subjectKinds) {
		fe.Add("subject_kind", "invalid", "must be classification, enrollment, enrollment_refusal, delivery, staff_conduct or other")
	}
	if in.SubjectKind == "staff_conduct" && in.RespondentUserID == nil {
		fe.Add("respondent_user_id", "required", "a complaint about a staff member's conduct names them")
	}
	if in.Content == "" || len(in.Content) > 10000 {
		fe.Add("content", "required", "say what the complaint is about (at most 10,000 characters)")
	}
	switch {
	case in.ReceivedOn == nil:
		in.ReceivedOn = &today
	case in.ReceivedOn.After(today):
		fe.Add("received_on", "future", "must not be in the future")
	case in.ReceivedOn.Before(today.AddDate(-1, 0, 0)):
		fe.Add("received_on", "invalid", "a complaint received more than a year ago is recorded as history, not received now")
	}
	if in.KnownOn != nil && in.ReceivedOn != nil && in.KnownOn.After(*in.ReceivedOn) {
		fe.Add("known_on", "invalid", "must not be after the complaint was received")
	}
	return fe.Err()
}

// FiledLate is whether the complaint came after its time to complain.
func (c Complaint) FiledLate() bool { return c.FileBy != nil && c.ReceivedOn.After(*c.FileBy) }

// accept records that the body accepted the complaint (within or after its
// limit) and sets the time to settle it.
func (c *Complaint) accept(on time.Time, complex bool, settleDays int, lateReason string) error {
	if c.State != Received {
		return errState(c.State, "accepted")
	}
	if c.FiledLate() && strings.TrimSpace(lateReason) == "" {
		return apperr.Fields([]apperr.FieldError{{Field: "late_reason", Code: "filing_period_passed",
			Message: fmt.Sprintf("the complaint came after its time to complain (%s): accept it only with the reason the time did not run, or refuse it", c.FileBy.Format(time.DateOnly))}})
	}
	if len(lateReason) > 2000 {
		return apperr.Fields([]apperr.FieldError{{Field: "late_reason", Code: "too_long", Message: "must be at most 2,000 characters"}})
	}
	if c.FiledLate() {
		c.LateReason = strings.TrimSpace(lateReason)
	}
	if on.Before(c.ReceivedOn) {
		return apperr.Fields([]apperr.FieldError{{Field: "accepted_on", Code: "invalid", Message: "must not be before the complaint was received"}})
	}
	by := on.AddDate(0, 0, settleDays)
	c.State, c.AcceptedOn, c.Complex, c.SettleBy = Accepted, &on, complex, &by
	return nil
}

// refuse records that the complaint was not accepted, and why.
func (c *Complaint) refuse(reason string) error {
	if c.State != Received {
		return errState(c.State, "refused")
	}
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 2000 {
		return apperr.Fields([]apperr.FieldError{{Field: "reason", Code: "required", Message: "say why it is not accepted (at most 2,000 characters)"}})
	}
	c.State, c.NotAcceptedWhy = NotAccepted, reason
	return nil
}

// decide records the reasoned decision. Nobody decides a complaint about
// their own decision or act.
func (c *Complaint) decide(by uuid.UUID, on time.Time, outcome, reasoning string) error {
	if c.State != Accepted {
		return errState(c.State, "decided")
	}
	if c.RespondentUserID != nil && *c.RespondentUserID == by {
		return apperr.New(apperr.Forbidden, "self_decision", "the complaint is about your own decision or act: another official must settle it")
	}
	var fe apperr.FieldList
	reasoning = strings.TrimSpace(reasoning)
	if !oneOf(outcome, outcomes) {
		fe.Add("outcome", "invalid", "must be upheld, partly_upheld or rejected")
	}
	if reasoning == "" || len(reasoning) > 20000 {
		fe.Add("reasoning", "required", "a decision gives its reasons (at most 20,000 characters)")
	}
	if on.Before(*c.AcceptedOn) {
		fe.Add("decided_on", "invalid", "must not be before the complaint was accepted")
	}
	if err := fe.Err(); err != nil {
		return err
	}
	c.State, c.DecidedOn, c.Outcome, c.Reasoning, c.DecidedBy = Settled, &on, outcome, reasoning, &by
	return nil
}

// appealable reports whether an appeal received on a day may follow this
// complaint: within the appeal's limit of its decision, or of the end of
// the time it had to be accepted or settled and was not.
func (c *Complaint) appealable(on time.Time, appealDays int) error {
	var from time.Time // the day the appeal's limit runs from
	switch {
	case c.Instance != 1:
		return apperr.New(apperr.Conflict, "complaint_final", "a second-instance decision is final: the complainant may go to court")
	case c.Appealed:
		return errState("appealed", "appealed again")
	case c.State == Settled:
		from = *c.DecidedOn
	case c.State == Accepted && c.SettleBy.Before(on):
		from = *c.SettleBy
	case c.State == Received && c.AcceptBy.Before(on):
		from = c.AcceptBy
	default:
		return errState(c.State, "appealed (it is neither settled nor overdue)")
	}
	if on.Before(from) || on.Before(c.ReceivedOn) {
		return apperr.Fields([]apperr.FieldError{{Field: "received_on", Code: "invalid", Message: "an appeal follows the first decision or its time"}})
	}
	if on.After(from.AddDate(0, 0, appealDays)) {
		return apperr.Fields([]apperr.FieldError{{Field: "received_on", Code: "late",
			Message: "an appeal comes within " + strconv.Itoa(appealDays) + " days of the first decision, or of the end of its time"}})
	}
	return nil
}
