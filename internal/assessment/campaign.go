package assessment

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/approval"
	"github.com/ansinh/ansinh/internal/platform/apperr"
)

// The review campaign's actions: the village meeting, the posting and its
// objections, submission, and the district's decision (recognition or
// return). Each is one transition (see transition); the rules of the states
// are the Review's methods.

// RecordMeeting records the village meeting on the households not yet
// agreed. A household with under half of those attending agreeing goes back
// to surveying; when every household is agreed the review moves on to posting.
func (s *Service) RecordMeeting(ctx context.Context, scope access.Scope, id uuid.UUID, version int, m Meeting) (ReviewDetail, error) {
	var fe apperr.FieldList
	m.Chair = strings.TrimSpace(m.Chair)
	if m.Date.IsZero() || m.Date.After(s.today()) {
		fe.Add("date", "invalid", "is required and must not be in the future")
	}
	if m.Chair == "" || len(m.Chair) > 200 {
		fe.Add("chair", "required", "name who chaired the meeting (the village head)")
	}
	if m.Attendees < 1 || m.Attendees > 100_000 {
		fe.Add("attendees", "invalid", "must be the number of people attending")
	}
	for i, v := range m.Votes {
		if v.Agree < 0 || v.Agree > m.Attendees {
			fe.Add(fmt.Sprintf("votes[%d].agree", i), "invalid", "must be from 0 to the number attending")
		}
	}
	if err := fe.Err(); err != nil {
		return ReviewDetail{}, err
	}
	var drafts, voted []Assessment
	return s.transition(ctx, scope, id, version, "record_meeting", "", func(ctx context.Context, r *Review) error {
		drafts = nil
		if r.Kind == Periodic && r.State == StateSurveying {
			var err error
			if drafts, err = s.reviewAssessments(ctx, r.ID, Draft); err != nil {
				return err
			}
		}
		var err error
		voted, err = r.RecordMeeting(m, drafts)
		return err
	}, func(ctx context.Context, _ Review) error {
		for i, a := range voted {
			if err := s.store.recordVote(ctx, a); err != nil {
				return err
			}
			if err := s.moved(ctx, drafts[i], "vote"); err != nil {
				return err
			}
		}
		return nil
	})
}

// Post records the public posting of the result list.
func (s *Service) Post(ctx context.Context, scope access.Scope, id uuid.UUID, version int, start, end time.Time) (ReviewDetail, error) {
	if start.IsZero() || end.IsZero() || end.Before(start) {
		return ReviewDetail{}, apperr.Fields([]apperr.FieldError{{Field: "end_date", Code: "invalid", Message: "give start_date and end_date, in that order"}})
	}
	return s.transition(ctx, scope, id, version, "post", "", func(_ context.Context, r *Review) error {
		return r.Post(start, end)
	}, nil)
}

// ObjectionInput is an objection to the posted list.
type ObjectionInput struct {
	HouseholdID *uuid.UUID
	RaisedBy    string
	RaisedOn    time.Time
	Content     string
}

// AddObjection records an objection raised while the list is posted.
func (s *Service) AddObjection(ctx context.Context, scope access.Scope, id uuid.UUID, version int, in ObjectionInput) (ReviewDetail, error) {
	var fe apperr.FieldList
	in.RaisedBy, in.Content = strings.TrimSpace(in.RaisedBy), strings.TrimSpace(in.Content)
	if in.RaisedBy == "" || len(in.RaisedBy) > 200 {
		fe.Add("raised_by", "required", "who raised it (at most 200 characters)")
	}
	if in.Content == "" || len(in.Content) > 2000 {
		fe.Add("content", "required", "what the objection says (at most 2000 characters)")
	}
	if in.RaisedOn.IsZero() || in.RaisedOn.After(s.today()) {
		fe.Add("raised_on", "invalid", "is required and must not be in the future")
	}
	if err := fe.Err(); err != nil {
		return ReviewDetail{}, err
	}
	return s.transition(ctx, scope, id, version, "add_objection", "", func(ctx context.Context, r *Review) error {
		if err := r.TakeObjection(); err != nil {
			return err
		}
		if in.HouseholdID == nil {
			return nil
		}
		ok, err := s.store.inReview(ctx, r.ID, *in.HouseholdID)
		if err != nil {
			return err
		}
		if !ok {
			return apperr.Fields([]apperr.FieldError{{Field: "household_id", Code: "not_in_review", Message: "this household is not in the review"}})
		}
		return nil
	}, func(ctx context.Context, r Review) error {
		return s.store.insertObjection(ctx, Objection{ID: uuid.Must(uuid.NewV7()), ReviewID: r.ID, HouseholdID: in.HouseholdID,
			RaisedBy: in.RaisedBy, RaisedOn: in.RaisedOn, Content: in.Content}, access.ActorID(ctx))
	})
}

