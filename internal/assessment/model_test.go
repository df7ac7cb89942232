package assessment

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/area"
	"github.com/ansinh/ansinh/internal/platform/apperr"
)

// problem is the code and the review state a refusal tells the client.
func problem(t *testing.T, err error) (code, state string) {
	t.Helper()
	var e *apperr.Error
	if !errors.As(err, &e) {
		t.Fatalf("not an apperr: %v", err)
	}
	return e.Code, e.State
}

func TestReviewTransitionsRefuseOtherStates(t *testing.T) {
	t.Parallel()
	d := DecisionInput{Number: "1/QĐ", Date: day("2026-12-01"), Signer: "x"}
	steps := map[string]func(r *Review) error{
		"post":      func(r *Review) error { return r.Post(day("2026-11-01"), day("2026-11-10")) },
		"objection": func(r *Review) error { return r.TakeObjection() },
		"resolve":   func(r *Review) error { return r.ResolveObjection(&Objection{}, Dismissed, "x") },
		"reopen":    func(r *Review) error { return r.Reopen() },
		"recognize": func(r *Review) error { return r.Recognize(d) },
		"return":    func(r *Review) error { return r.Return("x") },
		"submit":    func(r *Review) error { return r.Submit(day("2026-12-01"), Tally{Total: 1}) },
	}
	allowed := map[string]string{"post": StateMeetingRecorded, "objection": StatePosted, "resolve": StatePosted,
		"reopen": StateReturned, "recognize": StateSubmitted, "return": StateSubmitted, "submit": StateReturned}
	for name, step := range steps {
		for _, state := range []string{StateOpen, StateSurveying, StateMeetingRecorded, StatePosted, StateSubmitted, StateReturned, StateRecognized} {
			r := Review{Kind: Periodic, State: state}
			err := step(&r)
			if state == allowed[name] || name == "submit" && state == StatePosted {
				if err != nil {
					t.Errorf("%s from %s: %v", name, state, err)
				}
				continue
			}
			if code, got := problem(t, err); code != "review_state" || got != state || r.State != state {
				t.Errorf("%s from %s: %s %s, review now %s", name, state, code, got, r.State)
			}
		}
	}
}

func TestReviewRecordMeeting(t *testing.T) {
	t.Parallel()
	a, b := uuid.New(), uuid.New()
	drafts := []Assessment{{ID: uuid.New(), HouseholdID: a, State: Draft}, {ID: uuid.New(), HouseholdID: b, State: Draft}}
	m := Meeting{Date: day("2026-11-20"), Chair: "Trưởng ấp", Attendees: 40, Votes: []Vote{{a, 20}, {b, 19}}}

	regular := Review{Kind: Regular, State: StateSurveying}
	if _, err := regular.RecordMeeting(m, drafts); err == nil {
		t.Fatal("a regular review recorded a meeting")
	} else if code, _ := problem(t, err); code != "no_meeting_for_regular" {
		t.Fatalf("regular: %s", code)
	}
	r := Review{Kind: Periodic, State: StateSurveying}
	if _, err := r.RecordMeeting(m, nil); err == nil {
		t.Fatal("a meeting with nothing to vote on")
	}
	missing := m
	missing.Votes = []Vote{{a, 20}, {a, 20}, {uuid.New(), 1}}
	_, err := r.RecordMeeting(missing, drafts)
	var fe *apperr.Error
	if !errors.As(err, &fe) || len(fe.Fields) != 3 || r.MeetingDate != nil {
		t.Fatalf("duplicate, not pending and missing votes: %v", err)
	}

	voted, err := r.RecordMeeting(m, drafts)
	if err != nil {
		t.Fatal(err)
	}
	// Half agreeing is enough; under half sends the household back.
	if voted[0].State != Agreed || voted[0].SentBack || voted[1].State != Draft || !voted[1].SentBack || *voted[1].VotesAgree != 19 {
		t.Fatalf("votes: %+v", voted)
	}
	if drafts[0].State != Draft || drafts[0].VotesAgree != nil {
		t.Fatal("the drafts given were changed")
	}
	if r.State != StateSurveying || r.MeetingChair != "Trưởng ấp" || *r.Attendees != 40 || !r.MeetingDate.Equal(m.Date) {
		t.Fatalf("review after a meeting that sent one back: %+v", r)
	}
	r = Review{Kind: Periodic, State: StateSurveying}
	m.Votes[1].Agree = 20
	if _, err := r.RecordMeeting(m, drafts); err != nil || r.State != StateMeetingRecorded {
		t.Fatalf("every household agreed: %v %s", err, r.State)
	}
}

func TestReviewPostAfterTheMeeting(t *testing.T) {
	t.Parallel()
	meeting := day("2026-11-20")
	r := Review{State: StateMeetingRecorded, MeetingDate: &meeting}
	if err := r.Post(day("2026-11-19"), day("2026-11-30")); !apperr.Is(err, apperr.Invalid) || r.State != StateMeetingRecorded {
		t.Fatalf("posted before the meeting: %v", err)
	}
	if err := r.Post(meeting, day("2026-11-30")); err != nil || r.State != StatePosted || !r.PostingEnd.Equal(day("2026-11-30")) {
		t.Fatalf("post: %v %+v", err, r)
	}
}

