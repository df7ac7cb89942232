// Package report computes the aggregates and official lists a province sends
// up and a commune posts: poverty by area, support by program, targets
// against actuals; JSON, CSV and Excel.
package report

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/area"
	"github.com/ansinh/ansinh/internal/assessment"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/vn"
)

// readLogger records reads of personal data (the audit access log).
type readLogger interface {
	Read(ctx context.Context, subjectType, areaPath string, ids ...uuid.UUID)
}

// areas reads administrative areas (*area.Store).
type areas interface {
	Get(ctx context.Context, code string) (area.Area, error)
	GetIn(ctx context.Context, edition, code string) (area.Area, error)
	Editions(ctx context.Context) ([]area.Edition, error)
}

// Service computes reports in the caller's scope.
type Service struct {
	db    *db.DB
	store store
	areas areas
	reads readLogger
	now   func() time.Time
}

// NewService makes the service.
func NewService(pool *db.DB, reads readLogger, areas areas) *Service {
	return &Service{db: pool, store: store{db: pool}, areas: areas, reads: reads, now: time.Now}
}

// area reads an area the caller may report on: inside their scope (or, for
// an area above it, the part inside: the report then covers only that). A
// code that names no area is the field's error.
func (s *Service) area(ctx context.Context, scope access.Scope, code, field string) (Area, error) {
	found, err := s.areas.Get(ctx, code)
	return s.reportable(scope, found, err, code, field, false)
}

// areaIn is area in an edition of the units: by default the one the
// records stood under on day (area.RecordsEdition). An edition newer than
// the one in use names no records yet (a reorganization moves them).
func (s *Service) areaIn(ctx context.Context, scope access.Scope, edition, code, field string, day time.Time) (Area, error) {
	editions, err := s.areas.Editions(ctx)
	if err != nil {
		return Area{}, err
	}
	use := area.InUse(editions)
	if edition == "" {
		edition = area.RecordsEdition(editions, day)
	}
	i := slices.IndexFunc(editions, func(e area.Edition) bool { return e.Name == edition })
	switch {
	case i < 0:
		return Area{}, apperr.Fields([]apperr.FieldError{{Field: "edition", Code: "unknown", Message: "no edition " + edition + " is loaded"}})
	case editions[i].ValidFrom.After(use.ValidFrom):
		return Area{}, apperr.Fields([]apperr.FieldError{{Field: "edition", Code: "not_in_use_yet",
			Message: "the records are under the units of " + use.Name + " until a reorganization moves them to " + edition}})
	}
	found, err := s.areas.GetIn(ctx, edition, code)
	return s.reportable(scope, found, err, code, field, edition != use.Name)
}

// reportable is a found area the caller may report on: inside their scope
// or above part of it.
func (s *Service) reportable(scope access.Scope, found area.Area, err error, code, field string, past bool) (Area, error) {
	if e, ok := apperr.As(err); ok && e.Code == "area_not_found" {
		return Area{}, errNoArea(field)
	}
	if err != nil {
		return Area{}, err // the database, not the caller's area
	}
	a := Area{Edition: found.Edition, Code: found.Code, Name: found.Name, Level: found.Level, Path: found.Path, Past: past}
	if !scope.Contains(a.Path) && !slices.ContainsFunc(scope.Paths(), func(p string) bool { return strings.HasPrefix(p+".", a.Path+".") }) {
		return a, errAreaOutsideScope(code)
	}
	return a, nil
}

// Poverty is the poverty report of an area on a date, by child area, with
// the change against the same date a year before and the year's movements.
func (s *Service) Poverty(ctx context.Context, scope access.Scope, edition, areaCode string, on time.Time) (Area, []PovertyRow, PovertyRow, error) {
	a, err := s.areaIn(ctx, scope, edition, areaCode, "area", on)
	if err != nil {
		return a, nil, PovertyRow{}, err
	}
	var counts map[string]povertyCounts
	var moves map[string]movements
	var names map[string]string
	var standards []assessment.Standard
	// One snapshot, in a transaction bounded as the caller's kind of work (a
	// report's, on its routes).
	if err := s.refresh(ctx, a); err != nil {
		return a, nil, PovertyRow{}, err
	}
	err = s.db.ReadTx(ctx, func(ctx context.Context, _ bool) error {
		if counts, moves, err = s.povertyCounts(ctx, scope, a, on); err != nil {
			return err
		}
		if standards, err = s.store.standardPeriods(ctx); err != nil {
			return err
		}
		names, err = s.store.childNames(ctx, a)
		return err
	})
	if err != nil {
		return a, nil, PovertyRow{}, err
	}
	rows, total := povertyRows(a, counts, moves, names)
	// Rates measured by different standards are not compared.
	std, prev := standardOn(standards, on, a.Path), standardOn(standards, on.AddDate(-1, 0, 0), a.Path)
	comparable := std != "" && std == prev
	for i := range rows {
		rows[i].Standard, rows[i].PrevStandard, rows[i].Comparable = std, prev, comparable
	}
	total.Standard, total.PrevStandard, total.Comparable = std, prev, comparable
	return a, rows, total, nil
}

