// Package importer loads households with their members from CSV or XLSX
// files in the template's layout: validated with the registry's own rules,
// streamed in constant memory, written in batches of whole households (never
// half a household), re-runnable without duplicates; as a background job of
// the server or from the command line.
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
	"github.com/ansinh/ansinh/internal/household"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// Modes of an import.
const (
	DryRun       = "dry_run"        // check everything, write nothing
	AllOrNothing = "all_or_nothing" // write every household, or none if any is invalid
	ValidOnly    = "valid_only"     // write the valid households, report the others
)

// registry is what an import needs of the household registry.
type registry interface {
	CheckBatch(ctx context.Context, scope access.Scope, hs []household.Household) (household.BulkResult, error)
	InsertBatch(ctx context.Context, source string, hs []household.Household) ([]uuid.UUID, int, error)
	LookupKey(id household.IDNumber) []byte
}

// Progress is where an import stands.
type Progress struct {
	RowsRead           int
	HouseholdsValid    int
	HouseholdsInvalid  int
	HouseholdsCreated  int
	HouseholdsExisting int
	MembersCreated     int
	Problems           int
}

// Result is a finished import: its figures and its first problems.
type Result struct {
	Progress
	Problems []Problem // at most MaxProblems
}

// MaxProblems is how many problems an import keeps (the count is complete).
const MaxProblems = 10_000

// maxMembers is the most members a household may have in a file.
const maxMembers = 50

// batchSize is how many households are checked and written together.
const batchSize = 1000

// Importer runs imports.
type Importer struct {
	db       *db.DB
	registry registry
	now      func() time.Time
}

// New makes an importer.
func New(pool *db.DB, reg registry) *Importer {
	return &Importer{db: pool, registry: reg, now: time.Now}
}

// pending is a household read from the file, with where it came from.
type pending struct {
	h     household.Household
	rows  []int // the file's row numbers of its members
	first int
}

