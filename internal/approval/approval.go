// Package approval is the generic approval flow that reviews and enrollments
// share: a subject is submitted, then approved, returned or rejected, with
// who acted, when and why, and the rule that nobody decides what they
// submitted themselves. It imports no domain package: a domain registers, at
// wiring time, what happens when one of its subjects is decided, and that
// effect runs in the decision's transaction.
//
// model.go holds the request and its transitions, store.go the statements,
// this file the flow: who acts, in which transaction, with which effect.
package approval

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// Flow records submissions and decisions.
type Flow struct {
	db      *db.DB
	store   store
	effects map[string]Effect
	now     func() time.Time
}

// New makes a flow with no effects registered.
func New(pool *db.DB) *Flow {
	return &Flow{db: pool, store: store{pool}, effects: map[string]Effect{}, now: time.Now}
}

// On registers what a decision on subjects of a type does. Call it while
// wiring, before serving.
func (f *Flow) On(subjectType string, e Effect) { f.effects[subjectType] = e }

// actorKey identifies an actor across steps: a user by id (names can be
// changed), a system job by name.
func actorKey(ctx context.Context) (string, *uuid.UUID) {
	a, _ := access.ActorFrom(ctx)
	if a.UserID != uuid.Nil {
		id := a.UserID
		return id.String(), &id
	}
	return a.Username, nil
}

// Submit puts a subject to a decision (again, after a return). It joins the
// caller's transaction.
func (f *Flow) Submit(ctx context.Context, s Subject, note string) error {
	actor, actorID := actorKey(ctx)
	if actor == "" {
		return errors.New("approval: submit without an actor")
	}
	return f.db.WithTx(ctx, func(ctx context.Context) error {
		now := f.now()
		_, err := f.store.update(ctx, s, func(r *request) error { return r.resubmit(s.AreaPath, actor, now) })
		if errors.Is(err, errNoRequest) {
			err = f.store.insert(ctx, newRequest(s, actor, now))
		}
		if err != nil {
			return err
		}
		return f.store.addStep(ctx, s, Step{Action: Submit, Actor: actor, Reason: note, At: f.now()}, actorID)
	})
}

// Decide approves, returns or rejects a pending subject in scope and runs the
// subject type's effect, all in one transaction (joining the caller's). The
// request row is locked, so of two deciders acting at once exactly one
// succeeds; the other is told the state the first one left.
func (f *Flow) Decide(ctx context.Context, scope access.Scope, s Subject, action Action, reason string) (Decision, error) {
	rl, err := newRuling(action, reason)
	if err != nil {
		return Decision{}, err
	}
	actor, actorID := actorKey(ctx)
	if actor == "" {
		return Decision{}, errors.New("approval: decide without an actor")
	}
	var d Decision
	err = f.db.WithTx(ctx, func(ctx context.Context) error {
		now := f.now()
		r, err := f.store.update(ctx, s, func(r *request) error {
			if !scope.Contains(r.Subject.AreaPath) {
				return notFound(s.Type)
			}
			if err := r.awaitingDecision(); err != nil {
				return err
			}
			before, err := f.store.submittedBefore(ctx, s, actor)
			if err != nil {
				return err
			}
			return r.decide(rl, actor, before, now)
		})
		if errors.Is(err, errNoRequest) {
			return notSubmitted()
		}
		if err != nil {
			return err
		}
		if err := f.store.addStep(ctx, s, Step{Action: rl.action, Actor: actor, Reason: rl.reason, At: f.now()}, actorID); err != nil {
			return err
		}
		d = Decision{Subject: r.Subject, Action: rl.action, Reason: rl.reason, Actor: actor, ActorID: actorID,
			Submitter: r.SubmittedBy, At: now}
		if effect := f.effects[s.Type]; effect != nil {
			return effect(ctx, d)
		}
		return nil
	})
	return d, err
}

// Withdraw closes a subject's open request because its domain took the
// subject back (the domain has checked who may), recording the step with the
// reason. It joins the caller's transaction; no effect runs.
func (f *Flow) Withdraw(ctx context.Context, s Subject, reason string) error {
	actor, actorID := actorKey(ctx)
	if actor == "" {
		return errors.New("approval: withdraw without an actor")
	}
	return f.db.WithTx(ctx, func(ctx context.Context) error {
		now := f.now()
		_, err := f.store.update(ctx, s, func(r *request) error { return r.withdraw(actor, now) })
		if errors.Is(err, errNoRequest) {
			return notSubmitted()
		}
		if err != nil {
			return err
		}
		return f.store.addStep(ctx, s, Step{Action: Withdraw, Actor: actor, Reason: reason, At: now}, actorID)
	})
}

// Steps is a subject's history, oldest first.
func (f *Flow) Steps(ctx context.Context, subjectType string, id uuid.UUID) ([]Step, error) {
	return f.store.steps(ctx, subjectType, id)
}
