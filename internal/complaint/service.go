package complaint

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/vn"
)

// readLogger records reads of personal data (the audit access log).
type readLogger interface {
	Read(ctx context.Context, subjectType, areaPath string, ids ...uuid.UUID)
}

// Service handles complaints.
type Service struct {
	db    *db.DB
	store store
	reads readLogger
	now   func() time.Time
}

// NewService makes the service.
func NewService(pool *db.DB, reads readLogger) *Service {
	return &Service{db: pool, store: store{db: pool}, reads: reads, now: time.Now}
}

func (s *Service) today() time.Time { return vn.Today(s.now()) }

// Receive records a complaint received on a household's behalf, settled at
// first instance by its commune, with its reference number and the day by
// which it must be accepted (or refused).
func (s *Service) Receive(ctx context.Context, scope access.Scope, in Intake) (Complaint, error) {
	if err := in.check(s.today()); err != nil {
		return Complaint{}, err
	}
	var c Complaint
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		path, commune, err := s.store.householdUnit(ctx, scope, in.HouseholdID)
		if err != nil {
			return err
		}
		if in.SubjectID != nil {
			if ok, err := s.store.subjectOf(ctx, in.SubjectKind, *in.SubjectID, in.HouseholdID); err != nil || !ok {
				if err == nil {
					err = errSubjectNotFound
				}
				return err
			}
		}
		c = Complaint{ID: uuid.Must(uuid.NewV7()), Instance: 1, HouseholdID: in.HouseholdID, AreaPath: path, ComplainantName: in.ComplainantName,
			Channel: in.Channel, ReceivedOn: *in.ReceivedOn, KnownOn: in.KnownOn, SubjectKind: in.SubjectKind, SubjectID: in.SubjectID,
			RespondentUserID: in.RespondentUserID, Content: in.Content, State: Received}
		return s.open(ctx, &c, commune, "complaint.receive")
	})
	return c, db.MapError(err)
}

// open files a new complaint with its unit: its reference, whether the
// household lives in a remote area, the day it must be accepted by; and
// writes it with its audit event.
func (s *Service) open(ctx context.Context, c *Complaint, u unit, action string) error {
	c.HandlerEdition, c.HandlerCode, c.HandlerPath = u.edition, u.code, u.path
	remote, err := s.store.remote(ctx, c.AreaPath, c.ReceivedOn)
	if err != nil {
		return err
	}
	days, err := s.store.limit(ctx, "accept", c.Instance, false, remote)
	if err != nil {
		return err
	}
	c.Remote, c.AcceptBy = remote, c.ReceivedOn.AddDate(0, 0, days)
	if c.KnownOn != nil {
		period, err := s.store.limit(ctx, "file", 1, false, remote)
		if err != nil {
			return err
		}
		fileBy := c.KnownOn.AddDate(0, 0, period)
		c.FileBy = &fileBy
	}
	if c.Reference, err = s.store.nextReference(ctx, u.code, c.ReceivedOn.Year()); err != nil {
		return err
	}
	if err := s.store.insert(ctx, *c, access.ActorID(ctx)); err != nil {
		return err
	}
	c.Version = 1
	return s.audit(ctx, action, *c, "")
}

// audit records a step of a complaint: who complained is personal data and
// stays in the complaint; the event says what happened.
func (s *Service) audit(ctx context.Context, action string, c Complaint, reason string) error {
	after := map[string]any{"reference": c.Reference, "instance": c.Instance, "household_id": c.HouseholdID, "state": c.State,
		"handler": c.HandlerCode, "subject_kind": c.SubjectKind, "accept_by": vn.Date(&c.AcceptBy), "settle_by": vn.Date(c.SettleBy),
		"outcome": c.Outcome, "version": c.Version}
	if late := c.ReceivedOn; late.Before(s.today()) && action == "complaint.receive" {
		after["entered_late"] = audit.EnteredLate(late, s.today())
	}
	return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: action, EntityType: "complaint", EntityID: c.ID.String(),
		AreaPath: c.AreaPath, Reason: reason, After: after})
}

