package report

import (
	"cmp"
	"context"
	"math"
	"time"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/assessment"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/vn"
)

// TrendFigures are an area's figures in one year of a trend.
type TrendFigures struct {
	Key, Name                     string
	Households, Poor, NearPoor    int64
	PoorRate, NearPoorRate        float64
	Change                        *float64 // points against the year before; nil when the two are not comparable
	NewlyPoor, Escaped, ReEntered int64
}

// TrendYear is one year of a trend, on 31 December (today for this year):
// the area's figures and its children's, under the standard then in force.
type TrendYear struct {
	Year       int
	Date       time.Time
	Standard   string // "" when no standard of the day is recorded
	Comparable bool   // measured by the same standard as the year before
	Total      TrendFigures
	Children   []TrendFigures
}

// TrendPeriod is the change of an area's poverty rate over a run of years
// under one standard: a change of standard starts a new period, never
// joined to the one before.
type TrendPeriod struct {
	Key, Name           string
	Standard            string
	From, To            int
	FirstRate, LastRate float64
	Change              float64  // points, from the first year to the last
	AveragePerYear      *float64 // points a year; nil for a single year
}

// Trend is an area's poverty by year and child area over a period, its
// periods under each standard, and its targets of those years measured.
type Trend struct {
	From, To int
	Years    []TrendYear
	Periods  []TrendPeriod // the area's first, then each child's
	Targets  []Target
}

// MaxTrendYears is the longest period a trend covers.
const MaxTrendYears = 30

// TrendYears are the years a trend covers: to defaults to this year, from to
// nine years before it (a year not given is 0 or less).
func TrendYears(from, to int, today time.Time) (int, int) {
	if to <= 0 {
		to = today.Year()
	}
	if from <= 0 {
		from = max(to-9, 2000)
	}
	return from, to
}

// Trend is the trend of an area from one year to another, under an edition
// of the units (by default the one the records stood under at the end).
func (s *Service) Trend(ctx context.Context, scope access.Scope, edition, areaCode string, from, to int) (Area, Trend, error) {
	today := vn.Today(s.now())
	tr := Trend{From: from, To: to}
	switch {
	case from < 2000 || to > today.Year() || from > to:
		return Area{}, tr, apperr.Fields([]apperr.FieldError{{Field: "from", Code: "invalid",
			Message: "the period runs from a year (2000 or later) to a later one, not after this year"}})
	case to-from >= MaxTrendYears:
		return Area{}, tr, apperr.Fields([]apperr.FieldError{{Field: "from", Code: "invalid", Message: "a trend covers at most 30 years"}})
	}
	a, err := s.areaIn(ctx, scope, edition, areaCode, "area", yearEnd(to, today))
	if err != nil {
		return a, tr, err
	}
	// The year before the first gives the first year's change.
	first := max(from-1, 2000)
	var days []time.Time
	for y := first; y <= to; y++ {
		days = append(days, yearEnd(y, today))
	}
	var counts map[time.Time]map[string]povertyCounts
	var moves map[int]map[string]movements
	var names map[string]string
	var standards []assessment.Standard
	if err := s.refresh(ctx, a); err != nil {
		return a, tr, err
	}
	err = s.db.ReadTx(ctx, func(ctx context.Context, _ bool) error {
		if counts, moves, err = s.trendCounts(ctx, scope, a, days, from); err != nil {
			return err
		}
		if names, err = s.store.childNames(ctx, a); err != nil {
			return err
		}
		if standards, err = s.store.standardPeriods(ctx); err != nil {
			return err
		}
		tr.Targets, err = s.store.targets(ctx, a)
		return err
	})
	if err != nil {
		return a, tr, err
	}
	tr.Years = trendYears(a, days, from, counts, moves, names, standards)
	tr.Periods = trendPeriods(tr.Years)
	tr.Targets = measured(tr.Targets, tr.Years)
	return a, tr, nil
}

