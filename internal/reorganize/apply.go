package reorganize

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
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

// Service plans and applies reorganizations.
type Service struct {
	db    *db.DB
	store store
	now   func() time.Time
}

// NewService makes the service.
func NewService(pool *db.DB) *Service {
	return &Service{db: pool, store: store{db: pool}, now: time.Now}
}

// Status is a reorganization's state and progress.
type Status struct {
	ID         uuid.UUID  `json:"id"`
	From       string     `json:"from_edition"`
	To         string     `json:"to_edition"`
	State      string     `json:"state"` // applying, applied
	Households int        `json:"households"`
	Moved      int        `json:"moved"`
	Pending    int        `json:"pending"` // placed, not yet moved
	Queued     int        `json:"queued"`  // awaiting a decision
	StartedBy  string     `json:"started_by"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	Plan       Plan       `json:"plan"`
}

// DryRun is the plan, with nothing written.
func (s *Service) DryRun(ctx context.Context, o Options) (Plan, error) {
	p, err := s.prepare(ctx, o)
	return p.plan, err
}

// Apply reorganizes to o.To: it starts (plan, successions, bindings, the
// edition in use switched, every household's destination recorded, in one
// transaction), or resumes the run already started, then moves households
// in batches until none is left but those awaiting a decision. A run killed
// at any point is resumed by running it again; the end state is the same.
func (s *Service) Apply(ctx context.Context, o Options) (Status, error) {
	id, err := s.start(ctx, o)
	if err != nil {
		return Status{}, err
	}
	return s.run(ctx, id, o)
}

// errChanged refuses a start whose plan no longer holds.
func errChanged(what string) error {
	return apperr.New(apperr.Conflict, "reorganization_changed", "%s: plan again", what)
}

// sameBindings reports whether two reads of the bindings name the same ones.
func sameBindings(a, b []Binding) bool {
	key := func(bs []Binding) []string {
		out := make([]string, len(bs))
		for i, x := range bs {
			out[i] = x.Kind + "/" + x.Ref
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(key(a), key(b))
}

// errBlocked is a plan with blockers.
type errBlocked struct{ plan Plan }

func (e *errBlocked) Error() string {
	const shown = 20
	msg := fmt.Sprintf("reorganize: %d thing(s) must be decided first: %s", len(e.plan.Blockers),
		strings.Join(e.plan.Blockers[:min(len(e.plan.Blockers), shown)], "; "))
	if len(e.plan.Blockers) > shown {
		msg += fmt.Sprintf("; and %d more", len(e.plan.Blockers)-shown)
	}
	return msg
}

// Blocked is the plan a refused start computed, when that was the reason.
func Blocked(err error) (Plan, bool) {
	var e *errBlocked
	if errors.As(err, &e) {
		return e.plan, true
	}
	return Plan{}, false
}

// start begins a reorganization to o.To unless one was begun: its id.
func (s *Service) start(ctx context.Context, o Options) (uuid.UUID, error) {
	if id, found, err := s.store.existing(ctx, o.To); err != nil || found {
		return id, err
	}
	p, err := s.prepare(ctx, o)
	if err != nil {
		return uuid.Nil, err
	}
	if len(p.plan.Blockers) > 0 {
		return uuid.Nil, &errBlocked{plan: p.plan}
	}
	id := uuid.Must(uuid.NewV7())
	err = s.db.WithTx(ctx, func(ctx context.Context) error {
		// One start at a time; the loser finds the winner's run.
		if err := s.store.lockStarts(ctx); err != nil {
			return err
		}
		if _, found, err := s.store.existing(ctx, o.To); err != nil || found {
			return errors.Join(err, errChanged("another run to this edition started meanwhile; run again to resume it"))
		}
		// What the plan was computed on must still hold now that starts are
		// serialized: the edition in use, no other run under way, the same
		// bindings (one made since would be left on the old units).
		if from, err := s.store.inUse(ctx); err != nil || from != p.plan.From {
			return errors.Join(err, errChanged("the edition in use changed since the plan"))
		}
		if running, err := s.store.unfinished(ctx); err != nil || len(running) > 0 {
			return errors.Join(err, errChanged("another reorganization is still under way"))
		}
		if now, err := s.store.bindings(ctx, p.plan.From, vn.Today(s.now())); err != nil || !sameBindings(now, p.bindings) {
			return errors.Join(err, errChanged("assignments, budgets, targets, standards, programs or campaigns changed since the plan"))
		}
		if p.plan.MappingReplaced {
			if err := s.store.replaceSuccessions(ctx, p.plan.From, p.plan.To, p.successions); err != nil {
				return err
			}
		}
		actor, _ := access.ActorFrom(ctx)
		if err := s.store.insertRun(ctx, id, p.plan, actor.Username); err != nil {
			return err
		}
		if err := s.store.recordMoves(ctx, id, p); err != nil {
			return err
		}
		if err := s.store.applyBindings(ctx, p); err != nil {
			return err
		}
		// From here plain codes are read in the new edition.
		if err := s.store.switchInUse(ctx, p.plan.To); err != nil {
			return err
		}
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "area.reorganize_start", EntityType: "reorganization", EntityID: id.String(),
			After: map[string]any{"from_edition": p.plan.From, "to_edition": p.plan.To, "mapping_sha256": p.plan.MappingSHA256,
				"mapping_replaced": p.plan.MappingReplaced, "households": p.plan.Households, "queued": p.plan.Queued,
				"bindings": p.bindings}})
	})
	return id, db.MapError(err)
}

// run moves the placed households in batches, then those registered under
// the old edition while it started, and finishes once none awaits a decision.
func (s *Service) run(ctx context.Context, id uuid.UUID, o Options) (Status, error) {
	size := o.BatchSize
	if size <= 0 {
		size = 200
	}
	st, err := s.store.status(ctx, id)
	if err != nil {
		return Status{}, err
	}
	moved, pending := st.Moved, st.Pending
	batches := 0
	for {
		var n int
		var err error
		// A registration may take a suffixed code in the same commune between
		// the batch's check and its write: a Conflict is tried again.
		for try := 0; try < 3; try++ {
			n, err = s.moveBatch(ctx, id, st.To, nil, size, func() {
				if o.onBatch != nil {
					o.onBatch(batches + 1)
				}
			})
			if !apperr.Is(err, apperr.Conflict) {
				break
			}
		}
		if err != nil {
			return Status{}, err
		}
		if n == 0 {
			late, err := s.store.recordLate(ctx, id)
			if err != nil {
				return Status{}, err
			}
			if late > 0 {
				pending += int(late)
				continue
			}
			break
		}
		batches++
		moved, pending = moved+n, max(pending-n, 0)
		if o.Progress != nil {
			o.Progress(Progress{Batches: batches, Moved: moved, Pending: pending, Queued: st.Queued})
		}
	}
	if err := s.finishIfDone(ctx, id); err != nil {
		return Status{}, err
	}
	return s.Status(ctx, id)
}

// Resume continues every run that was started and not finished (after a
// crash or a restart). Batches take their households with SKIP LOCKED, so
// servers resuming the same run share it.
func (s *Service) Resume(ctx context.Context, log *slog.Logger) {
	if err := s.store.reopen(ctx); err != nil {
		log.Error("reorganizations to reopen", "error", err.Error())
		return
	}
	ids, err := s.store.unfinished(ctx)
	if err != nil {
		log.Error("reorganizations to resume", "error", err.Error())
		return
	}
	for _, id := range ids {
		if _, err := s.run(access.WithActor(ctx, access.System("reorganize")), id, Options{}); err != nil && ctx.Err() == nil {
			log.Error("resuming a reorganization", "id", id, "error", err.Error())
		}
	}
}

// finishIfDone marks the run applied when no household of the old edition
// is left.
func (s *Service) finishIfDone(ctx context.Context, id uuid.UUID) error {
	return s.db.WithTx(ctx, func(ctx context.Context) error {
		done, err := s.store.markApplied(ctx, id)
		if err != nil || !done {
			return err
		}
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "area.reorganize_finish", EntityType: "reorganization",
			EntityID: id.String(), After: map[string]any{"state": "applied"}})
	})
}

// moved is one household moved by a batch.
type moved struct {
	ID       uuid.UUID `json:"id"`
	From     string    `json:"from"`
	To       string    `json:"to"`
	Code     string    `json:"code"`
	NewCode  string    `json:"new_code,omitempty"` // when the code was taken in the new commune
	oldPath  string
	newPath  string
	province string
}

// moveBatch moves up to size placed households (only these, when ids is
// given) to edition to in one transaction: the household with its members, attachments,
// live enrollments and their approvals, open duplicate candidates (its
// attachments follow by trigger: households_move_attachments); the sync
// feed told on both sides; one audit event per destination province. It
// returns how many moved.
func (s *Service) moveBatch(ctx context.Context, id uuid.UUID, to string, ids []uuid.UUID, size int, beforeCommit func()) (int, error) {
	count := 0
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		picked, err := s.store.pickPending(ctx, id, ids, size)
		if err != nil || len(picked) == 0 {
			return err
		}
		batch, err := s.store.lockBatch(ctx, id, to, picked)
		if err != nil {
			return err
		}
		if err := s.uniqueCodes(ctx, to, batch); err != nil {
			return err
		}
		if err := s.store.writeMoves(ctx, id, to, batch); err != nil {
			return err
		}
		byProvince := map[string][]moved{}
		for _, m := range batch {
			byProvince[m.province] = append(byProvince[m.province], m)
		}
		for _, p := range slices.Sorted(maps.Keys(byProvince)) {
			if err := audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "area.reorganize_move", EntityType: "reorganization",
				EntityID: id.String(), AreaPath: p, After: map[string]any{"to_edition": to, "households": byProvince[p]}}); err != nil {
				return err
			}
		}
		if beforeCommit != nil {
			beforeCommit()
		}
		count = len(batch)
		return nil
	})
	return count, db.MapError(err)
}

// fitCode is code with suffix, the code cut so that the whole stays within
// the 32 characters a household code may have (codes are ASCII).
func fitCode(code, suffix string) string {
	const maxCode = 32
	if len(code)+len(suffix) > maxCode {
		code = code[:maxCode-len(suffix)]
	}
	return code + suffix
}

// uniqueCodes gives a household whose code is taken in its new commune (by
// a household already there, or one moving in before it) the code with its
// old commune's code appended, "A12-30791", then "-2", "-3"... until free.
// The households of the old commune whose code the new one kept move first
// (moveBatch's order), so theirs stay as they were.
func (s *Service) uniqueCodes(ctx context.Context, edition string, batch []moved) error {
	var communes, codes []string
	for _, m := range batch {
		communes = append(communes, m.To, m.To)
		codes = append(codes, m.Code, fitCode(m.Code, "-"+m.From))
	}
	taken, err := s.store.takenCodes(ctx, edition, communes, codes)
	if err != nil {
		return err
	}
	for i := range batch {
		m := &batch[i]
		code := m.Code
		for n := 1; taken[m.To+"/"+code]; n++ {
			suffix := "-" + m.From
			if n > 1 {
				suffix += fmt.Sprintf("-%d", n)
			}
			code = fitCode(m.Code, suffix)
			if n > 1 {
				// Beyond the two candidates read above, ask.
				exists, err := s.store.codeExists(ctx, edition, m.To, code)
				if err != nil {
					return err
				}
				if exists {
					taken[m.To+"/"+code] = true
				}
			}
		}
		taken[m.To+"/"+code] = true
		if code != m.Code {
			m.NewCode = code
		}
	}
	return nil
}

var errNotFound = apperr.New(apperr.NotFound, "reorganization_not_found", "no such reorganization")

// Status reads a reorganization with its progress.
func (s *Service) Status(ctx context.Context, id uuid.UUID) (Status, error) {
	return s.store.status(ctx, id)
}