// refresh brings the rollup of the area up to every committed change before
// a report of the units in use reads it.
func (s *Service) refresh(ctx context.Context, a Area) error {
	if a.Past {
		return nil
	}
	if err := s.store.refreshRollup(ctx, a.Path); err != nil {
		return fmt.Errorf("report: refreshing the rollup: %w", err)
	}
	return nil
}

// povertyCounts are the households of the area's children on the date and a
// year before, and the year's movements up to the date: from the rollup for
// the units in use, from the rows where households stood for an older
// edition's.
func (s *Service) povertyCounts(ctx context.Context, scope access.Scope, a Area, on time.Time) (map[string]povertyCounts, map[string]movements, error) {
	if a.Past {
		counts, err := s.store.povertyCounts(ctx, scope, a, on)
		if err != nil {
			return nil, nil, err
		}
		moves, err := s.store.movements(ctx, scope, a, on)
		return counts, moves, err
	}
	// The levels on the date, a year before and at the end of the year
	// before (the year's movements are the difference from then).
	prev, yearStart := on.AddDate(-1, 0, 0), time.Date(on.Year()-1, 12, 31, 0, 0, 0, 0, time.UTC)
	levels, err := s.store.rollupLevels(ctx, scope, a, []time.Time{yearStart, prev, on})
	if err != nil {
		return nil, nil, err
	}
	counts, moves := map[string]povertyCounts{}, map[string]movements{}
	for k, l := range levels[on] {
		c := l.counts
		if p := levels[prev][k]; p != nil {
			c.prevHouseholds, c.prevPoor = p.counts.households, p.counts.poor
		}
		counts[k] = c
		m := l.moves
		if b := levels[yearStart][k]; b != nil {
			m = movements{m.newlyPoor - b.moves.newlyPoor, m.escaped - b.moves.escaped, m.reEntered - b.moves.reEntered}
		}
		if m != (movements{}) {
			moves[k] = m
		}
	}
	return counts, moves, nil
}

// povertyRows are the rows of every child area that has households or a
// name, in key order, and the area's totals.
func povertyRows(a Area, counts map[string]povertyCounts, moves map[string]movements, names map[string]string) ([]PovertyRow, PovertyRow) {
	keys := map[string]bool{}
	for k := range counts {
		keys[k] = true
	}
	for k := range names {
		keys[k] = true
	}
	var out []PovertyRow
	var sum povertyCounts
	var moved movements
	for _, k := range sortedKeys(keys) {
		c, m := counts[k], moves[k]
		r := povertyFigures(c, m)
		r.Key, r.Name = k, cmp.Or(names[k], k)
		out = append(out, r)
		sum.households, sum.poor, sum.nearPoor, sum.avg = sum.households+c.households, sum.poor+c.poor, sum.nearPoor+c.nearPoor, sum.avg+c.avg
		sum.prevHouseholds, sum.prevPoor = sum.prevHouseholds+c.prevHouseholds, sum.prevPoor+c.prevPoor
		moved.newlyPoor, moved.escaped, moved.reEntered = moved.newlyPoor+m.newlyPoor, moved.escaped+m.escaped, moved.reEntered+m.reEntered
	}
	total := povertyFigures(sum, moved)
	total.Key, total.Name = a.Code, a.Name
	return out, total
}

// povertyFigures are the figures and rates of counts and movements.
func povertyFigures(c povertyCounts, m movements) PovertyRow {
	r := PovertyRow{Households: c.households, Poor: c.poor, NearPoor: c.nearPoor, Avg: c.avg,
		NewlyPoor: m.newlyPoor, Escaped: m.escaped, ReEntered: m.reEntered}
	r.PoorRate, r.NearPoorRate, r.PrevPoorRate = rate(c.poor, c.households), rate(c.nearPoor, c.households), rate(c.prevPoor, c.prevHouseholds)
	r.Change = math.Round(100*(r.PoorRate-r.PrevPoorRate)) / 100
	return r
}

