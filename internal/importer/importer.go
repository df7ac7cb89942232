// Package importer loads households with their members, or the recognized
// lists of past years, from CSV or XLSX files in the templates' layouts:
// validated with the registry's own rules, streamed in constant memory,
// written in batches of whole households (never half a household),
// re-runnable without duplicates; as a background job of the server or from
// the command line.
package importer

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/area"
	"github.com/ansinh/ansinh/internal/household"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// registry is what an import needs of the household registry.
type registry interface {
	CheckBatch(ctx context.Context, scope access.Scope, hs []household.Household) (household.BulkResult, error)
	InsertBatch(ctx context.Context, source string, hs []household.Household) ([]uuid.UUID, int, error)
	LookupKey(id household.IDNumber) []byte
	Classify(ctx context.Context, id uuid.UUID, to, decision string, effective time.Time) (string, bool, error)
}

// What an import reads.
const (
	Households = "households" // households with their members, a row a person
	History    = "history"    // the recognized lists of past years, a row a household and year
)

// format is what an import of one kind reads and writes: its template's
// columns, how a household's rows become what is written, and how a batch
// of them is checked against the database and written.
type format interface {
	columns() []Column
	build(rows []line, now time.Time) (pending, []Problem)
	// check finds what the database knows of a batch: households to skip
	// (existing) and those it refuses, with their problems. It may note on
	// the batch's elements what write needs.
	check(ctx context.Context, scope access.Scope, batch []pending) (checked, error)
	// write writes a checked batch's households and says what it added.
	write(ctx context.Context, source string, batch []pending) (Progress, error)
	// concurrent: batches may be written side by side.
	concurrent() bool
}

// checked is what check found of a batch, by the batch's index.
type checked struct {
	existing map[int]bool
	refused  map[int][]Problem
}

// maxMembers is the most members a household may have in a file.
const maxMembers = 50

// batchSize is how many households are checked and written together.
const batchSize = 1000

// Importer runs imports.
type Importer struct {
	db       *db.DB
	registry registry
	editions editions
	now      func() time.Time
}

// editions reads the editions of the administrative units (*area.Store).
type editions interface {
	Editions(ctx context.Context) ([]area.Edition, error)
}

// New makes an importer.
func New(pool *db.DB, reg registry) *Importer {
	return &Importer{db: pool, registry: reg, editions: area.NewStore(pool), now: time.Now}
}

// formatOf is the format of an import of what (Households or History).
func (im *Importer) formatOf(what string) (format, error) {
	switch what {
	case Households, "":
		return householdFormat{im: im}, nil
	case History:
		return &historyFormat{im: im, store: historyStore{db: im.db}}, nil
	}
	return nil, errWhat()
}

// Run imports a file (kind csv or xlsx) as the actor in ctx within scope,
// calling progress after every batch. In all-or-nothing mode everything is
// one transaction; in valid-only mode each batch is one (a crash loses at
// most the batch being written, and always whole households); a dry run
// writes nothing. The source names the import in the audit trail.
func (im *Importer) Run(ctx context.Context, scope access.Scope, mode, kind, source string, file io.ReaderAt, size int64,
	progress func(Progress)) (Result, error) {
	return im.RunOf(ctx, Households, scope, mode, kind, source, file, size, progress)
}

// RunOf is Run for an import of what: Households or History.
func (im *Importer) RunOf(ctx context.Context, what string, scope access.Scope, mode, kind, source string, file io.ReaderAt, size int64,
	progress func(Progress)) (Result, error) {
	if err := checkMode(mode); err != nil {
		return Result{}, err
	}
	f, err := im.formatOf(what)
	if err != nil {
		return Result{}, err
	}
	r := &runner{im: im, format: f, scope: scope, mode: mode, source: source, progress: progress, now: im.now(),
		seenHouseholds: map[uint64]struct{}{}, seenIDs: map[uint64]struct{}{}}
	if err := r.open(file, size, kind); err != nil {
		return Result{}, err
	}
	defer r.src.Close()
	return r.finish(r.execute(ctx))
}

