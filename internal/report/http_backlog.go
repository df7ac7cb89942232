package report

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/ansinh/ansinh/internal/inbox"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/ratelimit"
	"github.com/ansinh/ansinh/internal/platform/web"

	"github.com/ansinh/ansinh/internal/access"
)

// WithBacklog adds the inbox backlog report (GET /reports/inbox), counted by
// the inbox's service.
func (h *Handler) WithBacklog(svc *inbox.Service) *Handler {
	h.backlog = svc
	return h
}

// registerBacklog mounts the backlog report when there is an inbox.
func (h *Handler) registerBacklog(r *access.Routes) {
	if h.backlog != nil {
		r.Kind(ratelimit.Export).Handle(http.MethodGet, "/reports/inbox", "report", "read", web.AsKind(db.Report, h.inboxBacklog))
	}
}

var backlogColumns = []Column{
	{"commune_code", "Mã xã", "Commune", Text}, {"kind", "Loại việc", "Kind of work", Text}, {"title", "Việc", "Work", Text},
	{"items", "Số việc chờ xử lý", "Waiting", Integer}, {"overdue", "Quá hạn", "Overdue", Integer},
}

// inboxBacklog is the waiting work of the caller's areas by commune and
// kind, with the overdue: what a district or province follows, as a file.
func (h *Handler) inboxBacklog(c *gin.Context) error {
	q := web.NewQuery(c)
	commune := q.String("commune", 10)
	overdue := q.Bool("overdue")
	f, err := checked(c, q)
	if err != nil {
		return err
	}
	filter := inbox.Filter{CommuneCode: commune, Overdue: overdue != nil && *overdue}
	counts, err := h.backlog.Summary(c.Request.Context(), filter)
	if err != nil {
		return err
	}
	t := Table{TitleVI: "Tồn đọng công việc theo xã", TitleEN: "Waiting work by commune", Columns: backlogColumns}
	var items, late int64
	for _, n := range counts {
		k := inbox.KindNamed(n.Kind)
		t.Rows = append(t.Rows, []any{n.CommuneCode, n.Kind, k.NameVI, n.Items, n.Overdue})
		items, late = items+n.Items, late+n.Overdue
	}
	t.Totals = []any{"Tổng cộng", nil, nil, items, late}
	a := Area{Code: "inbox", Name: "Tồn đọng công việc"} // the caller's areas: the file's name and the export's event
	body := tableJSON(t, a, nil)
	delete(body, "area")
	return h.respond(c, f, "inbox_report", a, map[string]any{"commune": commune, "overdue": filter.Overdue}, t, body)
}
