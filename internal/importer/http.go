package importer

import (
	"bytes"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/xuri/excelize/v2"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/web"
)

// Handler serves the import API.
type Handler struct {
	jobs *Jobs
	log  *slog.Logger
}

// NewHandler makes the handlers.
func NewHandler(jobs *Jobs, log *slog.Logger) *Handler { return &Handler{jobs: jobs, log: log} }

// UploadPath is the route that takes files (its body limit is MaxFileBytes).
const UploadPath = "/api/v1/imports"

// Register mounts the routes.
func (h *Handler) Register(r *access.Routes) {
	r.Handle(http.MethodPost, "/imports", "import", "run", web.Legacy(h.submit))
	r.Handle(http.MethodGet, "/imports/template.xlsx", "import", "run", web.Legacy(h.template))
	r.Handle(http.MethodGet, "/imports/:id", "import", "run", web.Legacy(h.job))
	r.Handle(http.MethodGet, "/imports/:id/problems", "import", "run", web.Legacy(h.problems))
}

func (h *Handler) fail(c *gin.Context, err error) { web.WriteProblem(c, h.log, err) }

// XLSXType is the media type of an Excel workbook.
const XLSXType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// JobOut is an import job as the API shows it.
type JobOut struct {
	ID                 uuid.UUID  `json:"id"`
	Mode               string     `json:"mode"`
	FileName           string     `json:"file_name"`
	Status             string     `json:"status"`
	RowsRead           int        `json:"rows_read"`
	HouseholdsValid    int        `json:"households_valid"`
	HouseholdsInvalid  int        `json:"households_invalid"`
	HouseholdsCreated  int        `json:"households_created"`
	HouseholdsExisting int        `json:"households_existing"`
	MembersCreated     int        `json:"members_created"`
	Problems           int        `json:"problems"`
	Error              string     `json:"error,omitempty"`
	CreatedAt          time.Time  `json:"created_at"`
	StartedAt          *time.Time `json:"started_at,omitempty"`
	FinishedAt         *time.Time `json:"finished_at,omitempty"`
}

func jobOut(j Job) JobOut {
	return JobOut{ID: j.ID, Mode: j.Mode, FileName: j.FileName, Status: j.Status, RowsRead: j.Progress.RowsRead,
		HouseholdsValid: j.Progress.HouseholdsValid, HouseholdsInvalid: j.Progress.HouseholdsInvalid,
		HouseholdsCreated: j.Progress.HouseholdsCreated, HouseholdsExisting: j.Progress.HouseholdsExisting,
		MembersCreated: j.Progress.MembersCreated, Problems: j.Progress.Problems, Error: j.Error, CreatedAt: j.CreatedAt.UTC(),
		StartedAt: j.StartedAt, FinishedAt: j.FinishedAt}
}

// submit takes the file as the request body (text/csv or XLSX); the job runs
// on after the answer, and survives the client going away.
func (h *Handler) submit(c *gin.Context) {
	q := web.NewQuery(c)
	mode := q.String("mode", 20)
	if mode == "" {
		mode = DryRun
	}
	name := q.String("name", 200)
	if err := q.Err(); err != nil {
		h.fail(c, err)
		return
	}
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	kind := map[string]string{"text/csv": "csv", XLSXType: "xlsx"}[mt]
	if kind == "" {
		h.fail(c, apperr.New(apperr.Invalid, "import_file", "send the file as text/csv or %s", XLSXType))
		return
	}
	ctx := c.Request.Context()
	job, err := h.jobs.Submit(ctx, access.ScopeFrom(ctx), mode, kind, name, c.Request.Body)
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/imports/"+job.ID.String())
	c.JSON(http.StatusAccepted, jobOut(job))
}

func jobID(c *gin.Context) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return uuid.Nil, apperr.New(apperr.NotFound, "import_not_found", "no such import of yours")
	}
	return id, nil
}

func (h *Handler) job(c *gin.Context) {
	id, err := jobID(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	j, err := h.jobs.Job(ctx, access.Owner(ctx), id)
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, jobOut(j))
}

// ProblemOut is one problem of an import, in both languages.
type ProblemOut struct {
	Row    int    `json:"row"`
	Column string `json:"column"`
	Code   string `json:"code"`
	EN     string `json:"detail_en"`
	VI     string `json:"detail_vi"`
}

func (h *Handler) problems(c *gin.Context) {
	id, err := jobID(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	q := web.NewQuery(c)
	after := max(q.Int("after", 0, MaxProblems), 0)
	limit := q.Limit(500, 5000)
	if err := q.Err(); err != nil {
		h.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	list, err := h.jobs.Problems(ctx, access.Owner(ctx), id, after, limit)
	if err != nil {
		h.fail(c, err)
		return
	}
	out := struct {
		Items []ProblemOut `json:"items"`
	}{Items: make([]ProblemOut, 0, len(list))}
	for _, p := range list {
		out.Items = append(out.Items, ProblemOut(p))
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
}

// Template is the import template: the header row, an example household,
// and a sheet explaining each column in Vietnamese and English.
func Template() ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	header := make([]any, len(Columns))
	for i, c := range Columns {
		header[i] = c.Name
	}
	example := [][]any{
		{"30791", "VP-0001", "Ấp Tà Teng", "tổ 3", "rural", "0912345678", "không", "Nguyễn Văn An", "1978", "male", "", "head", 1, "không", "không"},
		{"30791", "VP-0001", "", "", "", "", "", "Trần Thị Bích", "1981-03-04", "female", "", "spouse", 1, "không", "không"},
		{"30791", "VP-0001", "", "", "", "", "", "Nguyễn Thị Diệu", "2014", "female", "", "child", 1, "không", "có", "primary"},
	}
	if err := f.SetSheetRow("Sheet1", "A1", &header); err != nil {
		return nil, err
	}
	for i, row := range example {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := f.SetSheetRow("Sheet1", cell, &row); err != nil {
			return nil, err
		}
	}
	if _, err := f.NewSheet("Huong dan"); err != nil {
		return nil, err
	}
	_ = f.SetSheetRow("Huong dan", "A1", &[]any{"Cột", "Ý nghĩa", "Meaning", "Bắt buộc / Required"})
	for i, c := range Columns {
		req := ""
		for _, r := range requiredColumns {
			if r == c.Name {
				req = "x"
			}
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := f.SetSheetRow("Huong dan", cell, &[]any{c.Name, c.VI, c.EN, req}); err != nil {
			return nil, err
		}
	}
	note := "Mỗi dòng là một người; các dòng của một hộ (cùng mã xã và mã hộ) phải liền nhau, chủ hộ trước. " +
		"Thông tin của hộ lấy từ dòng đầu tiên của hộ."
	cell, _ := excelize.CoordinatesToCellName(1, len(Columns)+3)
	_ = f.SetCellValue("Huong dan", cell, note)
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (h *Handler) template(c *gin.Context) {
	b, err := Template()
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="ansinh-mau-nhap-ho.xlsx"`)
	c.Data(http.StatusOK, XLSXType, b)
}
