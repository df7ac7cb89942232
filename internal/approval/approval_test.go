package approval_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/approval"
	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
)

func newFlow(t *testing.T) (*approval.Flow, *db.DB) {
	t.Helper()
	d := dbtest.NewDatabase(t)
	pool, err := db.Open(db.Options{URL: d.AppURL, MaxOpenConns: 8, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	return approval.New(pool), pool
}

func as(name string) context.Context {
	return access.WithActor(context.Background(), access.Actor{Kind: access.KindUser, UserID: uuid.NewSHA1(uuid.NameSpaceOID, []byte(name)), Username: name})
}

var district = access.Within("91.914")

func TestSubmitDecideAndHistory(t *testing.T) {
	t.Parallel()
	flow, _ := newFlow(t)
	var decided []approval.Decision
	flow.On("thing", func(_ context.Context, d approval.Decision) error {
		decided = append(decided, d)
		return nil
	})
	s := approval.Subject{Type: "thing", ID: uuid.Must(uuid.NewV7()), AreaPath: "91.914.30791"}

	if _, err := flow.Decide(as("approver"), district, s, approval.Approve, ""); apperr.KindOf(err) != apperr.Conflict {
		t.Fatalf("deciding what was never submitted: %v", err)
	}
	if err := flow.Submit(as("worker"), s, "please"); err != nil {
		t.Fatal(err)
	}
	if err := flow.Submit(as("worker"), s, "again"); apperr.KindOf(err) != apperr.Conflict {
		t.Fatalf("a second submission while pending: %v", err)
	}
	if _, err := flow.Decide(as("worker"), district, s, approval.Approve, ""); !errors.Is(err, approval.ErrOwnSubmission) {
		t.Fatalf("the submitter decided: %v", err)
	}
	if _, err := flow.Decide(as("approver"), access.Within("91.899"), s, approval.Approve, ""); apperr.KindOf(err) != apperr.NotFound {
		t.Fatalf("an approver of another district decided: %v", err)
	}
	if _, err := flow.Decide(as("approver"), district, s, approval.Return, "  "); apperr.KindOf(err) != apperr.Invalid {
		t.Fatalf("a return without a reason: %v", err)
	}
	d, err := flow.Decide(as("approver"), district, s, approval.Return, "the minutes are missing")
	if err != nil || d.Submitter == "" || d.Subject.AreaPath != "91.914.30791" {
		t.Fatalf("return: %+v %v", d, err)
	}
	if err := flow.Submit(as("worker2"), s, "with minutes"); err != nil {
		t.Fatalf("resubmission after a return: %v", err)
	}
	if _, err := flow.Decide(as("worker"), district, s, approval.Approve, ""); !errors.Is(err, approval.ErrOwnSubmission) {
		t.Fatalf("the first submitter decided after someone else resubmitted: %v", err)
	}
	if _, err := flow.Decide(as("approver"), district, s, approval.Approve, ""); err != nil {
		t.Fatal(err)
	}
	e := &apperr.Error{}
	_, err = flow.Decide(as("approver2"), district, s, approval.Reject, "too late")
	if !errors.As(err, &e) || e.Kind != apperr.Conflict || e.State != approval.Approved {
		t.Fatalf("deciding an approved subject: %v", err)
	}
	if err := flow.Submit(as("worker"), s, "once more"); apperr.KindOf(err) != apperr.Conflict {
		t.Fatalf("resubmitting an approved subject: %v", err)
	}
	steps, err := flow.Steps(context.Background(), "thing", s.ID)
	if err != nil {
		t.Fatal(err)
	}
	var actions []approval.Action
	for _, st := range steps {
		actions = append(actions, st.Action)
	}
	want := []approval.Action{approval.Submit, approval.Return, approval.Submit, approval.Approve}
	if len(actions) != len(want) {
		t.Fatalf("steps %v, want %v", actions, want)
	}
	for i := range want {
		if actions[i] != want[i] {
			t.Fatalf("steps %v, want %v", actions, want)
		}
	}
	if len(decided) != 2 || decided[0].Action != approval.Return || decided[1].Action != approval.Approve {
		t.Fatalf("the effect saw %+v", decided)
	}
}

// An effect that fails undoes the decision: the subject stays pending.
func TestFailingEffectUndoesTheDecision(t *testing.T) {
	t.Parallel()
	flow, pool := newFlow(t)
	boom := errors.New("the domain refused")
	flow.On("thing", func(context.Context, approval.Decision) error { return boom })
	s := approval.Subject{Type: "thing", ID: uuid.Must(uuid.NewV7()), AreaPath: "91.914.30791"}
	if err := flow.Submit(as("worker"), s, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := flow.Decide(as("approver"), district, s, approval.Approve, ""); !errors.Is(err, boom) {
		t.Fatalf("decide: %v", err)
	}
	state := apptest.Scalar[string](t, pool, `SELECT state FROM approval_requests WHERE subject_id = ?`, s.ID)
	steps := apptest.Scalar[int](t, pool, `SELECT count(*) FROM approval_steps WHERE subject_id = ?`, s.ID)
	if state != approval.Pending || steps != 1 {
		t.Fatalf("after a failed effect: %s with %d steps", state, steps)
	}
}

// Of many deciders acting at once, exactly one decides.
func TestConcurrentDecisions(t *testing.T) {
	t.Parallel()
	flow, _ := newFlow(t)
	s := approval.Subject{Type: "thing", ID: uuid.Must(uuid.NewV7()), AreaPath: "91.914.30791"}
	if err := flow.Submit(as("worker"), s, ""); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, lost := 0, 0
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			action := approval.Approve
			if i%2 == 1 {
				action = approval.Reject
			}
			_, err := flow.Decide(as("approver"+string(rune('a'+i))), district, s, action, "reason")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case apperr.KindOf(err) == apperr.Conflict:
				lost++
			default:
				t.Errorf("decide: %v", err)
			}
		}()
	}
	wg.Wait()
	if won != 1 || lost != 7 {
		t.Fatalf("%d decided, %d refused", won, lost)
	}
}
