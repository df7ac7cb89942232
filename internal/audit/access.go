package audit

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/reqinfo"
)

// AccessLogger records who read which data subjects (persons, households),
// through which route. Entries are batched: they are written every flush
// interval or when a batch fills, and Close writes what is left. A crash loses
// at most one flush interval of entries (configurable, 1s by default); a
// clean shutdown loses none.
type AccessLogger struct {
	store    store
	log      *slog.Logger
	interval time.Duration

	mu      sync.Mutex
	pending []accessEntry
	kick    chan struct{}
	done    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

// maxBatch is the batch size that triggers an early flush, and the most
// entries one statement writes.
const maxBatch = 500

// maxStatementSubjects bounds the subject ids one statement writes (about
// 40 bytes each as text): 500 entries of a list page's members each made
// a statement of megabytes, which the flush, the driver and the connection
// each held a copy of (18 MB of the server's heap under read load).
const maxStatementSubjects = 4000

type accessEntry struct {
	id          uuid.UUID
	at          time.Time
	actor       access.Actor
	info        reqinfo.Info
	subjectType string
	subjectIDs  []uuid.UUID
	areaPath    string
}

// NewAccessLogger starts the flusher; call Close to stop it.
func NewAccessLogger(pool *db.DB, interval time.Duration, log *slog.Logger) *AccessLogger {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &AccessLogger{store: store{pool}, log: log, interval: interval,
		kick: make(chan struct{}, 1), done: make(chan struct{}), stopped: make(chan struct{})}
	go l.run()
	return l
}

// Read notes that the actor in ctx was shown the personal data of the given
// subjects (all of one type, e.g. "household" or "member") lying in areaPath.
// The area scopes who may later see the entry: callers showing subjects from
// several areas call Read once per area. It never fails the request: the
// entry is queued.
func (l *AccessLogger) Read(ctx context.Context, subjectType, areaPath string, ids ...uuid.UUID) {
	if len(ids) == 0 {
		return
	}
	actor, ok := access.ActorFrom(ctx)
	if !ok {
		actor = access.System("unknown")
	}
	id, _ := uuid.NewV7()
	e := accessEntry{id: id, at: time.Now().UTC(), actor: actor, info: reqinfo.From(ctx),
		subjectType: subjectType, subjectIDs: append([]uuid.UUID(nil), ids...), areaPath: areaPath}
	l.mu.Lock()
	l.pending = append(l.pending, e)
	full := len(l.pending) >= maxBatch
	l.mu.Unlock()
	if full {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
}

func (l *AccessLogger) run() {
	defer close(l.stopped)
	t := time.NewTicker(l.interval)
	defer t.Stop()
	for {
		select {
		case <-l.done:
			return
		case <-t.C:
		case <-l.kick:
		}
		if err := l.Flush(context.Background()); err != nil {
			l.log.Error("access log flush failed; will retry", "error", err.Error())
		}
	}
}

// Flush writes every queued entry now. Entries that fail to write stay queued.
func (l *AccessLogger) Flush(ctx context.Context) error {
	l.mu.Lock()
	batch := l.pending
	l.pending = nil
	l.mu.Unlock()
	// In statements of bounded size: a flush that fell behind under load
	// must not become one statement of unbounded size.
	for len(batch) > 0 {
		chunk := batch[:statementEntries(batch)]
		if err := l.write(ctx, chunk); err != nil {
			l.mu.Lock()
			l.pending = append(batch, l.pending...)
			l.mu.Unlock()
			return err
		}
		batch = batch[len(chunk):]
	}
	return nil
}

// statementEntries is how many of batch's first entries one statement
// writes: at most maxBatch, and no more subjects than maxStatementSubjects
// unless the first entry alone has more.
func statementEntries(batch []accessEntry) int {
	subjects := 0
	for i, e := range batch {
		subjects += len(e.subjectIDs)
		if i == maxBatch || (i > 0 && subjects > maxStatementSubjects) {
			return i
		}
	}
	return len(batch)
}

func (l *AccessLogger) write(ctx context.Context, batch []accessEntry) error {
	if err := l.store.insertAccess(ctx, batch); err != nil {
		return fmt.Errorf("audit: write %d access entries: %w", len(batch), err)
	}
	return nil
}

// route is the route the entry was read through, "(none)" outside a request.
func (e accessEntry) route() string {
	if e.info.Route == "" {
		return "(none)"
	}
	return e.info.Route
}

// Close stops the flusher and writes what is queued.
func (l *AccessLogger) Close(ctx context.Context) error {
	l.once.Do(func() { close(l.done) })
	<-l.stopped
	return l.Flush(ctx)
}
