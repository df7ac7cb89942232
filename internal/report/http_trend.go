package report

import (
	"fmt"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/vn"
	"github.com/ansinh/ansinh/internal/platform/web"
)

// povertyChart is the poverty report's bar chart: the rates of each child
// area.
func povertyChart(rows []PovertyRow) *Chart {
	if len(rows) == 0 {
		return nil
	}
	ch := &Chart{Kind: ChartBar, TitleVI: "Tỷ lệ hộ nghèo, hộ cận nghèo theo địa bàn (%)",
		Series: []ChartSeries{{Name: "Tỷ lệ hộ nghèo (%)"}, {Name: "Tỷ lệ hộ cận nghèo (%)"}}}
	for _, r := range rows {
		ch.Categories = append(ch.Categories, r.Name)
		ch.Series[0].Values = append(ch.Series[0].Values, r.PoorRate)
		ch.Series[1].Values = append(ch.Series[1].Values, r.NearPoorRate)
	}
	return ch
}

var trendColumns = []Column{
	{"year", "Năm / giai đoạn", "Year / period", Text}, {"area_code", "Mã địa bàn", "Area", Text}, {"area_name", "Tên địa bàn", "Name", Text},
	{"standard", "Chuẩn nghèo", "Poverty standard", Text},
	{"households", "Tổng số hộ", "Households", Integer}, {"poor", "Hộ nghèo", "Poor", Integer},
	{"poor_rate", "Tỷ lệ hộ nghèo (%)", "Poverty rate (%)", Percent}, {"near_poor", "Hộ cận nghèo", "Near-poor", Integer},
	{"near_poor_rate", "Tỷ lệ hộ cận nghèo (%)", "Near-poverty rate (%)", Percent},
	{"change", "Tăng/giảm so với năm trước (điểm %)", "Change from the year before (points)", Percent},
	{"average_yearly_change", "Bình quân mỗi năm (điểm %)", "Average a year (points)", Percent},
	{"newly_poor", "Hộ nghèo phát sinh", "Newly poor", Integer}, {"escaped", "Hộ thoát nghèo", "Escaped poverty", Integer},
	{"re_entered", "Hộ tái nghèo", "Poor again", Integer},
}

// trendRow is a year's row of an area in the trend's table.
func trendRow(y TrendYear, f TrendFigures) []any {
	var ch any
	if f.Change != nil {
		ch = *f.Change
	}
	return []any{strconv.Itoa(y.Year), areaCode(f.Key), f.Name, y.Standard, f.Households, f.Poor, f.PoorRate, f.NearPoor, f.NearPoorRate, ch, nil,
		f.NewlyPoor, f.Escaped, f.ReEntered}
}

// periodRow is a period's row: the rate at its end, its change and average.
func periodRow(p TrendPeriod) []any {
	var avg any
	if p.AveragePerYear != nil {
		avg = *p.AveragePerYear
	}
	return []any{fmt.Sprintf("%d–%d", p.From, p.To), areaCode(p.Key), p.Name, p.Standard, nil, nil, p.LastRate, nil, nil, p.Change, avg, nil, nil, nil}
}

// trendTable is the trend as a table: each year's area and children, then
// the periods; notes say where the standard changed and how the targets
// fared; the chart draws the area's rates, a line per standard.
func trendTable(a Area, tr Trend) Table {
	t := Table{TitleVI: fmt.Sprintf("Diễn biến tỷ lệ hộ nghèo — %s, %d–%d", a.Name, tr.From, tr.To),
		TitleEN: fmt.Sprintf("Poverty trend — %s, %d–%d", a.Name, tr.From, tr.To), Columns: trendColumns}
	for _, y := range tr.Years {
		t.Rows = append(t.Rows, trendRow(y, y.Total))
		for _, c := range y.Children {
			t.Rows = append(t.Rows, trendRow(y, c))
		}
		if !y.Comparable && y.Year > tr.From && y.Standard != "" {
			t.Notes = append(t.Notes, fmt.Sprintf("Năm %d đo theo chuẩn nghèo %s, khác năm trước: tỷ lệ không so sánh được với các năm trước đó "+
				"(%d is measured by standard %s: not comparable with the years before).", y.Year, y.Standard, y.Year, y.Standard))
		}
	}
	for _, p := range tr.Periods {
		t.Rows = append(t.Rows, periodRow(p))
	}
	for _, x := range tr.Targets {
		outcome := "chưa đo được (not measurable)"
		if x.Met != nil && *x.Met {
			outcome = fmt.Sprintf("thực hiện %.2f — đạt (met)", *x.Actual)
		} else if x.Met != nil {
			outcome = fmt.Sprintf("thực hiện %.2f — không đạt (not met)", *x.Actual)
		}
		t.Notes = append(t.Notes, fmt.Sprintf("Chỉ tiêu năm %d, %s: %.2f; %s.", x.Year, x.Metric, x.Value, outcome))
	}
	t.Chart = trendChart(tr)
	return t
}