// runner is one import, from the file's header to its figures: the options
// it runs with, the file being read, the figures and problems (the report),
// the household being gathered, the batch being filled and the writers the
// batches go to.
type runner struct {
	im       *Importer
	format   format
	scope    access.Scope
	mode     string
	source   string // names the import in the audit trail
	progress func(Progress)
	now      time.Time

	src  rowReader      // the file, after its header
	cols map[string]int // the header's columns

	mu  sync.Mutex // res, between the reader and the writers
	res Result

	// The reader's own. Households and ID numbers seen in the file are
	// 64-bit hashes: the memory stays small whatever the file's size.
	seenHouseholds map[uint64]struct{}
	seenIDs        map[uint64]struct{}
	group          []line // the rows of the household being gathered
	groupKey       string // its commune and household code
	batch          []pending

	batches chan []pending  // to the writers
	wctx    context.Context // done when a writer failed or the import stops
	halt    func()          // stops the reader
	wait    func() error    // closes batches and waits for the writers (once)
}

// pending is a household read from the file, with where it came from.
type pending struct {
	h    household.Household
	rows []int    // the file's row numbers of its members (of its years, in a history)
	past *history // a history's years and what check found of them
}

// open opens the file and reads its header.
func (r *runner) open(file io.ReaderAt, size int64, kind string) error {
	src, err := openRows(file, size, kind)
	if err != nil {
		return err
	}
	rec, err := src.Next()
	if err != nil {
		src.Close()
		return fileProblem("the file is empty: it needs the template's header row")
	}
	cols, err := header(rec, r.format.columns())
	if err != nil {
		src.Close()
		return err
	}
	r.src, r.cols = src, cols
	return nil
}

// execute reads the file and writes its households: an all-or-nothing import
// in one transaction (a stream cannot be read twice: never retried), the
// others a transaction per batch.
func (r *runner) execute(ctx context.Context) error {
	if r.mode == AllOrNothing {
		return r.im.db.WithTxOnce(ctx, r.process)
	}
	return r.process(ctx)
}

// process reads the file while the writers write its batches. The file's
// problem is the import's error (once the batches sent are written); else a
// writer's failure, or the import's context cancelled.
func (r *runner) process(ctx context.Context) error {
	r.startWriters(ctx)
	defer r.wait() // closes the batches whatever happens
	err := r.read()
	werr := r.wait()
	switch {
	case errors.Is(err, errHalted) && ctx.Err() != nil:
		return errors.Join(errStop, ctx.Err())
	case errors.Is(err, errHalted) && werr != nil, err == nil:
		err = werr
	}
	if err != nil {
		return err
	}
	if r.mode == AllOrNothing && r.res.HouseholdsInvalid > 0 { // the writers are done
		return errDoomed
	}
	return nil
}

// finish ends the run: an all-or-nothing import with invalid households
// wrote nothing (its transaction rolled back), which is no error; progress
// hears the last figures.
func (r *runner) finish(err error) (Result, error) {
	if errors.Is(err, errDoomed) {
		r.res.HouseholdsCreated, r.res.MembersCreated, r.res.HouseholdsExisting = 0, 0, 0
		r.res.YearsRecorded, r.res.YearsExisting = 0, 0
		err = nil
	}
	if r.progress != nil {
		r.progress(r.res.Progress)
	}
	return r.res, err
}

// read reads the rows after the header, gathering households and sending
// their batches to the writers.
func (r *runner) read() error {
	for n := 2; ; n++ {
		if r.wctx.Err() != nil {
			return errHalted
		}
		rec, err := r.src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fileProblem("row %d cannot be read: %v", n, err)
		}
		if blank(rec) {
			continue
		}
		if err := r.add(line{number: n, get: getter(rec, r.cols)}); err != nil {
			return err
		}
	}
	if err := r.flush(); err != nil {
		return err
	}
	if len(r.batch) > 0 {
		return r.send()
	}
	return nil
}

// errHalted stops the reader once wctx is done: a writer failed, or the
// import's context was cancelled.
var errHalted = errors.New("import: the writers stopped")

// add puts a row in the household being gathered, after flushing the one
// before if the row begins another.
func (r *runner) add(l line) error {
	r.mu.Lock()
	r.res.RowsRead++
	r.mu.Unlock()
	key := strings.TrimSpace(l.get("commune_code")) + "\x00" + strings.TrimSpace(l.get("household_code"))
	if key != r.groupKey {
		if err := r.flush(); err != nil {
			return err
		}
		r.groupKey = key
	}
	if len(r.group) <= maxMembers {
		r.group = append(r.group, l)
	} else {
		r.group = append(r.group[:maxMembers], l) // keeps the count over the cap without holding the rows
	}
	return nil
}