func TestReviewResolveObjection(t *testing.T) {
	t.Parallel()
	r := Review{State: StatePosted}
	if err := r.ResolveObjection(nil, Upheld, "x"); !errors.Is(err, errObjectionNotFound) {
		t.Fatalf("no objection: %v", err)
	}
	if err := r.ResolveObjection(&Objection{Outcome: Dismissed}, Upheld, "x"); err == nil {
		t.Fatal("resolved twice")
	} else if code, _ := problem(t, err); code != "objection_resolved" {
		t.Fatal(code)
	}
	o := Objection{}
	if err := r.ResolveObjection(&o, Upheld, "checked"); err != nil || r.State != StatePosted || o.Outcome != Upheld {
		t.Fatalf("an upheld objection about no household: %v %s", err, r.State)
	}
	h := uuid.New()
	o = Objection{HouseholdID: &h}
	if err := r.ResolveObjection(&o, Dismissed, "x"); err != nil || r.State != StatePosted {
		t.Fatalf("dismissed: %v %s", err, r.State)
	}
	o = Objection{HouseholdID: &h}
	if err := r.ResolveObjection(&o, Upheld, "x"); err != nil || r.State != StateSurveying || o.Resolution != "x" {
		t.Fatalf("upheld about a household: %v %s", err, r.State)
	}
}

func TestReviewSubmit(t *testing.T) {
	t.Parallel()
	today := day("2026-12-01")
	end := day("2026-12-01")
	posted := Review{Kind: Periodic, State: StatePosted, PostingEnd: &end}
	for _, c := range []struct {
		name string
		r    Review
		t    Tally
		code string
	}{
		{"posting not over", posted, Tally{Total: 2}, "posting_not_over"},
		{"objections open", Review{Kind: Periodic, State: StatePosted}, Tally{Open: 1, Total: 2}, "objections_open"},
		{"nothing assessed", Review{Kind: Periodic, State: StatePosted}, Tally{}, "assessments_not_agreed"},
		{"a draft left", Review{Kind: Periodic, State: StateReturned}, Tally{NotAgreed: 1, Drafts: 1, Total: 2}, "assessments_not_agreed"},
		{"a periodic review surveying", Review{Kind: Periodic, State: StateSurveying}, Tally{Total: 1}, "review_state"},
		// A regular review's draft is agreed on submission.
		{"regular", Review{Kind: Regular, State: StateSurveying, ReturnReason: "x"}, Tally{NotAgreed: 1, Drafts: 1, Total: 1}, ""},
	} {
		r := c.r
		err := r.Submit(today, c.t)
		if c.code == "" {
			if err != nil || r.State != StateSubmitted || r.ReturnReason != "" {
				t.Errorf("%s: %v %+v", c.name, err, r)
			}
			continue
		}
		if code, _ := problem(t, err); code != c.code || r.State != c.r.State {
			t.Errorf("%s: %s, state %s", c.name, code, r.State)
		}
	}
}

func TestAssessmentReviseOnlyDrafts(t *testing.T) {
	t.Parallel()
	for _, state := range []string{Draft, Agreed, Recognized} {
		a := Assessment{State: state}
		if err := a.Revise(); (err == nil) != (state == Draft) {
			t.Errorf("%s: %v", state, err)
		}
	}
}

type fakeAreas map[string]any // an area.Area or an error

func (f fakeAreas) Get(_ context.Context, code string) (area.Area, error) {
	switch v := f[code].(type) {
	case area.Area:
		return v, nil
	case error:
		return area.Area{}, v
	}
	return area.Area{}, apperr.New(apperr.NotFound, "area_not_found", "no administrative area %s", code)
}

// Only an unknown area is the invalid field; an error reading it is not
// taken for the client's mistake.
func TestAreaOfTurnsOnlyNotFoundIntoAFieldError(t *testing.T) {
	t.Parallel()
	broken := errors.New("connection reset")
	s := &Service{areas: fakeAreas{"91": area.Area{Code: "91", Level: "province", Path: "VN.91"},
		"914": area.Area{Code: "914", Level: "district"}, "99": broken}}
	ctx := context.Background()
	if a, err := s.areaOf(ctx, "91", "province", "area_code", "m"); err != nil || a.Path != "VN.91" {
		t.Fatalf("a province: %v", err)
	}
	for _, code := range []string{"914", "00"} {
		if _, err := s.areaOf(ctx, code, "province", "area_code", "m"); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("%s: %v", code, err)
		}
	}
	if _, err := s.areaOf(ctx, "99", "province", "area_code", "m"); !errors.Is(err, broken) {
		t.Errorf("a failing read: %v", err)
	}
}

var _ = time.Now