// trendChart draws the area's poverty and near-poverty rates by year, a
// line per standard: rates measured by different standards are not joined.
func trendChart(tr Trend) *Chart {
	ch := &Chart{Kind: ChartLine, TitleVI: "Tỷ lệ hộ nghèo, hộ cận nghèo theo năm (%)"}
	for _, y := range tr.Years {
		ch.Categories = append(ch.Categories, strconv.Itoa(y.Year))
	}
	for _, p := range tr.Periods {
		if p.Key != tr.Years[0].Total.Key {
			continue
		}
		poor := ChartSeries{Name: "Tỷ lệ hộ nghèo (" + p.Standard + ")", Values: make([]any, len(tr.Years))}
		near := ChartSeries{Name: "Tỷ lệ hộ cận nghèo (" + p.Standard + ")", Values: make([]any, len(tr.Years))}
		for i, y := range tr.Years {
			if y.Year >= p.From && y.Year <= p.To && y.Total.Households > 0 {
				poor.Values[i], near.Values[i] = y.Total.PoorRate, y.Total.NearPoorRate
			}
		}
		ch.Series = append(ch.Series, poor, near)
	}
	return ch
}

// trendJSON is the trend as the API shows it.
func trendJSON(a Area, tr Trend) map[string]any {
	figures := func(f TrendFigures) map[string]any {
		return map[string]any{"area_code": areaCode(f.Key), "area_name": f.Name, "households": f.Households, "poor": f.Poor, "near_poor": f.NearPoor,
			"poor_rate": f.PoorRate, "near_poor_rate": f.NearPoorRate, "change": f.Change, "newly_poor": f.NewlyPoor, "escaped": f.Escaped,
			"re_entered": f.ReEntered}
	}
	years := make([]map[string]any, 0, len(tr.Years))
	for _, y := range tr.Years {
		m := figures(y.Total)
		children := make([]map[string]any, 0, len(y.Children))
		for _, c := range y.Children {
			children = append(children, figures(c))
		}
		m["year"], m["date"], m["standard"], m["comparable"], m["children"] = y.Year, y.Date.Format(time.DateOnly), y.Standard, y.Comparable, children
		years = append(years, m)
	}
	periods := make([]map[string]any, 0, len(tr.Periods))
	for _, p := range tr.Periods {
		periods = append(periods, map[string]any{"area_code": areaCode(p.Key), "area_name": p.Name, "standard": p.Standard, "from": p.From, "to": p.To,
			"first_rate": p.FirstRate, "last_rate": p.LastRate, "change": p.Change, "average_yearly_change": p.AveragePerYear})
	}
	targets := make([]map[string]any, 0, len(tr.Targets))
	for _, x := range tr.Targets {
		targets = append(targets, map[string]any{"year": x.Year, "metric": x.Metric, "value": x.Value, "description": x.Description,
			"actual": x.Actual, "met": x.Met})
	}
	return map[string]any{"area": map[string]string{"code": a.Code, "name": a.Name, "level": a.Level, "edition": a.Edition},
		"from": tr.From, "to": tr.To, "years": years, "periods": periods, "targets": targets}
}

func (h *Handler) trend(c *gin.Context) error {
	q := web.NewQuery(c)
	area, edition := q.String("area", 10), editionParam(q)
	q.Require("area")
	from, to := TrendYears(q.Int("from", 2000, 2100), q.Int("to", 2000, 2100), vn.Today(h.svc.now()))
	f, err := checked(c, q)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	a, tr, err := h.svc.Trend(ctx, access.ScopeFrom(ctx), edition, area, from, to)
	if err != nil {
		return err
	}
	return h.respond(c, f, "trend_report", a, map[string]any{"area": a.Code, "from": from, "to": to}, trendTable(a, tr), trendJSON(a, tr))
}
