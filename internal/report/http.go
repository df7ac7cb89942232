package report

import (
	"bytes"
	"cmp"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ansinh/ansinh/internal/access"
	adminarea "github.com/ansinh/ansinh/internal/area"
	"github.com/ansinh/ansinh/internal/inbox"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/ratelimit"
	"github.com/ansinh/ansinh/internal/platform/vn"
	"github.com/ansinh/ansinh/internal/platform/web"
)

// Handler serves the reports.
type Handler struct {
	svc     *Service
	backlog *inbox.Service // the inbox backlog report's counts (nil: no such report)
}

// NewHandler makes the handlers.
func NewHandler(svc *Service) *Handler { return &Handler{svc: svc} }

// Register mounts the routes.
func (h *Handler) Register(r *access.Routes) {
	// Reports and lists are report work (their bounds, database.report_*); setting a target is interactive.
	r.Kind(ratelimit.Export).Handle(http.MethodGet, "/reports/poverty", "report", "read", web.AsKind(db.Report, h.poverty))
	r.Kind(ratelimit.Export).Handle(http.MethodGet, "/reports/support", "report", "read", web.AsKind(db.Report, h.support))
	r.Kind(ratelimit.Export).Handle(http.MethodGet, "/reports/targets", "report", "read", web.AsKind(db.Report, h.targets))
	r.Kind(ratelimit.Export).Handle(http.MethodGet, "/reports/designations", "report", "read", web.AsKind(db.Report, h.designations))
	r.Kind(ratelimit.Export).Handle(http.MethodGet, "/reports/trend", "report", "read", web.AsKind(db.Report, h.trend))
	r.Kind(ratelimit.Export).Handle(http.MethodGet, "/reports/complaints", "report", "read", web.AsKind(db.Report, h.complaints))
	h.registerBacklog(r)
	r.Handle(http.MethodPost, "/reports/targets", "report", "write", h.setTarget)
	r.Kind(ratelimit.Export).Handle(http.MethodGet, "/reports/lists/:kind", "list", "read", web.AsKind(db.Report, h.list))
}

// XLSXType is the media type of an Excel workbook.
const XLSXType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// format is the representation asked for: ?format= first, then Accept.
func format(c *gin.Context) (string, error) {
	switch f := c.Query("format"); f {
	case "json", "csv", "xlsx":
		return f, nil
	case "":
	default:
		return "", errFormat()
	}
	accept := c.GetHeader("Accept")
	switch {
	case strings.Contains(accept, XLSXType):
		return "xlsx", nil
	case strings.Contains(accept, "text/csv"):
		return "csv", nil
	}
	return "json", nil
}

// onDate reads ?date= or ?year= (31 December of it, or today for this year);
// today when neither is given.
// editionParam is the edition of the units a report is shown under ("" for
// the one its date's records stood under).
func editionParam(q *web.Query) string {
	e := q.String("edition", 7)
	if e != "" && !adminarea.ValidEdition(e) {
		q.Invalid("edition", "must be an edition of the list of units, such as 2025-03")
	}
	return e
}

func onDate(q *web.Query, now time.Time) time.Time {
	return ReportDate(q.Date("date"), q.Int("year", 2000, 2100), vn.Today(now))
}

// checked answers the query's problems, the format's included, before any
// work is done (a list logs the reads of the households it names) and says
// which format was asked for.
func checked(c *gin.Context, q *web.Query) (string, error) {
	err := q.Err()
	f, ferr := format(c)
	if err == nil {
		err = ferr
	}
	return f, err
}