// Run imports a file (kind csv or xlsx) as the actor in ctx within scope,
// calling progress after every batch. In all-or-nothing mode everything is
// one transaction; in valid-only mode each batch is one (a crash loses at
// most the batch being written, and always whole households); a dry run
// writes nothing. The source names the import in the audit trail.
func (im *Importer) Run(ctx context.Context, scope access.Scope, mode, kind, source string, file io.ReaderAt, size int64,
	progress func(Progress)) (Result, error) {
	if mode != DryRun && mode != AllOrNothing && mode != ValidOnly {
		return Result{}, apperr.Fields([]apperr.FieldError{{Field: "mode", Code: "invalid", Message: "must be dry_run, all_or_nothing or valid_only"}})
	}
	rows, err := openRows(file, size, kind)
	if err != nil {
		return Result{}, err
	}
	defer rows.Close()
	rec, err := rows.Next()
	if err != nil {
		return Result{}, fileProblem("the file is empty: it needs the template's header row")
	}
	cols, err := header(rec)
	if err != nil {
		return Result{}, err
	}
	var res Result
	note := func(ps ...Problem) {
		res.Progress.Problems += len(ps)
		for _, p := range ps {
			if len(res.Problems) < MaxProblems {
				res.Problems = append(res.Problems, p)
			}
		}
	}
	now := im.now()
	// Households seen in the file, and ID numbers, as 64-bit hashes: the
	// memory stays small whatever the file's size.
	seenHouseholds := map[uint64]struct{}{}
	seenIDs := map[uint64]struct{}{}
	hash := func(parts ...[]byte) uint64 {
		h := fnv.New64a()
		for _, p := range parts {
			h.Write(p)
			h.Write([]byte{0})
		}
		return h.Sum64()
	}

	var mu sync.Mutex // res, between the reader and the writers
	write := func(ctx context.Context, batch []pending) error {
		hs := make([]household.Household, len(batch))
		for i, p := range batch {
			hs[i] = p.h
		}
		check, err := im.registry.CheckBatch(ctx, scope, hs)
		if err != nil {
			return err
		}
		existing := map[int]bool{}
		for _, i := range check.Existing {
			existing[i] = true
		}
		mu.Lock()
		defer mu.Unlock()
		var valid []household.Household
		for i, p := range batch {
			switch {
			case existing[i]:
				res.HouseholdsExisting++
			case len(check.Conflicts[i]) > 0:
				res.HouseholdsInvalid++
				res.HouseholdsValid--
				note(placedPending(p, check.Conflicts[i])...)
			default:
				valid = append(valid, p.h)
			}
		}
		if mode == DryRun || mode == AllOrNothing && res.HouseholdsInvalid > 0 {
			return nil // nothing is written in a dry run, nor after a failure that dooms the whole
		}
		mu.Unlock()
		ids, members, err := im.registry.InsertBatch(ctx, source, valid)
		mu.Lock()
		if err != nil {
			return err
		}
		res.HouseholdsCreated += len(ids)
		res.MembersCreated += members
		return nil
	}
	// report tells progress, outside the lock and any transaction (it may
	// write the job's row): after each batch, which is also the job's heartbeat.
	report := func() {
		if progress == nil {
			return
		}
		mu.Lock()
		p := res.Progress
		mu.Unlock()
		progress(p)
	}

	// Batches go from the reader to writers: several, each batch its own
	// transaction, except in an all-or-nothing import (one writer, one
	// transaction). Reading and checking overlap with writing.
	writers := 3
	if mode == AllOrNothing {
		writers = 1
	}
	start := func(ctx context.Context) (chan<- []pending, context.Context, func() error) {
		batches := make(chan []pending, writers)
		g, gctx := errgroup.WithContext(ctx)
		for range writers {
			g.Go(func() error {
				for b := range batches {
					if err := im.db.WithTxOnce(gctx, func(ctx context.Context) error { return write(ctx, b) }); err != nil {
						for range batches { // let the reader finish sending
						}
						return err
					}
					report()
				}
				return nil
			})
		}
		var once sync.Once
		var werr error
		return batches, gctx, func() error {
			once.Do(func() { close(batches); werr = g.Wait() })
			return werr
		}
	}

	process := func(ctx context.Context) (err error) {
		batches, gctx, wait := start(ctx)
		defer func() {
			if werr := wait(); err == nil {
				err = werr
			}
		}()
		var batch []pending
		var group []line
		var groupKey string
		flush := func() error {
			if len(group) == 0 {
				return nil
			}
			if len(group) > maxMembers {
				mu.Lock()
				res.HouseholdsInvalid++
				note(problem(group[0].number, "household_code", "too_many_members",
					fmt.Sprintf("a household has at most %d members: check that each household has its own code", maxMembers)))
				mu.Unlock()
				group = group[:0]
				return nil
			}
			h, probs := build(group, now)
			p := pending{h: h, first: group[0].number}
			for _, l := range group {
				p.rows = append(p.rows, l.number)
			}
			key := hash([]byte(h.CommuneCode), []byte(h.Code))
			if _, dup := seenHouseholds[key]; dup {
				probs = append(probs, problem(group[0].number, "household_code", "scattered",
					fmt.Sprintf("household %s of commune %s already appeared above: a household's rows must be together", h.Code, h.CommuneCode)))
			} else {
				seenHouseholds[key] = struct{}{}
			}
			for i, m := range h.Members {
				if m.IDNumber == nil {
					continue
				}
				k := hash(im.registry.LookupKey(*m.IDNumber))
				if _, dup := seenIDs[k]; dup {
					probs = append(probs, problem(p.rows[i], "id_number", "duplicate", "the same ID number is on a row above"))
				} else {
					seenIDs[k] = struct{}{}
				}
			}
			group = group[:0]
			if len(probs) > 0 {
				mu.Lock()
				res.HouseholdsInvalid++
				note(probs...)
				mu.Unlock()
				return nil
			}
			mu.Lock()
			res.HouseholdsValid++
			mu.Unlock()
			batch = append(batch, p)
			if len(batch) >= batchSize {
				select {
				case batches <- batch:
				case <-gctx.Done(): // a writer failed: stop reading
					return gctx.Err()
				}
				batch = nil
			}
			return nil
		}
		for n := 2; ; n++ {
			if err := gctx.Err(); err != nil {
				if ctx.Err() == nil { // a writer failed; its error is what wait returns
					return nil
				}
				return errors.Join(errStop, err)
			}
			rec, err := rows.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fileProblem("row %d cannot be read: %v", n, err)
			}
			if blank(rec) {
				continue
			}
			mu.Lock()
			res.RowsRead++
			mu.Unlock()
			l := line{number: n, get: getter(rec, cols)}
			key := strings.TrimSpace(l.get("commune_code")) + "\x00" + strings.TrimSpace(l.get("household_code"))
			if key != groupKey {
				if err := flush(); err != nil {
					return err
				}
				groupKey = key
			}
			if len(group) <= maxMembers {
				group = append(group, l)
			} else {
				group = append(group[:maxMembers], l) // keeps the count over the cap without holding the rows
			}
		}
		if err := flush(); err != nil {
			return err
		}
		if len(batch) > 0 {
			select {
			case batches <- batch:
			case <-gctx.Done():
			}
		}
		if err := wait(); err != nil {
			return err
		}
		if mode == AllOrNothing && res.HouseholdsInvalid > 0 {
			return errDoomed
		}
		return nil
	}

	if mode == AllOrNothing {
		err = im.db.WithTxOnce(ctx, process) // a stream cannot be read twice: never retried
	} else {
		err = process(ctx)
	}
	if errors.Is(err, errDoomed) {
		res.HouseholdsCreated, res.MembersCreated, res.HouseholdsExisting = 0, 0, 0
		err = nil
	}
	if progress != nil {
		progress(res.Progress)
	}
	return res, err
}

// errDoomed rolls back an all-or-nothing import that found an invalid household.
var errDoomed = errors.New("import: invalid households: nothing written")

func blank(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

func getter(rec []string, cols map[string]int) func(string) string {
	return func(name string) string {
		if i, ok := cols[name]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
}

// placedPending puts the database's findings on a household's rows.
func placedPending(p pending, fe []apperr.FieldError) []Problem {
	ls := make([]line, len(p.rows))
	for i, r := range p.rows {
		ls[i] = line{number: r}
	}
	return placed(ls, fe)
}
