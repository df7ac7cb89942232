// Package approval is the generic approval flow that reviews and enrollments
// share: a subject is submitted, then approved, returned or rejected, with
// who acted, when and why, and the rule that nobody decides what they
// submitted themselves. It imports no domain package: a domain registers, at
// wiring time, what happens when one of its subjects is decided, and that
// effect runs in the decision's transaction.
package approval

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// Action is a step of the flow.
type Action string

// The actions.
const (
	Submit  Action = "submit"
	Approve Action = "approve"
	Return  Action = "return" // back to the submitter, to fix and submit again
	Reject  Action = "reject" // final
)

// States of a request.
const (
	Pending  = "pending"
	Approved = "approved"
	Returned = "returned"
	Rejected = "rejected"
)

var stateAfter = map[Action]string{Approve: Approved, Return: Returned, Reject: Rejected}

// Subject is what is put to a decision.
type Subject struct {
	Type     string // e.g. review, enrollment
	ID       uuid.UUID
	AreaPath string // where it belongs: deciders must hold their role above it
}

// Decision is a decision as the subject's domain receives it.
type Decision struct {
	Subject   Subject
	Action    Action
	Reason    string
	Actor     string     // who decided (a user id or a system job's name)
	ActorID   *uuid.UUID // nil for system jobs
	Submitter string
	At        time.Time
}

// Effect applies a decision to its subject, in the decision's transaction;
// an error undoes the decision.
type Effect func(ctx context.Context, d Decision) error

// Step is one recorded step.
type Step struct {
	Action Action
	Actor  string
	Reason string
	At     time.Time
}

// Flow records submissions and decisions.
type Flow struct {
	db      *db.DB
	effects map[string]Effect
	now     func() time.Time
}

// New makes a flow with no effects registered.
func New(pool *db.DB) *Flow {
	return &Flow{db: pool, effects: map[string]Effect{}, now: time.Now}
}

// On registers what a decision on subjects of a type does. Call it while
// wiring, before serving.
func (f *Flow) On(subjectType string, e Effect) { f.effects[subjectType] = e }

// ErrOwnSubmission refuses a decision by the one who submitted.
var ErrOwnSubmission = apperr.New(apperr.Forbidden, "own_submission", "you submitted this: someone else must decide it")

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
		conn := f.db.Conn(ctx)
		var state string
		err := conn.Raw(`SELECT state FROM approval_requests WHERE subject_type = ? AND subject_id = ? FOR UPDATE`,
			s.Type, s.ID).Row().Scan(&state)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			err = conn.Exec(`INSERT INTO approval_requests (subject_type, subject_id, area_path, state, submitted_by, submitted_at)
				VALUES (?, ?, ?::ltree, 'pending', ?, ?)`, s.Type, s.ID, s.AreaPath, actor, f.now()).Error
		case err != nil:
			return err
		case state != Returned:
			return notPending(state)
		default:
			err = conn.Exec(`UPDATE approval_requests SET state = 'pending', area_path = ?::ltree, submitted_by = ?, submitted_at = ?,
				decided_by = NULL, decided_at = NULL WHERE subject_type = ? AND subject_id = ?`,
				s.AreaPath, actor, f.now(), s.Type, s.ID).Error
		}
		if err != nil {
			return err
		}
		return f.step(ctx, s, Submit, actor, actorID, note)
	})
}

func notPending(state string) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: "approval_not_pending", State: state,
		Message: fmt.Sprintf("this is not awaiting a decision: it is %s", state)}
}

// Decide approves, returns or rejects a pending subject in scope and runs the
// subject type's effect, all in one transaction (joining the caller's). The
// request row is locked, so of two deciders acting at once exactly one
// succeeds; the other is told the state the first one left.
func (f *Flow) Decide(ctx context.Context, scope access.Scope, s Subject, action Action, reason string) (Decision, error) {
	after, ok := stateAfter[action]
	if !ok {
		return Decision{}, fmt.Errorf("approval: %q is not a decision", action)
	}
	reason = strings.TrimSpace(reason)
	if action != Approve && reason == "" {
		return Decision{}, apperr.Fields([]apperr.FieldError{{Field: "reason", Code: "required", Message: "say why"}})
	}
	actor, actorID := actorKey(ctx)
	if actor == "" {
		return Decision{}, errors.New("approval: decide without an actor")
	}
	var d Decision
	err := f.db.WithTx(ctx, func(ctx context.Context) error {
		conn := f.db.Conn(ctx)
		var state, submitter, area string
		err := conn.Raw(`SELECT state, submitted_by, area_path::text FROM approval_requests
			WHERE subject_type = ? AND subject_id = ? FOR UPDATE`, s.Type, s.ID).Row().Scan(&state, &submitter, &area)
		if err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return notPending("not submitted")
			}
			return err
		}
		if !scope.Contains(area) {
			return apperr.New(apperr.NotFound, "not_found", "no such %s", s.Type)
		}
		if state != Pending {
			return notPending(state)
		}
		// Nobody decides what they submitted, in this round or an earlier one
		// (a return and someone else's resubmission change nothing).
		var submittedBefore bool
		if err := conn.Raw(`SELECT EXISTS (SELECT 1 FROM approval_steps WHERE subject_type = ? AND subject_id = ?
			AND action = 'submit' AND actor = ?)`, s.Type, s.ID, actor).Scan(&submittedBefore).Error; err != nil {
			return err
		}
		if submitter == actor || submittedBefore {
			return ErrOwnSubmission
		}
		now := f.now()
		if err := conn.Exec(`UPDATE approval_requests SET state = ?, decided_by = ?, decided_at = ? WHERE subject_type = ? AND subject_id = ?`,
			after, actor, now, s.Type, s.ID).Error; err != nil {
			return err
		}
		if err := f.step(ctx, s, action, actor, actorID, reason); err != nil {
			return err
		}
		s.AreaPath = area
		d = Decision{Subject: s, Action: action, Reason: reason, Actor: actor, ActorID: actorID, Submitter: submitter, At: now}
		if effect := f.effects[s.Type]; effect != nil {
			return effect(ctx, d)
		}
		return nil
	})
	return d, err
}

func (f *Flow) step(ctx context.Context, s Subject, action Action, actor string, actorID *uuid.UUID, reason string) error {
	return f.db.Conn(ctx).Exec(`INSERT INTO approval_steps (id, subject_type, subject_id, action, actor, actor_id, reason, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, uuid.Must(uuid.NewV7()), s.Type, s.ID, string(action), actor, actorID, reason, f.now()).Error
}

// Steps is a subject's history, oldest first.
func (f *Flow) Steps(ctx context.Context, subjectType string, id uuid.UUID) ([]Step, error) {
	rows, err := f.db.Conn(ctx).Raw(`SELECT action, actor, reason, at FROM approval_steps
		WHERE subject_type = ? AND subject_id = ? ORDER BY at, id`, subjectType, id).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Step
	for rows.Next() {
		var st Step
		var action string
		if err := rows.Scan(&action, &st.Actor, &st.Reason, &st.At); err != nil {
			return nil, err
		}
		st.Action = Action(action)
		out = append(out, st)
	}
	return out, rows.Err()
}
