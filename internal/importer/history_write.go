package importer

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/area"
	"github.com/ansinh/ansinh/internal/assessment"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/household"
	"github.com/ansinh/ansinh/internal/platform/vn"
)

// historyFormat is the import of the recognized lists of past years.
type historyFormat struct {
	im    *Importer
	store historyStore

	once sync.Once // ref, read by the first batch
	ref  reference
	err  error
}

// reference is what every batch of a history is checked against.
type reference struct {
	editions  []area.Edition
	inUse     string
	standards []assessment.Standard
}

func (*historyFormat) columns() []Column { return HistoryColumns }

// concurrent is false: a household's years in two batches written at once
// would each miss the other's (the class before, the order, the same year).
func (*historyFormat) concurrent() bool { return false }

func (*historyFormat) build(rows []line, now time.Time) (pending, []Problem) {
	return buildHistory(rows, now)
}

func (f *historyFormat) reference(ctx context.Context) (reference, error) {
	f.once.Do(func() {
		if f.ref.editions, f.err = f.im.editions.Editions(ctx); f.err != nil {
			return
		}
		f.ref.inUse = area.InUse(f.ref.editions).Name
		f.ref.standards, f.err = f.store.standards(ctx)
	})
	return f.ref, f.err
}

// check finds each household of the batch in the units of its first year
// (or what registering it needs), and judges its years against those on
// record. Nothing is skipped whole: a household found still gets the years
// it lacks.
func (f *historyFormat) check(ctx context.Context, scope access.Scope, batch []pending) (checked, error) {
	out := checked{refused: map[int][]Problem{}}
	ref, err := f.reference(ctx)
	if err != nil {
		return out, err
	}
	refuse := func(i, row int, col, code, msg string) {
		out.refused[i] = append(out.refused[i], problem(row, col, code, msg))
	}
	var keys []unitKey
	for i := range batch {
		h := batch[i].past
		h.edition = area.RecordsEdition(ref.editions, h.years[0].effective)
		keys = append(keys, unitKey{edition: h.edition, commune: h.commune, code: h.code})
	}
	communes, err := f.store.communes(ctx, keys)
	if err != nil {
		return out, err
	}
	found, err := f.store.households(ctx, keys)
	if err != nil {
		return out, err
	}
	for i, k := range keys {
		h, row := batch[i].past, batch[i].rows[0]
		c, ok := communes[unitKey{edition: k.edition, commune: k.commune}]
		switch {
		case !ok || c.level != "commune":
			refuse(i, row, "commune_code", "unknown", fmt.Sprintf("no commune %s in the units of %s (in force on %s)",
				k.commune, k.edition, h.years[0].effective.Format(time.DateOnly)))
			continue
		case !scope.Contains(c.path):
			// Whether the household exists elsewhere is not the importer's to learn.
			refuse(i, row, "commune_code", "outside_scope", "the commune is outside your areas")
			continue
		}
		h.path = c.path
		if f, ok := found[k]; ok {
			if !scope.Contains(f.path) { // moved since out of the caller's areas
				refuse(i, row, "commune_code", "outside_scope", "the household is outside your areas")
				continue
			}
			h.householdID = f.id
		}
	}
	if err := f.registering(ctx, scope, ref, batch, out.refused); err != nil {
		return out, err
	}
	return out, f.judgeYears(ctx, ref, batch, out.refused)
}

// registering prepares the households of the batch that are not found: in
// the edition in use as the file gives them; under older units, in their
// commune's single successor, placed in the reorganization that moved its
// households (a divided commune's cannot be placed by the importer). The
// registry checks them as an import of households.
func (f *historyFormat) registering(ctx context.Context, scope access.Scope, ref reference, batch []pending, refused map[int][]Problem) error {
	refuse := func(i int, col, code, msg string) {
		refused[i] = append(refused[i], problem(batch[i].rows[0], col, code, msg))
	}
	var idx []int
	var creates []household.Household
	byCode := map[[2]string]int{} // the households created above in the batch, by commune and code
	for i := range batch {
		h := batch[i].past
		if len(refused[i]) > 0 || h.householdID != uuid.Nil {
			continue
		}
		if j, ok := byCode[[2]string{h.commune, h.code}]; ok && h.edition == ref.inUse { // created above under older codes
			h.householdID, h.twin = creates[j].ID, true
			continue
		}
		if len(h.createProblems) > 0 {
			refused[i] = append(refused[i], h.createProblems...)
			continue
		}
		if h.create == nil {
			for _, col := range h.missing {
				refuse(i, col, "required", "is required to register a household the registry does not have")
			}
			continue
		}
		nh := *h.create
		if h.edition != ref.inUse {
			to, reorg, err := f.successor(ctx, h.edition, h.commune, ref.inUse)
			if err != nil {
				return err
			}
			if to == "" {
				refuse(i, "commune_code", "not_placeable", fmt.Sprintf("commune %s of %s was divided, or its households were never moved "+
					"to the units in use (%s): register the household first, then import its history", h.commune, h.edition, ref.inUse))
				continue
			}
			nh.CommuneCode, h.moveFrom = to, &move{reorganization: reorg, fromCode: h.commune}
		}
		if j, ok := byCode[[2]string{nh.CommuneCode, nh.Code}]; ok { // the same household under the codes of other units
			h.householdID, h.twin = creates[j].ID, true
			continue
		}
		nh.ID = uuid.Must(uuid.NewV7())
		h.householdID, h.created = nh.ID, true
		byCode[[2]string{nh.CommuneCode, nh.Code}] = len(creates)
		idx, creates = append(idx, i), append(creates, nh)
	}
	if len(creates) == 0 {
		return nil
	}
	res, err := f.im.registry.CheckBatch(ctx, scope, creates)
	if err != nil {
		return err
	}
	for _, j := range res.Existing {
		refuse(idx[j], "household_code", "code_taken", fmt.Sprintf("code %s is taken in commune %s, where the household would go", creates[j].Code,
			creates[j].CommuneCode))
	}
	for j, fe := range res.Conflicts {
		refused[idx[j]] = append(refused[idx[j]], placedHead(batch[idx[j]].rows[0], fe)...)
	}
	for j, nh := range creates {
		batch[idx[j]].past.create = &nh
	}
	return nil
}