// trendCounts are the households of the area's children on each of the
// days, and the movements of each year from the year from to the last day:
// from the rollup for the units in use, from the rows for an older edition's.
func (s *Service) trendCounts(ctx context.Context, scope access.Scope, a Area, days []time.Time, from int) (map[time.Time]map[string]povertyCounts, map[int]map[string]movements, error) {
	last := days[len(days)-1]
	if a.Past {
		counts, err := s.store.trendCounts(ctx, scope, a, days)
		if err != nil {
			return nil, nil, err
		}
		moves, err := s.store.trendMovements(ctx, scope, a, time.Date(from, 1, 1, 0, 0, 0, 0, time.UTC), last)
		return counts, moves, err
	}
	// The levels at the end of each year and of the year before from: a
	// year's movements are the difference of its end's and the one before.
	before := time.Date(from-1, 12, 31, 0, 0, 0, 0, time.UTC)
	all := days
	if days[0].After(before) {
		all = append([]time.Time{before}, days...)
	}
	levels, err := s.store.rollupLevels(ctx, scope, a, all)
	if err != nil {
		return nil, nil, err
	}
	counts := map[time.Time]map[string]povertyCounts{}
	for _, d := range days {
		for k, l := range levels[d] {
			if l.counts.households > 0 {
				if counts[d] == nil {
					counts[d] = map[string]povertyCounts{}
				}
				counts[d][k] = l.counts
			}
		}
	}
	moves := map[int]map[string]movements{}
	for y := from; y <= last.Year(); y++ {
		end, prev := levels[minTime(time.Date(y, 12, 31, 0, 0, 0, 0, time.UTC), last)], levels[time.Date(y-1, 12, 31, 0, 0, 0, 0, time.UTC)]
		for k, l := range end {
			m := l.moves
			if p := prev[k]; p != nil {
				m = movements{m.newlyPoor - p.moves.newlyPoor, m.escaped - p.moves.escaped, m.reEntered - p.moves.reEntered}
			}
			if m != (movements{}) {
				if moves[y] == nil {
					moves[y] = map[string]movements{}
				}
				moves[y][k] = m
			}
		}
	}
	return counts, moves, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// standardOn is the code of the standard a household at path was measured
// by on day ("" if none is recorded).
func standardOn(standards []assessment.Standard, day time.Time, path string) string {
	st, _ := assessment.Measured(standards, path, day)
	return st.Code
}

// trendYears are the years from from on, each with its children (every
// child that has households in some year or a name), and the change from
// the year before when both were measured by the same standard.
func trendYears(a Area, days []time.Time, from int, counts map[time.Time]map[string]povertyCounts, moves map[int]map[string]movements,
	names map[string]string, standards []assessment.Standard) []TrendYear {
	keys := map[string]bool{}
	for _, byKey := range counts {
		for k := range byKey {
			keys[k] = true
		}
	}
	for k := range names {
		keys[k] = true
	}
	children := sortedKeys(keys)
	var out []TrendYear
	var prev *TrendYear
	for _, day := range days {
		y := TrendYear{Year: day.Year(), Date: day, Standard: standardOn(standards, day, a.Path)}
		y.Comparable = prev != nil && prev.Standard != "" && prev.Standard == y.Standard
		var sum povertyCounts
		var moved movements
		for i, k := range children {
			c, m := counts[day][k], moves[day.Year()][k]
			f := trendFigures(c, m)
			f.Key, f.Name = k, cmp.Or(names[k], k)
			if y.Comparable {
				f.Change = change(prev.Children[i], f)
			}
			y.Children = append(y.Children, f)
			sum.households, sum.poor, sum.nearPoor = sum.households+c.households, sum.poor+c.poor, sum.nearPoor+c.nearPoor
			moved.newlyPoor, moved.escaped, moved.reEntered = moved.newlyPoor+m.newlyPoor, moved.escaped+m.escaped, moved.reEntered+m.reEntered
		}
		y.Total = trendFigures(sum, moved)
		y.Total.Key, y.Total.Name = a.Code, a.Name
		if y.Comparable {
			y.Total.Change = change(prev.Total, y.Total)
		}
		out = append(out, y)
		prev = &out[len(out)-1]
	}
	for len(out) > 0 && out[0].Year < from { // the year before the first served its change only
		out = out[1:]
	}
	return out
}

func trendFigures(c povertyCounts, m movements) TrendFigures {
	return TrendFigures{Households: c.households, Poor: c.poor, NearPoor: c.nearPoor, PoorRate: rate(c.poor, c.households),
		NearPoorRate: rate(c.nearPoor, c.households), NewlyPoor: m.newlyPoor, Escaped: m.escaped, ReEntered: m.reEntered}
}

// change is the fall or rise of the poverty rate from one year to the next,
// in points (none when either year had no households).
func change(before, after TrendFigures) *float64 {
	if before.Households == 0 || after.Households == 0 {
		return nil
	}
	d := round2(after.PoorRate - before.PoorRate)
	return &d
}

func round2(x float64) float64 { return math.Round(100*x) / 100 }

// trendPeriods are the runs of years under one standard, for the area and
// then each child: the rate at each end, the change and its yearly average.
// A run is measured from its first year with households to its last; years
// no recorded standard covers make no period.
func trendPeriods(years []TrendYear) []TrendPeriod {
	var out []TrendPeriod
	series := func(pick func(TrendYear) TrendFigures) {
		start := 0
		for i := range years {
			if i+1 < len(years) && years[i+1].Standard == years[i].Standard {
				continue
			}
			run := years[start : i+1]
			start = i + 1
			lo, hi := 0, len(run)-1
			for lo <= hi && pick(run[lo]).Households == 0 {
				lo++
			}
			for hi >= lo && pick(run[hi]).Households == 0 {
				hi--
			}
			if run[0].Standard == "" || lo > hi {
				continue
			}
			first, last := pick(run[lo]), pick(run[hi])
			p := TrendPeriod{Key: last.Key, Name: last.Name, Standard: run[lo].Standard, From: run[lo].Year, To: run[hi].Year,
				FirstRate: first.PoorRate, LastRate: last.PoorRate, Change: round2(last.PoorRate - first.PoorRate)}
			if n := p.To - p.From; n > 0 {
				avg := round2(p.Change / float64(n))
				p.AveragePerYear = &avg
			}
			out = append(out, p)
		}
	}
	if len(years) == 0 {
		return nil
	}
	series(func(y TrendYear) TrendFigures { return y.Total })
	for c := range years[0].Children {
		series(func(y TrendYear) TrendFigures { return y.Children[c] })
	}
	return out
}

// measured are the targets of the trend's years, each measured against its
// year's figures (a reduction only against a comparable year before).
func measured(targets []Target, years []TrendYear) []Target {
	out := make([]Target, 0, len(targets))
	for _, t := range targets {
		for _, y := range years {
			if y.Year != t.Year {
				continue
			}
			if t.Metric == "poverty_rate_reduction" && y.Total.Change == nil {
				out = append(out, t) // not measurable across a change of standard
				break
			}
			row := PovertyRow{PoorRate: y.Total.PoorRate, NearPoorRate: y.Total.NearPoorRate}
			if y.Total.Change != nil {
				row.PrevPoorRate = round2(y.Total.PoorRate - *y.Total.Change)
			}
			t.measure(row)
			out = append(out, t)
		}
	}
	return out
}
