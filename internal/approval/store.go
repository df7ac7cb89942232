package approval

import (
	"context"
	"database/sql"
	"errors"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/platform/db"
)

// store holds every statement of the flow; they run on db.Conn(ctx), the
// transaction in ctx.
type store struct{ db *db.DB }

// errNoRequest is what update reports for a subject never submitted.
var errNoRequest = errors.New("approval: no request")

// update locks the subject's request row (FOR UPDATE: of two callers at once,
// the second waits and then sees what the first left), applies change and
// writes the result. A subject never submitted gives errNoRequest.
func (st store) update(ctx context.Context, s Subject, change func(*request) error) (request, error) {
	conn := st.db.Conn(ctx)
	r := request{Subject: s}
	err := conn.Raw(`SELECT state, area_path::text, submitted_by, submitted_at, decided_by, decided_at
		FROM approval_requests WHERE subject_type = ? AND subject_id = ? FOR UPDATE`, s.Type, s.ID).
		Row().Scan(&r.State, &r.Subject.AreaPath, &r.SubmittedBy, &r.SubmittedAt, &r.DecidedBy, &r.DecidedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return request{}, errNoRequest
	}
	if err != nil {
		return request{}, err
	}
	if err := change(&r); err != nil {
		return request{}, err
	}
	err = conn.Exec(`UPDATE approval_requests SET state = ?, area_path = ?::ltree, submitted_by = ?, submitted_at = ?,
		decided_by = ?, decided_at = ? WHERE subject_type = ? AND subject_id = ?`,
		r.State, r.Subject.AreaPath, r.SubmittedBy, r.SubmittedAt, r.DecidedBy, r.DecidedAt, s.Type, s.ID).Error
	if err != nil {
		return request{}, err
	}
	return r, nil
}

// insert writes a first submission.
func (st store) insert(ctx context.Context, r request) error {
	return st.db.Conn(ctx).Exec(`INSERT INTO approval_requests (subject_type, subject_id, area_path, state, submitted_by, submitted_at)
		VALUES (?, ?, ?::ltree, ?, ?, ?)`, r.Subject.Type, r.Subject.ID, r.Subject.AreaPath, r.State, r.SubmittedBy, r.SubmittedAt).Error
}

// submittedBefore reports whether actor ever submitted the subject.
func (st store) submittedBefore(ctx context.Context, s Subject, actor string) (bool, error) {
	var yes bool
	err := st.db.Conn(ctx).Raw(`SELECT EXISTS (SELECT 1 FROM approval_steps WHERE subject_type = ? AND subject_id = ?
		AND action = 'submit' AND actor = ?)`, s.Type, s.ID, actor).Scan(&yes).Error
	return yes, err
}

// addStep records a step of the subject's history.
func (st store) addStep(ctx context.Context, s Subject, step Step, actorID *uuid.UUID) error {
	return st.db.Conn(ctx).Exec(`INSERT INTO approval_steps (id, subject_type, subject_id, action, actor, actor_id, reason, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, uuid.Must(uuid.NewV7()), s.Type, s.ID, string(step.Action), step.Actor, actorID,
		step.Reason, step.At).Error
}

// steps is a subject's history, oldest first.
func (st store) steps(ctx context.Context, subjectType string, id uuid.UUID) ([]Step, error) {
	q := st.db.Conn(ctx).Raw(`SELECT action, actor, reason, at FROM approval_steps
		WHERE subject_type = ? AND subject_id = ? ORDER BY at, id`, subjectType, id)
	return db.Collect(q, func(row db.Scanner) (Step, error) {
		var s Step
		var action string
		err := row.Scan(&action, &s.Actor, &s.Reason, &s.At)
		s.Action = Action(action)
		return s, err
	})
}