// successor is the unit in use that a commune of an older edition became,
// with the reorganization that moved its households: "" if it became
// several or no reorganization moved it.
func (f *historyFormat) successor(ctx context.Context, from, code, to string) (string, uuid.UUID, error) {
	reorg, err := f.store.reorganization(ctx, from, to)
	if err != nil || reorg == uuid.Nil {
		return "", uuid.Nil, err
	}
	next, err := f.store.successors(ctx, from, []string{code}, to)
	if err != nil || len(next[code]) != 1 {
		return "", uuid.Nil, err
	}
	return next[code][0], reorg, nil
}

// judgeYears checks each year of the households still accepted against the
// standards and what is on record: a year recorded alike is skipped, one
// recorded otherwise is a conflict, and a year may not come before the last
// one on record (the history is written in order). A household that comes
// again in the batch is judged against what the rows above add.
func (f *historyFormat) judgeYears(ctx context.Context, ref reference, batch []pending, refused map[int][]Problem) error {
	var ids []uuid.UUID
	for i := range batch {
		if len(refused[i]) == 0 {
			ids = append(ids, batch[i].past.householdID)
		}
	}
	onRecord, err := f.store.changes(ctx, ids)
	if err != nil {
		return err
	}
	byID := map[uuid.UUID]*known{}
	for i := range batch {
		h := batch[i].past
		if len(refused[i]) > 0 {
			continue
		}
		k := byID[h.householdID]
		if k == nil {
			k = &known{recorded: map[int]recorded{}}
			for _, c := range onRecord[h.householdID] {
				k.note(c)
			}
			byID[h.householdID] = k
		}
		h.known = k
		var probs []Problem
		for j := range h.years {
			probs = append(probs, h.judge(&h.years[j], ref)...)
		}
		if len(probs) > 0 {
			refused[i] = append(refused[i], probs...)
			continue
		}
		for _, y := range h.years { // the rows below see these years as recorded
			k.recorded[y.year] = recorded{class: y.class, decision: y.decision, on: y.effective}
			k.lastHistory = y.effective
		}
	}
	return nil
}

// note adds a change on record.
func (k *known) note(c changeOnRecord) {
	k.changes = append(k.changes, c.change)
	if c.history {
		k.recorded[c.year] = recorded{class: c.to, decision: c.decision, on: c.on}
		k.lastHistory = c.on
	}
	if c.on.After(k.latest) {
		k.latest = c.on
	}
}

// judge checks one year against the standards and the history on record.
func (h *history) judge(y *year, ref reference) []Problem {
	var probs []Problem
	st, ok := assessment.Measured(ref.standards, h.path, y.effective)
	if !ok {
		probs = append(probs, problem(y.row, "decision_date", "no_standard",
			"no poverty standard in force on "+y.effective.Format(time.DateOnly)+" is recorded: the registry cannot say what this list measured"))
	}
	for _, d := range y.deprivations {
		if ok && !slices.ContainsFunc(st.Indicators, func(i assessment.Indicator) bool { return i.Code == d }) {
			probs = append(probs, problem(y.row, "deprivations", "unknown", fmt.Sprintf("%s is not an indicator of standard %s", d, st.Code)))
		}
	}
	rec, ok := h.known.recorded[y.year]
	switch {
	case ok && rec.class == y.class && rec.on.Equal(y.effective):
		y.existing = true
	case ok:
		probs = append(probs, problem(y.row, "classification", "conflict", fmt.Sprintf("%d is recorded already as %s by decision %s of %s",
			y.year, rec.class, rec.decision, rec.on.Format(time.DateOnly))))
	case y.effective.Before(h.known.lastHistory):
		probs = append(probs, problem(y.row, "year", "order", fmt.Sprintf("this household's history is recorded up to %s: "+
			"import earlier years first (a year cannot go before one on record)", h.known.lastHistory.Format(time.DateOnly))))
	}
	return probs
}

