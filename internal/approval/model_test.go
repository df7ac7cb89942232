package approval

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/platform/apperr"
)

func TestNewRuling(t *testing.T) {
	for _, c := range []struct {
		action  Action
		reason  string
		state   string
		fails   bool // invalid: a field error for the client; else a programming error
		invalid bool
	}{
		{action: Approve, state: Approved},
		{action: Approve, reason: " ok ", state: Approved},
		{action: Return, reason: "missing minutes", state: Returned},
		{action: Reject, reason: "duplicate", state: Rejected},
		{action: Return, reason: "  ", fails: true, invalid: true},
		{action: Reject, fails: true, invalid: true},
		{action: Submit, reason: "x", fails: true},
		{action: Withdraw, reason: "x", fails: true}, // not a decision
		{action: "archive", reason: "x", fails: true},
	} {
		r, err := newRuling(c.action, c.reason)
		if c.fails {
			if err == nil || (apperr.KindOf(err) == apperr.Invalid) != c.invalid {
				t.Errorf("%s %q: want an error (invalid: %v), got %v", c.action, c.reason, c.invalid, err)
			}
			continue
		}
		if err != nil || r.state != c.state || r.action != c.action {
			t.Errorf("%s %q: %+v %v", c.action, c.reason, r, err)
		}
	}
	if r, _ := newRuling(Approve, " ok "); r.reason != "ok" {
		t.Errorf("the reason is trimmed: %q", r.reason)
	}
}

func TestRequestTransitions(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := Subject{Type: "thing", ID: uuid.Must(uuid.NewV7()), AreaPath: "91.914.30791"}
	approve, _ := newRuling(Approve, "")
	ret, _ := newRuling(Return, "fix it")

	r := newRequest(s, "worker", at)
	if r.State != Pending || r.SubmittedBy != "worker" {
		t.Fatalf("new request: %+v", r)
	}
	if err := r.resubmit("91.914.30792", "worker", at); apperr.KindOf(err) != apperr.Conflict {
		t.Fatalf("resubmitting a pending request: %v", err)
	}
	if err := r.decide(approve, "worker", false, at); !errors.Is(err, ErrOwnSubmission) {
		t.Fatalf("the submitter decided: %v", err)
	}
	if err := r.decide(approve, "approver", true, at); !errors.Is(err, ErrOwnSubmission) {
		t.Fatalf("an earlier submitter decided: %v", err)
	}
	if r.State != Pending || r.DecidedBy != nil {
		t.Fatalf("a refused decision changed the request: %+v", r)
	}
	if err := r.decide(ret, "approver", false, at); err != nil || r.State != Returned || *r.DecidedBy != "approver" {
		t.Fatalf("return: %+v %v", r, err)
	}
	if err := r.decide(approve, "approver2", false, at); apperr.KindOf(err) != apperr.Conflict {
		t.Fatalf("deciding a returned request: %v", err)
	}
	later := at.Add(time.Hour)
	if err := r.resubmit("91.914.30792", "worker2", later); err != nil {
		t.Fatal(err)
	}
	if r.State != Pending || r.SubmittedBy != "worker2" || !r.SubmittedAt.Equal(later) ||
		r.Subject.AreaPath != "91.914.30792" || r.DecidedBy != nil || r.DecidedAt != nil {
		t.Fatalf("resubmitted: %+v", r)
	}
	if err := r.decide(approve, "approver", false, later); err != nil || r.State != Approved {
		t.Fatalf("approve: %+v %v", r, err)
	}
	e := &apperr.Error{}
	if err := r.awaitingDecision(); !errors.As(err, &e) || e.State != Approved {
		t.Fatalf("an approved request is not pending: %v", err)
	}
}

// A request still open (pending, or returned for a fix) can be withdrawn; a
// decided one cannot, and a withdrawn one is decided by nobody.
func TestWithdraw(t *testing.T) {
	at := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	for _, state := range []string{Pending, Returned, Approved, Rejected, Withdrawn} {
		r := request{State: state, SubmittedBy: "a"}
		err := r.withdraw("b", at)
		open := state == Pending || state == Returned
		if open && (err != nil || r.State != Withdrawn || r.DecidedBy == nil || *r.DecidedBy != "b") {
			t.Errorf("withdraw from %s: %+v %v", state, r, err)
		}
		if !open && (err == nil || r.State != state) {
			t.Errorf("withdraw from %s: want refused, got %+v %v", state, r, err)
		}
	}
	r := request{State: Withdrawn, SubmittedBy: "a"}
	if err := r.decide(ruling{action: Approve, state: Approved}, "b", false, at); err == nil {
		t.Error("a withdrawn request was decided")
	}
}
