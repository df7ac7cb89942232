package report

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/vn"
)

// Area is the area a report is about.
type Area struct {
	Edition, Code, Name, Level, Path string
	// Past: the edition is older than the one in use; households are counted
	// where they stood under its units (their moves), not where they are.
	Past bool
}

// PovertyRow is one child area's figures.
type PovertyRow struct {
	Key, Name                       string
	Households, Poor, NearPoor, Avg int64
	PoorRate, NearPoorRate          float64
	PrevPoorRate, Change            float64
	NewlyPoor, Escaped, ReEntered   int64
	// The standards in force on the date and a year before; the change is
	// shown only when they are one (Comparable).
	Standard, PrevStandard string
	Comparable             bool
}

// povertyCounts are one child area's households on the report's date and on
// the same date a year before.
type povertyCounts struct {
	households, poor, nearPoor, avg int64
	prevHouseholds, prevPoor        int64
}

// movements are one child area's recognized changes of the year.
type movements struct{ newlyPoor, escaped, reEntered int64 }

// SupportRow is one program's support in one child area over a period.
type SupportRow struct {
	Program, Key, Name               string
	Households, People               int64
	Delivered, Allocated, Committed  int64
	HousesStarted, HousesCompleted   int64
	Trainees, TrainingsCompleted     int64
	LoansDisbursed, LoansOutstanding int64
}

// Reach is how many households and people a support report's programs
// supported, each counted once across programs.
type Reach struct{ Households, People int64 }

// Target is a recorded target with the actual figure of its year.
type Target struct {
	ID          uuid.UUID
	AreaCode    string
	Metric      string
	Year        int
	Value       float64
	Description string
	Actual      *float64 // nil for a year not yet reached
	Met         *bool
	Version     int
}

// Metrics a target may set, and whether the actual must be at most (true)
// or at least the target.
var Metrics = map[string]bool{"poverty_rate": true, "near_poverty_rate": true, "poverty_rate_reduction": false}

// normalize checks a target's fields (the area is checked by the service)
// and trims its description.
func (t *Target) normalize() error {
	var fe apperr.FieldList
	if _, ok := Metrics[t.Metric]; !ok {
		fe.Add("metric", "invalid", "must be poverty_rate, near_poverty_rate or poverty_rate_reduction")
	}
	if t.Year < 2000 || t.Year > 2100 {
		fe.Add("year", "invalid", "must be from 2000 to 2100")
	}
	if t.Value < 0 || t.Value > 100 || math.IsNaN(t.Value) {
		fe.Add("value", "invalid", "is a percentage (or percentage points) from 0 to 100")
	}
	t.Description = strings.TrimSpace(t.Description)
	if len(t.Description) > 500 {
		fe.Add("description", "too_long", "must be at most 500 characters")
	}
	return fe.Err()
}

// measure sets the target's actual figure from the area's poverty totals of
// its year, and whether it was met.
func (t *Target) measure(total PovertyRow) {
	var actual float64
	switch t.Metric {
	case "poverty_rate":
		actual = total.PoorRate
	case "near_poverty_rate":
		actual = total.NearPoorRate
	case "poverty_rate_reduction":
		if !total.Comparable { // measured by two standards: no reduction to speak of
			return
		}
		actual = math.Round(100*(total.PrevPoorRate-total.PoorRate)) / 100
	}
	met := actual <= t.Value
	if !Metrics[t.Metric] {
		met = actual >= t.Value
	}
	t.Actual, t.Met = &actual, &met
}

// yearEnd is the date a year's figures are taken on: 31 December, or today
// for the current year.
func yearEnd(year int, today time.Time) time.Time {
	end := time.Date(year, 12, 31, 0, 0, 0, 0, time.UTC)
	if end.After(today) {
		return today
	}
	return end
}

// ReportDate is the date a report or list is about: the date asked for, else
// the end of the year asked for (today for this year), else today.
func ReportDate(date *time.Time, year int, today time.Time) time.Time {
	switch {
	case date != nil:
		return *date
	case year > 0:
		return yearEnd(year, today)
	}
	return today
}

// SupportPeriod is the period a support report covers: to defaults to today,
// from to the first of January of to's year.
func SupportPeriod(from, to *time.Time, today time.Time) (time.Time, time.Time) {
	end := today
	if to != nil {
		end = *to
	}
	if from != nil {
		return *from, end
	}
	return time.Date(end.Year(), 1, 1, 0, 0, 0, 0, time.UTC), end
}

// nextDay is the instant a Vietnamese calendar day ends (a household
// registered at 23:00 in Hà Nội on the 31st counts on the 31st).
func nextDay(date time.Time) time.Time {
	y, m, d := date.Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, vn.Zone)
}

func rate(part, whole int64) float64 {
	if whole == 0 {
		return 0
	}
	return math.Round(10000*float64(part)/float64(whole)) / 100
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