// write registers the households to create, writes the years they lack
// (each from the class it had just before, on the lists the change puts it
// on), gives each household the class of its last year when that is the
// newest decision it has, and records the batch in the audit trail.
func (f *historyFormat) write(ctx context.Context, source string, batch []pending) (Progress, error) {
	var added Progress
	ref, err := f.reference(ctx)
	if err != nil {
		return added, err
	}
	var creates []household.Household
	var moves []newMove
	for _, p := range batch {
		switch h := p.past; {
		case h.created:
			creates = append(creates, *h.create)
			if h.moveFrom != nil {
				moves = append(moves, newMove{reorganization: h.moveFrom.reorganization, household: h.householdID,
					fromCode: h.moveFrom.fromCode, toCode: h.create.CommuneCode, householdCode: h.code})
			}
		case !h.twin:
			added.HouseholdsExisting++
		}
	}
	ids, members, err := f.im.registry.InsertBatch(ctx, source, creates)
	if err != nil {
		return added, err
	}
	added.HouseholdsCreated, added.MembersCreated = len(ids), members
	if err := f.store.insertMoves(ctx, moves); err != nil {
		return added, fmt.Errorf("history import moves: %w", err)
	}
	var rows []historyRow
	var paths []string
	var audited []map[string]any
	for _, p := range batch {
		h := p.past
		hr := h.rows(ref)
		rows = append(rows, hr...)
		added.YearsRecorded += len(hr)
		added.YearsExisting += len(h.years) - len(hr)
		paths = append(paths, h.path)
		audited = append(audited, map[string]any{"id": h.householdID, "code": h.code, "commune": h.commune, "edition": h.edition,
			"created": h.created, "years": len(hr)})
	}
	if err := f.store.insertHistory(ctx, source, rows); err != nil {
		return added, fmt.Errorf("history import: %w", err)
	}
	for _, p := range batch {
		if err := f.classify(ctx, p.past); err != nil {
			return added, err
		}
	}
	after := map[string]any{"households": audited}
	if len(rows) > 0 { // lists of past years: entered late by nature
		earliest := rows[0].effective
		for _, r := range rows[1:] {
			if r.effective.Before(earliest) {
				earliest = r.effective
			}
		}
		after["entered_late"] = audit.EnteredLate(earliest, vn.Today(f.im.now()))
	}
	return added, audit.Record(ctx, f.im.db.Conn(ctx), audit.Event{Action: "classification.import_history", EntityType: "import",
		EntityID: source, AreaPath: audit.CommonPath(paths), After: after})
}

// rows are the years a household lacks, each from the class it had just
// before (on record or written before it) with the lists the change puts it
// on: re-entry when it escaped poverty earlier within the standard's period.
func (h *history) rows(ref reference) []historyRow {
	var out []historyRow
	for _, y := range h.years {
		if y.existing {
			continue
		}
		st, _ := assessment.Measured(ref.standards, h.path, y.effective) // judge found it
		from, escaped, before := assessment.None, false, false
		var since time.Time // the date of the change from is taken from (the last before the year)
		for _, c := range h.known.changes {
			if !c.on.Before(y.effective) {
				continue
			}
			if !c.on.Before(since) {
				from, since, before = c.to, c.on, true
			}
			escaped = escaped || !c.on.Before(st.ValidFrom) && c.from == assessment.Poor && c.to != assessment.Poor
		}
		// The first class known of a household moves it onto no list: what
		// it was before is not known (its first list is not "newly poor").
		var lists []string
		if before {
			lists = assessment.Lists(from, y.class, escaped)
		}
		out = append(out, historyRow{household: h.householdID, year: y.year, path: h.path, standard: st.Code, from: from, to: y.class,
			effective: y.effective, decision: y.decision, lists: lists, income: y.income, deprivations: y.deprivations})
		h.known.changes = append(h.known.changes, change{on: y.effective, from: from, to: y.class})
	}
	return out
}

// classify gives the household the class of its last year written, when no
// newer decision is on record (the registry keeps the newest).
func (f *historyFormat) classify(ctx context.Context, h *history) error {
	var last *year
	for i := range h.years {
		if !h.years[i].existing {
			last = &h.years[i]
		}
	}
	if last == nil || last.effective.Before(h.known.latest) {
		return nil
	}
	if _, _, err := f.im.registry.Classify(ctx, h.householdID, last.class, last.decision, last.effective); err != nil {
		return fmt.Errorf("history import: classify household %s: %w", h.householdID, err)
	}
	return nil
}