// Support is the support report of an area over a period, by program and
// child area, with the households and people supported in all.
func (s *Service) Support(ctx context.Context, scope access.Scope, edition, areaCode string, from, to time.Time) (Area, []SupportRow, Reach, error) {
	a, err := s.areaIn(ctx, scope, edition, areaCode, "area", to)
	if err != nil {
		return a, nil, Reach{}, err
	}
	if to.Before(from) {
		return a, nil, Reach{}, errPeriod()
	}
	var figures map[[2]string]*SupportRow
	var names map[string]string
	var reach Reach
	err = s.db.ReadTx(ctx, func(ctx context.Context, _ bool) error {
		if figures, err = s.store.support(ctx, scope, a, from, to); err != nil {
			return err
		}
		if reach, err = s.store.supportReach(ctx, scope, a, from, to); err != nil {
			return err
		}
		names, err = s.store.childNames(ctx, a)
		return err
	})
	if err != nil {
		return a, nil, Reach{}, err
	}
	out := make([]SupportRow, 0, len(figures))
	for _, r := range figures {
		r.Name = cmp.Or(names[r.Key], r.Key)
		out = append(out, *r)
	}
	slices.SortFunc(out, func(x, y SupportRow) int { return cmp.Or(cmp.Compare(x.Program, y.Program), cmp.Compare(x.Key, y.Key)) })
	return a, out, reach, nil
}

// SetTarget records (or replaces) an area's target for a metric and year.
func (s *Service) SetTarget(ctx context.Context, scope access.Scope, t Target) (Target, error) {
	if err := t.normalize(); err != nil {
		return Target{}, err
	}
	a, err := s.area(ctx, scope, t.AreaCode, "area_code")
	if err != nil {
		return Target{}, err
	}
	if !scope.Contains(a.Path) {
		return Target{}, errTargetOutsideScope()
	}
	err = s.db.WithTx(ctx, func(ctx context.Context) error {
		if t, err = s.store.setTarget(ctx, a, t); err != nil {
			return err
		}
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "report_target.set", EntityType: "report_target", EntityID: t.ID.String(),
			AreaPath: a.Path, After: map[string]any{"area": a.Code, "metric": t.Metric, "year": t.Year, "value": t.Value,
				"description": t.Description, "version": t.Version}})
	})
	return t, db.MapError(err)
}

// Targets are an area's targets by year with the actual figures: the rate
// on 31 December (or today, for the current year), and for a reduction the
// fall from the year before, in points.
func (s *Service) Targets(ctx context.Context, scope access.Scope, areaCode string) (Area, []Target, error) {
	a, err := s.area(ctx, scope, areaCode, "area")
	if err != nil {
		return a, nil, err
	}
	out, err := s.store.targets(ctx, a)
	if err != nil {
		return a, nil, err
	}
	today := vn.Today(s.now())
	totals := map[int]PovertyRow{}
	for i := range out {
		t := &out[i]
		if t.Year > today.Year() {
			continue
		}
		total, ok := totals[t.Year]
		if !ok {
			if _, _, total, err = s.Poverty(ctx, scope, a.Edition, a.Code, yearEnd(t.Year, today)); err != nil {
				return a, nil, err
			}
			totals[t.Year] = total
		}
		t.measure(total)
	}
	return a, out, nil
}

// DesignationRow is how many units (or hamlets) carry a designation at the
// start and the end of a period.
type DesignationRow struct {
	Label, NameVI, NameEN string
	From, To              int64
}

// designationNames are the designations' names, in the order reports list
// them.
var designationNames = []struct{ label, vi, en string }{
	{"coastal_extremely_difficult", "Xã đặc biệt khó khăn vùng bãi ngang ven biển và hải đảo", "Extremely difficult coastal and island communes"},
	{"ethnic_mountainous_zone_III", "Xã khu vực III (vùng đồng bào DTTS và miền núi)", "Zone III communes (ethnic-minority and mountainous region)"},
	{"ethnic_mountainous_zone_II", "Xã khu vực II", "Zone II communes"},
	{"ethnic_mountainous_zone_I", "Xã khu vực I", "Zone I communes"},
	{"extremely_difficult_hamlet", "Thôn, ấp đặc biệt khó khăn", "Extremely difficult hamlets"},
	{"border_commune", "Xã biên giới", "Border communes"},
	{"poor_district", "Huyện nghèo", "Poor districts"},
}

// Designations counts the designated units and hamlets of an area at the
// start and the end of a period (the seed's target: halve the extremely
// difficult coastal communes and hamlets), under an edition of the units
// (by default the one of the period's end).
func (s *Service) Designations(ctx context.Context, scope access.Scope, edition, areaCode string, from, to time.Time) (Area, []DesignationRow, error) {
	a, err := s.areaIn(ctx, scope, edition, areaCode, "area", to)
	if err != nil {
		return a, nil, err
	}
	if to.Before(from) {
		return a, nil, errPeriod()
	}
	counts, err := s.store.designationCounts(ctx, scope, a, from, to)
	if err != nil {
		return a, nil, err
	}
	out := make([]DesignationRow, len(designationNames))
	for i, n := range designationNames {
		c := counts[n.label]
		out[i] = DesignationRow{Label: n.label, NameVI: n.vi, NameEN: n.en, From: c[0], To: c[1]}
	}
	return a, out, nil
}