// flush ends the household being gathered: an invalid one is counted with
// its problems, a valid one joins the batch.
func (r *runner) flush() error {
	if len(r.group) == 0 {
		return nil
	}
	p, probs := r.validate(r.group)
	r.group = r.group[:0]
	r.mu.Lock()
	if len(probs) > 0 {
		r.res.HouseholdsInvalid++
		r.res.note(probs...)
		r.mu.Unlock()
		return nil
	}
	r.res.HouseholdsValid++
	r.mu.Unlock()
	r.batch = append(r.batch, p)
	if len(r.batch) >= batchSize {
		return r.send()
	}
	return nil
}

// validate builds a household from its rows with the registry's rules and
// checks it against the households and ID numbers above it in the file.
func (r *runner) validate(group []line) (pending, []Problem) {
	if len(group) > maxMembers {
		return pending{}, []Problem{problem(group[0].number, "household_code", "too_many_members",
			fmt.Sprintf("a household has at most %d members: check that each household has its own code", maxMembers))}
	}
	p, probs := r.format.build(group, r.now)
	p.rows = p.rows[:0]
	for _, l := range group {
		p.rows = append(p.rows, l.number)
	}
	return p, append(probs, r.seen(p, group[0])...)
}

// seen finds a household's rows apart from its earlier ones, and ID numbers
// on rows above. A household whose text could not be read (none was made)
// is remembered by its codes as written, and has no other problem found.
func (r *runner) seen(p pending, first line) []Problem {
	h := p.h
	unreadable := len(h.Members) == 0 && p.past == nil // a history's households have no members in the file
	key := hash([]byte(h.CommuneCode), []byte(h.Code))
	if unreadable {
		key = hash([]byte(strings.TrimSpace(first.get("commune_code"))), []byte(strings.TrimSpace(first.get("household_code"))))
	}
	_, dup := r.seenHouseholds[key]
	r.seenHouseholds[key] = struct{}{}
	var probs []Problem
	if dup && !unreadable {
		probs = append(probs, problem(first.number, "household_code", "scattered",
			fmt.Sprintf("household %s of commune %s already appeared above: a household's rows must be together", h.Code, h.CommuneCode)))
	}
	for i, m := range h.Members {
		if m.IDNumber == nil {
			continue
		}
		k := hash(r.im.registry.LookupKey(*m.IDNumber))
		if _, dup := r.seenIDs[k]; dup {
			probs = append(probs, problem(p.rows[i], "id_number", "duplicate", "the same ID number is on a row above"))
		} else {
			r.seenIDs[k] = struct{}{}
		}
	}
	return probs
}

// hash is a 64-bit hash of parts.
func hash(parts ...[]byte) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write(p)
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// send hands the batch to the writers, unless they stopped.
func (r *runner) send() error {
	select {
	case r.batches <- r.batch:
		r.batch = nil
		return nil
	case <-r.wctx.Done():
		return errHalted
	}
}

// startWriters starts the writers of the batches: several, each batch its own
// transaction, except in an all-or-nothing import (one writer, in the one
// transaction). Reading and checking overlap with writing.
func (r *runner) startWriters(ctx context.Context) {
	// Two: at 250,000 households, 1 writer took 107 s, 2 took 67-72 s and 3
	// took 75-81 s. A third makes the writers wait on each other (the rows
	// of the communes their households' foreign keys lock, their pages)
	// more than it adds.
	writers := 2
	if r.mode == AllOrNothing || !r.format.concurrent() {
		writers = 1
	}
	r.batches = make(chan []pending, writers)
	g, gctx := errgroup.WithContext(ctx)
	// The reader watches wctx: done when the import's context is, or as soon
	// as a writer fails (errgroup cancels gctx only once that writer returns,
	// after it drained the batches, that is after the whole file was read).
	r.wctx, r.halt = context.WithCancel(gctx)
	for range writers {
		g.Go(func() error { return r.writeAll(gctx) })
	}
	var once sync.Once
	var werr error
	r.wait = func() error {
		once.Do(func() { close(r.batches); werr = g.Wait(); r.halt() })
		return werr
	}
}

