package report

import (
	"fmt"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/vn"
	"github.com/ansinh/ansinh/internal/platform/web"
)

var complaintColumns = []Column{
	{"area_code", "Mã địa bàn", "Area", Text}, {"area_name", "Tên địa bàn", "Name", Text},
	{"subject_kind", "Nội dung khiếu nại", "About", Text},
	{"received", "Số đơn tiếp nhận", "Received", Integer}, {"accepted", "Đã thụ lý", "Accepted", Integer},
	{"not_accepted", "Không thụ lý", "Not accepted", Integer}, {"settled", "Đã giải quyết", "Settled", Integer},
	{"upheld", "Khiếu nại đúng", "Upheld", Integer}, {"partly_upheld", "Đúng một phần", "Partly upheld", Integer},
	{"rejected", "Khiếu nại sai", "Rejected", Integer},
	{"average_days_to_settle", "Số ngày giải quyết bình quân", "Average days to settle", Percent},
	{"overdue_open", "Quá hạn chưa giải quyết", "Open past their limit", Integer},
}

// complaints is the complaints report of an area over a period (?from,
// default 1 January of ?to's year; ?to, default today).
func (h *Handler) complaints(c *gin.Context) error {
	q := web.NewQuery(c)
	area, edition := q.String("area", 10), editionParam(q)
	q.Require("area")
	from, to := SupportPeriod(q.Date("from"), q.Date("to"), vn.Today(h.svc.now()))
	f, err := checked(c, q)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	a, rows, err := h.svc.Complaints(ctx, access.ScopeFrom(ctx), edition, area, from, to)
	if err != nil {
		return err
	}
	t := Table{TitleVI: fmt.Sprintf("Báo cáo tiếp nhận, giải quyết khiếu nại — %s, từ %s đến %s", a.Name, from.Format("02/01/2006"),
		to.Format("02/01/2006")), TitleEN: fmt.Sprintf("Complaints — %s, %s to %s", a.Name, from.Format(time.DateOnly),
		to.Format(time.DateOnly)), Columns: complaintColumns}
	var sum ComplaintRow
	for _, r := range rows {
		t.Rows = append(t.Rows, complaintRow(r))
		sum.Received, sum.Accepted, sum.NotAccepted, sum.Settled = sum.Received+r.Received, sum.Accepted+r.Accepted,
			sum.NotAccepted+r.NotAccepted, sum.Settled+r.Settled
		sum.Upheld, sum.PartlyUpheld, sum.Rejected = sum.Upheld+r.Upheld, sum.PartlyUpheld+r.PartlyUpheld, sum.Rejected+r.Rejected
		sum.DaysToSettle, sum.OverdueOpen = sum.DaysToSettle+r.DaysToSettle, sum.OverdueOpen+r.OverdueOpen
	}
	sum.Key, sum.Name, sum.SubjectKind = a.Code, "Tổng cộng — "+a.Name, ""
	t.Totals = complaintRow(sum)
	filter := map[string]any{"area": a.Code, "from": from.Format(time.DateOnly), "to": to.Format(time.DateOnly)}
	return h.respond(c, f, "complaints_report", a, filter, t, tableJSON(t, a, map[string]any{"from": filter["from"], "to": filter["to"]}))
}

func complaintRow(r ComplaintRow) []any {
	var avg any
	if r.Settled > 0 {
		avg = round2(float64(r.DaysToSettle) / float64(r.Settled))
	}
	return []any{areaCode(r.Key), r.Name, r.SubjectKind, r.Received, r.Accepted, r.NotAccepted, r.Settled, r.Upheld, r.PartlyUpheld,
		r.Rejected, avg, r.OverdueOpen}
}