// respond writes a table in format f; files are audited as exports, carry
// the exporter in their footer and are never cached.
func (h *Handler) respond(c *gin.Context, f, what string, a Area, filter map[string]any, t Table, jsonBody any) error {
	c.Header("Cache-Control", "no-store")
	if f == "json" {
		c.JSON(http.StatusOK, jsonBody)
		return nil
	}
	footer, err := h.svc.Exported(c.Request.Context(), what, a, filter, f, len(t.Rows))
	if err != nil {
		return err
	}
	t.Footer = footer
	name := fmt.Sprintf("%s-%s-%s", what, a.Code, time.Now().In(vn.Zone).Format("20060102-1504"))
	switch f {
	case "csv":
		var buf bytes.Buffer
		if err := t.WriteCSV(&buf); err != nil {
			return err
		}
		c.Header("Content-Disposition", `attachment; filename="`+name+`.csv"`)
		c.Data(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
	case "xlsx":
		b, err := t.XLSX()
		if err != nil {
			return err
		}
		c.Header("Content-Disposition", `attachment; filename="`+name+`.xlsx"`)
		c.Data(http.StatusOK, XLSXType, b)
	}
	return nil
}

func tableJSON(t Table, a Area, extra map[string]any) map[string]any {
	cols := make([]map[string]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = map[string]string{"key": c.Key, "header_vi": c.HeaderVI, "header_en": c.HeaderEN, "kind": c.Kind}
	}
	out := map[string]any{"title_vi": t.TitleVI, "title_en": t.TitleEN, "area": map[string]string{"code": a.Code, "name": a.Name, "level": a.Level, "edition": a.Edition},
		"columns": cols, "items": t.JSONRows(t.Rows)}
	if t.Totals != nil {
		out["totals"] = t.JSONRows([][]any{t.Totals})[0]
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

var povertyColumns = []Column{
	{"area_code", "Mã địa bàn", "Area", Text}, {"area_name", "Tên địa bàn", "Name", Text},
	{"households", "Tổng số hộ", "Households", Integer}, {"poor", "Hộ nghèo", "Poor", Integer},
	{"poor_rate", "Tỷ lệ hộ nghèo (%)", "Poverty rate (%)", Percent}, {"near_poor", "Hộ cận nghèo", "Near-poor", Integer},
	{"near_poor_rate", "Tỷ lệ hộ cận nghèo (%)", "Near-poverty rate (%)", Percent},
	{"average", "Hộ có mức sống trung bình", "Average living standard", Integer},
	{"prev_poor_rate", "Tỷ lệ hộ nghèo năm trước (%)", "Poverty rate a year before (%)", Percent},
	{"change", "Tăng/giảm (điểm %)", "Change (points)", Percent},
	{"newly_poor", "Hộ nghèo phát sinh", "Newly poor", Integer}, {"escaped", "Hộ thoát nghèo", "Escaped poverty", Integer},
	{"re_entered", "Hộ tái nghèo", "Poor again", Integer},
}

// areaCode is the code of a child area from its key: the last label of its
// path (a village's key is its name).
func areaCode(key string) string {
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		return key[i+1:]
	}
	return key
}

func povertyRow(r PovertyRow) []any {
	var prev, change any // none across a change of standard
	if r.Comparable {
		prev, change = r.PrevPoorRate, r.Change
	}
	return []any{areaCode(r.Key), r.Name, r.Households, r.Poor, r.PoorRate, r.NearPoor, r.NearPoorRate, r.Avg, prev, change,
		r.NewlyPoor, r.Escaped, r.ReEntered}
}

func (h *Handler) poverty(c *gin.Context) error {
	q := web.NewQuery(c)
	area, edition := q.String("area", 10), editionParam(q)
	q.Require("area")
	on := onDate(q, time.Now())
	f, err := checked(c, q)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	a, rows, total, err := h.svc.Poverty(ctx, access.ScopeFrom(ctx), edition, area, on)
	if err != nil {
		return err
	}
	t := Table{TitleVI: fmt.Sprintf("Báo cáo kết quả giảm nghèo — %s, ngày %s", a.Name, on.Format("02/01/2006")),
		TitleEN: fmt.Sprintf("Poverty report — %s, %s", a.Name, on.Format(time.DateOnly)), Columns: povertyColumns}
	for _, r := range rows {
		t.Rows = append(t.Rows, povertyRow(r))
	}
	t.Totals = povertyRow(total)
	t.Totals[0], t.Totals[1] = a.Code, "Tổng cộng — "+a.Name
	t.Chart = povertyChart(rows)
	if !total.Comparable {
		t.Notes = append(t.Notes, fmt.Sprintf("Tỷ lệ năm trước đo theo chuẩn %s, năm nay theo chuẩn %s: không so sánh "+
			"(a year before was measured by standard %s, this year by %s: not compared).", cmp.Or(total.PrevStandard, "—"),
			cmp.Or(total.Standard, "—"), cmp.Or(total.PrevStandard, "none"), cmp.Or(total.Standard, "none")))
	}
	return h.respond(c, f, "poverty_report", a, map[string]any{"area": a.Code, "date": on.Format(time.DateOnly)}, t,
		tableJSON(t, a, map[string]any{"date": on.Format(time.DateOnly), "standard": total.Standard,
			"previous_standard": total.PrevStandard, "comparable": total.Comparable}))
}

var supportColumns = []Column{
	{"program", "Chương trình", "Program", Text}, {"area_code", "Mã địa bàn", "Area", Text}, {"area_name", "Tên địa bàn", "Name", Text},
	{"households", "Số hộ được hỗ trợ", "Households supported", Integer}, {"people", "Số người được hỗ trợ", "People supported", Integer},
	{"delivered", "Kinh phí đã chi (đồng)", "Delivered (VND)", Money}, {"allocated", "Ngân sách được giao (đồng)", "Budget (VND)", Money},
	{"committed", "Ngân sách đã sử dụng (đồng)", "Budget used (VND)", Money},
	{"houses_started", "Nhà khởi công", "Houses started", Integer}, {"houses_completed", "Nhà hoàn thành", "Houses completed", Integer},
	{"trainees", "Người học nghề", "Trainees", Integer}, {"trainings_completed", "Hoàn thành khóa học", "Completed", Integer},
	{"loans_disbursed", "Dư nợ giải ngân (đồng)", "Loans disbursed (VND)", Money},
	{"loans_outstanding", "Dư nợ còn lại (đồng)", "Loans outstanding (VND)", Money},
}

func (h *Handler) support(c *gin.Context) error {
	q := web.NewQuery(c)
	area, edition := q.String("area", 10), editionParam(q)
	q.Require("area")
	from, to := SupportPeriod(q.Date("from"), q.Date("to"), vn.Today(time.Now()))
	f, err := checked(c, q)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	a, rows, reach, err := h.svc.Support(ctx, access.ScopeFrom(ctx), edition, area, from, to)
	if err != nil {
		return err
	}
	t := Table{TitleVI: fmt.Sprintf("Báo cáo kết quả hỗ trợ — %s, từ %s đến %s", a.Name, from.Format("02/01/2006"), to.Format("02/01/2006")),
		TitleEN: fmt.Sprintf("Support report — %s, %s to %s", a.Name, from.Format(time.DateOnly), to.Format(time.DateOnly)),
		Columns: supportColumns}
	totals := make([]int64, 11)
	for _, r := range rows {
		vals := []int64{r.Households, r.People, r.Delivered, r.Allocated, r.Committed, r.HousesStarted, r.HousesCompleted,
			r.Trainees, r.TrainingsCompleted, r.LoansDisbursed, r.LoansOutstanding}
		row := []any{r.Program, areaCode(r.Key), r.Name}
		for i, v := range vals {
			row = append(row, v)
			totals[i] += v
		}
		t.Rows = append(t.Rows, row)
	}
	// A household in several programs is one household: the totals row counts
	// households and people once each rather than adding the programs' rows.
	t.Totals = []any{"Tổng cộng", a.Code, a.Name, reach.Households, reach.People}
	for _, v := range totals[2:] {
		t.Totals = append(t.Totals, v)
	}
	filter := map[string]any{"area": a.Code, "from": from.Format(time.DateOnly), "to": to.Format(time.DateOnly)}
	return h.respond(c, f, "support_report", a, filter, t, tableJSON(t, a, map[string]any{"from": filter["from"], "to": filter["to"]}))
}

var designationColumns = []Column{
	{"designation", "Loại địa bàn", "Designation", Text}, {"name", "Tên", "Name", Text},
	{"at_start", "Đầu kỳ", "At the start", Integer}, {"at_end", "Cuối kỳ", "At the end", Integer}, {"change", "Tăng/giảm", "Change", Integer},
}

// designations counts the designated communes and hamlets of an area at the
// start (?from, default five years before the end) and end (?to, default
// today) of a period.
func (h *Handler) designations(c *gin.Context) error {
	q := web.NewQuery(c)
	area, edition := q.String("area", 10), editionParam(q)
	q.Require("area")
	to := vn.Today(time.Now())
	if d := q.Date("to"); d != nil {
		to = *d
	}
	from := to.AddDate(-5, 0, 0)
	if d := q.Date("from"); d != nil {
		from = *d
	}
	f, err := checked(c, q)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	a, rows, err := h.svc.Designations(ctx, access.ScopeFrom(ctx), edition, area, from, to)
	if err != nil {
		return err
	}
	t := Table{TitleVI: fmt.Sprintf("Địa bàn đặc biệt khó khăn — %s, %s đến %s", a.Name, from.Format("02/01/2006"), to.Format("02/01/2006")),
		TitleEN: fmt.Sprintf("Designated areas — %s, %s to %s", a.Name, from.Format(time.DateOnly), to.Format(time.DateOnly)),
		Columns: designationColumns}
	for _, r := range rows {
		t.Rows = append(t.Rows, []any{r.Label, r.NameVI, r.From, r.To, r.To - r.From})
	}
	filter := map[string]any{"area": a.Code, "from": from.Format(time.DateOnly), "to": to.Format(time.DateOnly)}
	return h.respond(c, f, "designations_report", a, filter, t, tableJSON(t, a, map[string]any{"from": filter["from"], "to": filter["to"]}))
}

var targetColumns = []Column{
	{"year", "Năm", "Year", Integer}, {"metric", "Chỉ tiêu", "Metric", Text}, {"description", "Mô tả", "Description", Text},
	{"target", "Kế hoạch", "Target", Percent}, {"actual", "Thực hiện", "Actual", Percent}, {"met", "Đạt", "Met", Text},
}

func (h *Handler) targets(c *gin.Context) error {
	q := web.NewQuery(c)
	area := q.String("area", 10)
	q.Require("area")
	f, err := checked(c, q)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	a, list, err := h.svc.Targets(ctx, access.ScopeFrom(ctx), area)
	if err != nil {
		return err
	}
	t := Table{TitleVI: "Chỉ tiêu giảm nghèo và kết quả thực hiện — " + a.Name, TitleEN: "Poverty targets and results — " + a.Name,
		Columns: targetColumns}
	for _, x := range list {
		var actual, met any
		if x.Actual != nil {
			actual, met = *x.Actual, "Không"
			if *x.Met {
				met = "Đạt"
			}
		}
		t.Rows = append(t.Rows, []any{int64(x.Year), x.Metric, x.Description, x.Value, actual, met})
	}
	return h.respond(c, f, "targets_report", a, map[string]any{"area": a.Code}, t, tableJSON(t, a, nil))
}

func (h *Handler) setTarget(c *gin.Context) error {
	var in struct {
		AreaCode    string  `json:"area_code"`
		Metric      string  `json:"metric"`
		Year        int     `json:"year"`
		Value       float64 `json:"value"`
		Description string  `json:"description"`
	}
	if err := web.BindJSON(c, &in); err != nil {
		return err
	}
	ctx := c.Request.Context()
	t, err := h.svc.SetTarget(ctx, access.ScopeFrom(ctx), Target{AreaCode: in.AreaCode, Metric: in.Metric, Year: in.Year, Value: in.Value,
		Description: in.Description})
	if err != nil {
		return err
	}
	web.SetVersionETag(c, t.Version)
	c.JSON(http.StatusOK, map[string]any{"id": t.ID, "area_code": in.AreaCode, "metric": t.Metric, "year": t.Year, "value": t.Value,
		"description": t.Description, "version": t.Version})
	return nil
}

func (h *Handler) list(c *gin.Context) error {
	q := web.NewQuery(c)
	area := q.String("area", 10)
	q.Require("area")
	program := q.String("program", 41)
	on := onDate(q, time.Now())
	f, err := checked(c, q)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	kind := c.Param("kind")
	a, t, err := h.svc.List(ctx, access.ScopeFrom(ctx), kind, area, on, program)
	if err != nil {
		return err
	}
	filter := map[string]any{"kind": kind, "area": area, "date": on.Format(time.DateOnly)}
	if program != "" {
		filter["program"] = program
	}
	return h.respond(c, f, "list", a, filter, t, tableJSON(t, a, map[string]any{"kind": kind, "date": on.Format(time.DateOnly)}))
}