// writeAll writes the batches it is sent, each in a transaction, and tells
// progress after each.
func (r *runner) writeAll(ctx context.Context) error {
	for b := range r.batches {
		if err := r.im.db.WithTxOnce(ctx, func(ctx context.Context) error { return r.write(ctx, b) }); err != nil {
			r.halt()              // the reader stops now,
			for range r.batches { // and finishes sending
			}
			return err
		}
		r.report()
	}
	return nil
}

// write checks a batch against the registry and inserts its households that
// are valid and new, unless nothing may be written.
func (r *runner) write(ctx context.Context, batch []pending) error {
	valid, writable, err := r.check(ctx, batch)
	if err != nil || !writable {
		return err
	}
	return r.insert(ctx, valid)
}

// check asks the format what the database knows of a batch: households
// already there are counted as existing, those it refuses as invalid (with
// their problems); the others are to be written unless this is a dry run or
// an all-or-nothing import that an invalid household doomed.
func (r *runner) check(ctx context.Context, batch []pending) (valid []pending, writable bool, err error) {
	found, err := r.format.check(ctx, r.scope, batch)
	if err != nil {
		return nil, false, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, p := range batch {
		switch {
		case found.existing[i]:
			r.res.HouseholdsExisting++
		case len(found.refused[i]) > 0:
			r.res.HouseholdsInvalid++
			r.res.HouseholdsValid--
			r.res.note(found.refused[i]...)
		default:
			valid = append(valid, p)
		}
	}
	doomed := r.mode == AllOrNothing && r.res.HouseholdsInvalid > 0
	return valid, r.mode != DryRun && !doomed, nil
}

// insert writes a batch's valid households and counts what they added.
func (r *runner) insert(ctx context.Context, valid []pending) error {
	added, err := r.format.write(ctx, r.source, valid)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res.HouseholdsCreated += added.HouseholdsCreated
	r.res.HouseholdsExisting += added.HouseholdsExisting
	r.res.MembersCreated += added.MembersCreated
	r.res.YearsRecorded += added.YearsRecorded
	r.res.YearsExisting += added.YearsExisting
	return nil
}

// report tells progress, outside the lock and any transaction (it may write
// the job's row): after each batch, which is also the job's heartbeat.
func (r *runner) report() {
	if r.progress == nil {
		return
	}
	r.mu.Lock()
	p := r.res.Progress
	r.mu.Unlock()
	r.progress(p)
}

// householdFormat is the import of households with their members.
type householdFormat struct{ im *Importer }

func (householdFormat) columns() []Column { return Columns }

// concurrent: households of a file are distinct (the reader refuses a
// household's rows apart), and the registry's unique keys settle the rest.
func (householdFormat) concurrent() bool { return true }

func (householdFormat) build(rows []line, now time.Time) (pending, []Problem) {
	h, probs := build(rows, now)
	return pending{h: h}, probs
}

// check asks the registry: households already registered (commune and
// code) are skipped, those in conflict with it refused.
func (f householdFormat) check(ctx context.Context, scope access.Scope, batch []pending) (checked, error) {
	hs := make([]household.Household, len(batch))
	for i, p := range batch {
		hs[i] = p.h
	}
	res, err := f.im.registry.CheckBatch(ctx, scope, hs)
	if err != nil {
		return checked{}, err
	}
	out := checked{existing: map[int]bool{}, refused: map[int][]Problem{}}
	for _, i := range res.Existing {
		out.existing[i] = true
	}
	for i, fe := range res.Conflicts {
		if len(fe) > 0 {
			out.refused[i] = placedPending(batch[i], fe)
		}
	}
	return out, nil
}

func (f householdFormat) write(ctx context.Context, source string, batch []pending) (Progress, error) {
	hs := make([]household.Household, len(batch))
	for i, p := range batch {
		hs[i] = p.h
	}
	ids, members, err := f.im.registry.InsertBatch(ctx, source, hs)
	return Progress{HouseholdsCreated: len(ids), MembersCreated: members}, err
}

// placedPending puts the database's findings on a household's rows.
func placedPending(p pending, fe []apperr.FieldError) []Problem {
	ls := make([]line, len(p.rows))
	for i, r := range p.rows {
		ls[i] = line{number: r}
	}
	return placed(ls, fe)
}
