package report

import (
	"testing"
)

// A period runs from the first year with households to the last under one
// standard; years no standard covers make none.
func TestTrendPeriods(t *testing.T) {
	year := func(y int, std string, households, poor int64) TrendYear {
		f := TrendFigures{Key: "91", Name: "Kiên Giang", Households: households, Poor: poor, PoorRate: rate(poor, households)}
		return TrendYear{Year: y, Standard: std, Total: f}
	}
	years := []TrendYear{
		year(2014, "", 100, 20), year(2015, "", 100, 18), // before any recorded standard
		year(2016, "QD59-2015", 0, 0), year(2017, "QD59-2015", 200, 20), year(2018, "QD59-2015", 200, 10), year(2019, "QD59-2015", 0, 0),
		year(2022, "ND07-2021", 400, 16),
	}
	got := trendPeriods(years)
	if len(got) != 2 {
		t.Fatalf("periods: %+v", got)
	}
	if p := got[0]; p.Standard != "QD59-2015" || p.From != 2017 || p.To != 2018 || p.FirstRate != 10 || p.LastRate != 5 || p.Change != -5 ||
		p.AveragePerYear == nil || *p.AveragePerYear != -5 {
		t.Errorf("the 2016-2020 standard's period: %+v", p)
	}
	if p := got[1]; p.Standard != "ND07-2021" || p.From != 2022 || p.To != 2022 || p.AveragePerYear != nil {
		t.Errorf("a single year: %+v", p)
	}
}