// ResolveObjection records how an objection was resolved. An upheld
// objection about a household sends its assessment back to surveying, and
// the review with it: the corrected result goes to a meeting and is posted again.
func (s *Service) ResolveObjection(ctx context.Context, scope access.Scope, id uuid.UUID, version int, objectionID uuid.UUID, outcome, resolution string) (ReviewDetail, error) {
	resolution = strings.TrimSpace(resolution)
	var fe apperr.FieldList
	if outcome != Dismissed && outcome != Upheld {
		fe.Add("outcome", "invalid", "must be dismissed or upheld")
	}
	if resolution == "" || len(resolution) > 2000 {
		fe.Add("resolution", "required", "say how it was resolved (at most 2000 characters)")
	}
	if err := fe.Err(); err != nil {
		return ReviewDetail{}, err
	}
	var o *Objection
	return s.transition(ctx, scope, id, version, "resolve_objection", resolution, func(ctx context.Context, r *Review) error {
		o = nil
		if r.State == StatePosted {
			found, err := s.store.lockObjection(ctx, r.ID, objectionID)
			if err != nil && !apperr.Is(err, apperr.NotFound) {
				return err
			}
			if err == nil {
				o = &found
			}
		}
		return r.ResolveObjection(o, outcome, resolution)
	}, func(ctx context.Context, r Review) error {
		if err := s.store.resolveObjection(ctx, o.ID, o.Outcome, o.Resolution, access.ActorID(ctx)); err != nil {
			return err
		}
		if o.Outcome != Upheld || o.HouseholdID == nil {
			return nil
		}
		all, err := s.reviewAssessments(ctx, r.ID, "")
		if err != nil {
			return err
		}
		for _, a := range all {
			if a.HouseholdID == *o.HouseholdID {
				if err := s.sendBack(ctx, a); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// sendBack makes an assessment a draft again, back to surveying.
func (s *Service) sendBack(ctx context.Context, a Assessment) error {
	if err := s.store.sendBack(ctx, a.ID); err != nil {
		return err
	}
	return s.moved(ctx, a, "send_back")
}

// Submit sends the review for recognition: a periodic one after its posting
// ended with every objection resolved; a regular one once its household is
// assessed. A returned review may be submitted again.
func (s *Service) Submit(ctx context.Context, scope access.Scope, id uuid.UUID, version int, note string) (ReviewDetail, error) {
	note = strings.TrimSpace(note)
	var agree bool
	return s.transition(ctx, scope, id, version, "submit", note, func(ctx context.Context, r *Review) error {
		t, err := s.store.tally(ctx, r.ID)
		if err != nil {
			return err
		}
		agree = r.agreesOnSubmit()
		return r.Submit(s.today(), t)
	}, func(ctx context.Context, r Review) error {
		if agree { // the household's request is decided on its assessment: no meeting
			drafts, err := s.reviewAssessments(ctx, r.ID, Draft)
			if err != nil {
				return err
			}
			for _, a := range drafts {
				if err := s.store.setAssessmentState(ctx, a.ID, Agreed); err != nil {
					return err
				}
				if err := s.moved(ctx, a, "agree"); err != nil {
					return err
				}
			}
		}
		return s.approvals.Submit(ctx, approval.Subject{Type: SubjectType, ID: r.ID, AreaPath: r.AreaPath}, note)
	})
}

// Reopen takes a returned review back to surveying to correct it: every
// assessment is a draft again and goes to a new meeting and posting.
func (s *Service) Reopen(ctx context.Context, scope access.Scope, id uuid.UUID, version int, reason string) (ReviewDetail, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 1000 {
		return ReviewDetail{}, apperr.Fields([]apperr.FieldError{{Field: "reason", Code: "required", Message: "say what will be corrected"}})
	}
	return s.transition(ctx, scope, id, version, "reopen", reason, func(_ context.Context, r *Review) error {
		return r.Reopen()
	}, func(ctx context.Context, r Review) error {
		all, err := s.reviewAssessments(ctx, r.ID, "")
		if err != nil {
			return err
		}
		for _, a := range all {
			if err := s.sendBack(ctx, a); err != nil {
				return err
			}
		}
		return nil
	})
}

var decisionNumber = regexp.MustCompile(`^[\p{L}\p{N}/._ -]{1,64}$`)

// Recognize approves a submitted review with the recognition decision: every
// household's classification changes, effective on the decision's date, in
// the same transaction (see Decided). The approver must hold the role over
// the commune and must not be the one who submitted it.
func (s *Service) Recognize(ctx context.Context, scope access.Scope, id uuid.UUID, version int, d DecisionInput) (ReviewDetail, error) {
	var fe apperr.FieldList
	d.Number, d.Signer = strings.TrimSpace(d.Number), strings.TrimSpace(d.Signer)
	if !decisionNumber.MatchString(d.Number) {
		fe.Add("decision_number", "invalid", "the decision's number, e.g. 125/QĐ-UBND (at most 64 characters)")
	}
	if d.Date.IsZero() || d.Date.After(s.today()) {
		fe.Add("decision_date", "invalid", "is required and must not be in the future")
	}
	if d.Signer == "" || len(d.Signer) > 200 {
		fe.Add("signer", "required", "who signed the decision")
	}
	if err := fe.Err(); err != nil {
		return ReviewDetail{}, err
	}
	return s.transition(ctx, scope, id, version, "recognize", d.Number, func(_ context.Context, r *Review) error {
		return r.Recognize(d)
	}, func(ctx context.Context, r Review) error {
		_, err := s.approvals.Decide(ctx, scope, approval.Subject{Type: SubjectType, ID: r.ID}, approval.Approve, d.Number)
		return err
	})
}

// Return sends a submitted review back to the commune with the reasons.
func (s *Service) Return(ctx context.Context, scope access.Scope, id uuid.UUID, version int, reason string) (ReviewDetail, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 2000 {
		return ReviewDetail{}, apperr.Fields([]apperr.FieldError{{Field: "reason", Code: "required", Message: "say why it goes back (at most 2000 characters)"}})
	}
	return s.transition(ctx, scope, id, version, "return", reason, func(_ context.Context, r *Review) error {
		return r.Return(reason)
	}, func(ctx context.Context, r Review) error {
		_, err := s.approvals.Decide(ctx, scope, approval.Subject{Type: SubjectType, ID: r.ID}, approval.Return, reason)
		return err
	})
}

// Decided is the approval flow's effect for reviews, run in the decision's
// transaction: on approval, every agreed assessment is recognized and each
// household's classification changes with the decision as its source, and
// the lists are derived. (A return needs nothing beyond the review's state.)
func (s *Service) Decided(ctx context.Context, d approval.Decision) error {
	if d.Action != approval.Approve {
		return nil
	}
	r, err := s.store.review(ctx, access.Everywhere(), d.Subject.ID, false)
	if err != nil {
		return err
	}
	if r.DecisionDate == nil {
		return fmt.Errorf("review %s approved without a decision", r.ID)
	}
	standards, err := s.store.standards(ctx)
	if err != nil {
		return err
	}
	assessments, err := s.reviewAssessments(ctx, r.ID, Agreed)
	if err != nil {
		return err
	}
	for _, a := range assessments {
		if err := s.reclassify(ctx, r, a, standards); err != nil {
			return err
		}
		if err := s.store.setAssessmentState(ctx, a.ID, Recognized); err != nil {
			return err
		}
		if err := s.moved(ctx, a, "recognize"); err != nil {
			return err
		}
	}
	return nil
}

// reclassify gives the household the class its agreed assessment found,
// with the recognized review's decision as its source, and records the
// change with the lists it puts the household on.
func (s *Service) reclassify(ctx context.Context, r Review, a Assessment, standards []Standard) error {
	to := a.Result.Classification
	from, changed, err := s.registry.Classify(ctx, a.HouseholdID, to, r.DecisionNumber, *r.DecisionDate)
	if err != nil {
		return fmt.Errorf("classify household %s: %w", a.HouseholdID, err)
	}
	if !changed {
		return nil
	}
	escaped := false
	if to == Poor && from != Poor {
		i := slices.IndexFunc(standards, func(st Standard) bool { return st.Code == a.StandardCode })
		if i >= 0 {
			if escaped, err = s.store.escapedSince(ctx, a.HouseholdID, standards[i].ValidFrom); err != nil {
				return err
			}
		}
	}
	if err := s.store.insertClassificationChange(ctx, classificationChange{Assessment: a, Review: r, From: from, To: to,
		Lists: Lists(from, to, escaped)}); err != nil {
		return err
	}
	// After the change is on record, so that "years since escaping" sees it.
	for _, fn := range s.reclassified {
		if err := fn(ctx, a.HouseholdID, *r.DecisionDate); err != nil {
			return err
		}
	}
	return nil
}