// Get reads a complaint with its steps.
func (s *Service) Get(ctx context.Context, scope access.Scope, id uuid.UUID) (Complaint, error) {
	var c Complaint
	err := s.db.ReadTx(ctx, func(ctx context.Context, _ bool) error {
		var err error
		c, err = s.store.get(ctx, scope, id, false)
		return err
	})
	if err != nil {
		return c, db.MapError(err)
	}
	s.noteReads(ctx, []Complaint{c}) // who complained and why is personal
	return c, nil
}

// noteReads logs the reads of complaints, by area.
func (s *Service) noteReads(ctx context.Context, cs []Complaint) {
	byArea := map[string][]uuid.UUID{}
	for _, c := range cs {
		byArea[c.AreaPath] = append(byArea[c.AreaPath], c.ID)
	}
	for area, ids := range byArea {
		s.reads.Read(ctx, "complaint", area, ids...)
	}
}

// List is a page of the complaints the scope sees, newest first.
func (s *Service) List(ctx context.Context, scope access.Scope, f Filter, before *uuid.UUID, limit int) ([]Complaint, error) {
	out, err := s.store.list(ctx, scope, f, before, limit)
	if err != nil {
		return nil, db.MapError(err)
	}
	s.noteReads(ctx, out)
	return out, nil
}

// change applies a step to a complaint the caller handles (its unit is in
// their scope), at its version (-1: any), and audits it.
func (s *Service) change(ctx context.Context, scope access.Scope, id uuid.UUID, version int, action, reason string,
	apply func(ctx context.Context, c *Complaint) error) (Complaint, error) {
	var c Complaint
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		var err error
		if c, err = s.store.get(ctx, scope, id, true); err != nil {
			return err
		}
		if !handles(scope, c.HandlerPath) {
			return errNotHandler
		}
		if c.Appealed {
			return errState("appealed", "changed at first instance")
		}
		if version >= 0 && version != c.Version {
			return apperr.New(apperr.PreconditionFailed, "version_mismatch", "the complaint changed since you read it (now version %d)", c.Version)
		}
		if err := apply(ctx, &c); err != nil {
			return err
		}
		if err := s.store.update(ctx, c); err != nil {
			return err
		}
		c.Version++
		return s.audit(ctx, action, c, reason)
	})
	return c, db.MapError(err)
}

// Accept records the complaint accepted on a day; whether it is complex and
// the household's remoteness set the time to settle it.
func (s *Service) Accept(ctx context.Context, scope access.Scope, id uuid.UUID, version int, on *time.Time, complex bool,
	lateReason string) (Complaint, error) {
	day := s.day(on)
	if day.After(s.today()) {
		return Complaint{}, apperr.Fields([]apperr.FieldError{{Field: "accepted_on", Code: "future", Message: "must not be in the future"}})
	}
	return s.change(ctx, scope, id, version, "complaint.accept", "", func(ctx context.Context, c *Complaint) error {
		days, err := s.store.limit(ctx, "settle", c.Instance, complex, c.Remote)
		if err != nil {
			return err
		}
		return c.accept(day, complex, days, lateReason)
	})
}

// Refuse records that the complaint is not accepted, and why.
func (s *Service) Refuse(ctx context.Context, scope access.Scope, id uuid.UUID, version int, reason string) (Complaint, error) {
	return s.change(ctx, scope, id, version, "complaint.not_accept", strings.TrimSpace(reason), func(_ context.Context, c *Complaint) error {
		return c.refuse(reason)
	})
}

