package assessment

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Result is a classification with the reasons for it.
type Result struct {
	Classification string
	Deprivations   int
	Reasons        []Reason
}

// Reason is one step of the classification's reasoning: a stable code for
// clients, the figures it compared, and a sentence for people.
type Reason struct {
	Code       string   `json:"code"`
	Detail     string   `json:"detail"`
	Income     int64    `json:"income,omitempty"`
	Line       int64    `json:"line,omitempty"`
	Threshold  int      `json:"threshold,omitempty"`
	Indicators []string `json:"indicators,omitempty"`
}

// Classify applies a standard to a household's income per person per month
// and its deprived indicators (codes of the standard's indicators; others are
// ignored). Income at or below the line with at least the standard's number of
// deprivations (3) is poor; with fewer, near-poor; above the line up to the
// top of the average band, average living standard; above that, none.
func Classify(std Standard, areaType string, income int64, deprived []string) Result {
	line := std.Line(areaType)
	var counted []string
	for _, code := range deprived {
		if _, ok := std.Indicator(code); ok && !slices.Contains(counted, code) {
			counted = append(counted, code)
		}
	}
	slices.Sort(counted)
	r := Result{Deprivations: len(counted)}
	vnd := formatVND
	if income <= line {
		r.Reasons = append(r.Reasons, Reason{Code: "income_at_or_below_line", Income: income, Line: line,
			Detail: fmt.Sprintf("income %s ≤ the %s line %s of %s", vnd(income), areaType, vnd(line), std.Code)})
		if len(counted) >= std.PoorMinDeprivations {
			r.Classification = Poor
			r.Reasons = append(r.Reasons, Reason{Code: "deprivations_at_least_threshold", Threshold: std.PoorMinDeprivations,
				Indicators: counted, Detail: fmt.Sprintf("%d deprivations ≥ %d: %s", len(counted), std.PoorMinDeprivations, strings.Join(counted, ", "))})
		} else {
			r.Classification = NearPoor
			r.Reasons = append(r.Reasons, Reason{Code: "deprivations_below_threshold", Threshold: std.PoorMinDeprivations,
				Indicators: counted, Detail: fmt.Sprintf("%d deprivations < %d", len(counted), std.PoorMinDeprivations)})
		}
		return r
	}
	top := std.AverageMax(areaType)
	if income <= top {
		r.Classification = Average
		r.Reasons = append(r.Reasons, Reason{Code: "income_within_average_band", Income: income, Line: top,
			Detail: fmt.Sprintf("income %s is above the %s line %s and ≤ %s, the top of the average band of %s",
				vnd(income), areaType, vnd(line), vnd(top), std.Code)})
		return r
	}
	r.Classification = None
	r.Reasons = append(r.Reasons, Reason{Code: "income_above_average_band", Income: income, Line: top,
		Detail: fmt.Sprintf("income %s is above %s, the top of the %s average band of %s", vnd(income), vnd(top), areaType, std.Code)})
	return r
}

// formatVND writes whole đồng with thousands separators (1.500.000 ₫ is the
// Vietnamese form; the comma form reads in both languages).
func formatVND(n int64) string {
	s := fmt.Sprintf("%d", n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String() + " VND"
	}
	return b.String() + " VND"
}

// Choose is the standard an assessment on date of a household at areaPath
// applies: the most local one in force (a province's own standard over the
// national one) among those assessments implement.
func Choose(standards []Standard, areaPath string, date time.Time) (Standard, bool) {
	return mostLocal(standards, areaPath, date, true)
}

// Measured is the standard a household at areaPath was measured by on date:
// the most local one in force, a standard recorded for history included
// (the lists of past years, their trend).
func Measured(standards []Standard, areaPath string, date time.Time) (Standard, bool) {
	return mostLocal(standards, areaPath, date, false)
}

// mostLocal is the most local standard in force on date for areaPath, only
// among the assessable when assessable.
func mostLocal(standards []Standard, areaPath string, date time.Time, assessable bool) (Standard, bool) {
	var best Standard
	found := false
	for _, s := range standards {
		if !s.InForce(date) || assessable && s.HistoryOnly {
			continue
		}
		if s.AreaPath != "" && areaPath != s.AreaPath && !strings.HasPrefix(areaPath, s.AreaPath+".") {
			continue
		}
		if !found || depth(s.AreaPath) > depth(best.AreaPath) {
			best, found = s, true
		}
	}
	return best, found
}

func depth(path string) int {
	if path == "" {
		return 0
	}
	return strings.Count(path, ".") + 1
}

// Lists are the recognized lists a change of classification puts a household
// on. escapedWithinPeriod: the household escaped poverty earlier within the
// standard's period, so becoming poor again is re-entry, not new poverty.
func Lists(from, to string, escapedWithinPeriod bool) []string {
	var out []string
	if from == to {
		return nil
	}
	switch {
	case to == Poor && escapedWithinPeriod:
		out = append(out, ListReEnteredPoverty)
	case to == Poor:
		out = append(out, ListNewlyPoor)
	case to == NearPoor:
		out = append(out, ListNewlyNearPoor)
	}
	if from == Poor {
		out = append(out, ListEscapedPoverty)
	}
	if from == NearPoor && to != Poor {
		out = append(out, ListEscapedNearPoverty)
	}
	return out
}