// AddStep records a meeting, a verification, evidence received or a note.
func (s *Service) AddStep(ctx context.Context, scope access.Scope, id uuid.UUID, st Step) (Complaint, error) {
	st.Summary = strings.TrimSpace(st.Summary)
	var fe apperr.FieldList
	if !oneOf(st.Kind, stepKinds) {
		fe.Add("kind", "invalid", "must be meeting, verification, evidence or note")
	}
	if st.Summary == "" || len(st.Summary) > 10000 {
		fe.Add("summary", "required", "is required (at most 10,000 characters)")
	}
	if st.OccurredOn.IsZero() {
		st.OccurredOn = s.today()
	} else if st.OccurredOn.After(s.today()) {
		fe.Add("occurred_on", "future", "must not be in the future")
	}
	if err := fe.Err(); err != nil {
		return Complaint{}, err
	}
	st.ID = uuid.Must(uuid.NewV7())
	return s.change(ctx, scope, id, -1, "complaint.step", st.Kind, func(ctx context.Context, c *Complaint) error {
		if c.State != Accepted {
			return errState(c.State, "worked on")
		}
		c.Steps = append(c.Steps, st)
		return s.store.insertStep(ctx, c.ID, st, access.ActorID(ctx))
	})
}

// Decide records the reasoned decision of the complaint.
func (s *Service) Decide(ctx context.Context, scope access.Scope, id uuid.UUID, version int, on *time.Time, outcome, reasoning string) (Complaint, error) {
	actor := access.ActorID(ctx)
	if actor == nil {
		return Complaint{}, apperr.New(apperr.Forbidden, "forbidden", "a decision is a person's")
	}
	day := s.day(on)
	if day.After(s.today()) {
		return Complaint{}, apperr.Fields([]apperr.FieldError{{Field: "decided_on", Code: "future", Message: "must not be in the future"}})
	}
	return s.change(ctx, scope, id, version, "complaint.decide", "", func(_ context.Context, c *Complaint) error {
		return c.decide(*actor, day, outcome, reasoning)
	})
}

// Appeal records the complainant's appeal of a first-instance complaint to
// the level above the unit that settled it (or failed to in time).
func (s *Service) Appeal(ctx context.Context, scope access.Scope, id uuid.UUID, receivedOn *time.Time, content string) (Complaint, error) {
	content = strings.TrimSpace(content)
	if content == "" || len(content) > 10000 {
		return Complaint{}, apperr.Fields([]apperr.FieldError{{Field: "content", Code: "required", Message: "say why the first decision is wrong"}})
	}
	day := s.day(receivedOn)
	if day.After(s.today()) {
		return Complaint{}, apperr.Fields([]apperr.FieldError{{Field: "received_on", Code: "future", Message: "must not be in the future"}})
	}
	var appeal Complaint
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		first, err := s.store.get(ctx, scope, id, true)
		if err != nil {
			return err
		}
		days, err := s.store.limit(ctx, "appeal", 1, first.Complex, first.Remote)
		if err != nil {
			return err
		}
		if err := first.appealable(day, days); err != nil {
			return err
		}
		above, ok, err := s.store.parentUnit(ctx, unit{edition: first.HandlerEdition, code: first.HandlerCode, path: first.HandlerPath})
		if err != nil {
			return err
		}
		if !ok {
			return errNoHigherLevel
		}
		appeal = Complaint{ID: uuid.Must(uuid.NewV7()), Instance: 2, AppealOf: &first.ID, HouseholdID: first.HouseholdID, AreaPath: first.AreaPath,
			ComplainantName: first.ComplainantName, Channel: first.Channel, ReceivedOn: day, SubjectKind: first.SubjectKind,
			SubjectID: first.SubjectID, RespondentUserID: first.RespondentUserID, Content: content, State: Received}
		return s.open(ctx, &appeal, above, "complaint.appeal")
	})
	return appeal, db.MapError(err)
}

// handles reports whether the scope is the unit that handles a complaint:
// one of its areas is that unit (a level above it does not settle the
// lower level's complaints: it handles their appeals).
func handles(scope access.Scope, handler string) bool {
	return scope.IsEverywhere() || slices.Contains(scope.Paths(), handler)
}

func (s *Service) day(d *time.Time) time.Time {
	if d == nil {
		return s.today()
	}
	return *d
}
