package importer

import (
	"mime"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/ratelimit"
	"github.com/ansinh/ansinh/internal/platform/web"
)

// Handler serves the import API.
type Handler struct {
	jobs *Jobs
}

// NewHandler makes the handlers.
func NewHandler(jobs *Jobs) *Handler { return &Handler{jobs: jobs} }

// UploadPath is the route that takes files (its body limit is MaxFileBytes).
const UploadPath = "/api/v1/imports"

// Register mounts the routes.
func (h *Handler) Register(r *access.Routes) {
	r.Kind(ratelimit.Import).Handle(http.MethodPost, "/imports", "import", "run", h.submit)
	r.Handle(http.MethodGet, "/imports/template.xlsx", "import", "run", h.template)
	r.Handle(http.MethodGet, "/imports/:id", "import", "run", h.job)
	r.Handle(http.MethodGet, "/imports/:id/problems", "import", "run", h.problems)
}

// XLSXType is the media type of an Excel workbook.
const XLSXType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// JobOut is an import job as the API shows it.
type JobOut struct {
	ID                 uuid.UUID  `json:"id"`
	Kind               string     `json:"kind"`
	Mode               string     `json:"mode"`
	FileName           string     `json:"file_name"`
	Status             string     `json:"status"`
	RowsRead           int        `json:"rows_read"`
	HouseholdsValid    int        `json:"households_valid"`
	HouseholdsInvalid  int        `json:"households_invalid"`
	HouseholdsCreated  int        `json:"households_created"`
	HouseholdsExisting int        `json:"households_existing"`
	MembersCreated     int        `json:"members_created"`
	YearsRecorded      int        `json:"years_recorded"`
	YearsExisting      int        `json:"years_existing"`
	Problems           int        `json:"problems"`
	Error              string     `json:"error,omitempty"`
	CreatedAt          time.Time  `json:"created_at"`
	StartedAt          *time.Time `json:"started_at,omitempty"`
	FinishedAt         *time.Time `json:"finished_at,omitempty"`
}

func jobOut(j Job) JobOut {
	return JobOut{ID: j.ID, Kind: j.Kind, Mode: j.Mode, FileName: j.FileName, Status: j.Status, RowsRead: j.Progress.RowsRead,
		HouseholdsValid: j.Progress.HouseholdsValid, HouseholdsInvalid: j.Progress.HouseholdsInvalid,
		HouseholdsCreated: j.Progress.HouseholdsCreated, HouseholdsExisting: j.Progress.HouseholdsExisting,
		MembersCreated: j.Progress.MembersCreated, YearsRecorded: j.Progress.YearsRecorded, YearsExisting: j.Progress.YearsExisting, Problems: j.Progress.Problems, Error: j.Error, CreatedAt: j.CreatedAt.UTC(),
		StartedAt: j.StartedAt, FinishedAt: j.FinishedAt}
}

// submit takes the file as the request body (text/csv or XLSX); the job runs
// on after the answer, and survives the client going away.
func (h *Handler) submit(c *gin.Context) error {
	q := web.NewQuery(c)
	mode := q.String("mode", 20)
	if mode == "" {
		mode = DryRun
	}
	what := kindParam(q)
	name := q.String("name", 200)
	if err := q.Err(); err != nil {
		return err
	}
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	kind := map[string]string{"text/csv": "csv", XLSXType: "xlsx"}[mt]
	if kind == "" {
		return errMediaType()
	}
	ctx := c.Request.Context()
	job, err := h.jobs.Submit(ctx, access.ScopeFrom(ctx), what, mode, kind, name, c.Request.Body)
	if err != nil {
		if apperr.Is(err, apperr.TooManyRequests) { // too_many_jobs: a job takes about this long
			c.Header("Retry-After", "30")
		}
		return err
	}
	c.Header("Location", "/api/v1/imports/"+job.ID.String())
	c.JSON(http.StatusAccepted, jobOut(job))
	return nil
}

func jobID(c *gin.Context) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return uuid.Nil, errJobNotFound()
	}
	return id, nil
}

func (h *Handler) job(c *gin.Context) error {
	id, err := jobID(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	j, err := h.jobs.Job(ctx, access.Owner(ctx), id)
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, jobOut(j))
	return nil
}

// ProblemOut is one problem of an import, in both languages.
type ProblemOut struct {
	Row    int    `json:"row"`
	Column string `json:"column"`
	Code   string `json:"code"`
	EN     string `json:"detail_en"`
	VI     string `json:"detail_vi"`
}

func (h *Handler) problems(c *gin.Context) error {
	id, err := jobID(c)
	if err != nil {
		return err
	}
	q := web.NewQuery(c)
	after := max(q.Int("after", 0, MaxProblems), 0)
	limit := q.Limit(500, 5000)
	if err := q.Err(); err != nil {
		return err
	}
	ctx := c.Request.Context()
	list, err := h.jobs.Problems(ctx, access.Owner(ctx), id, after, limit)
	if err != nil {
		return err
	}
	out := struct {
		Items []ProblemOut `json:"items"`
	}{Items: make([]ProblemOut, 0, len(list))}
	for _, p := range list {
		out.Items = append(out.Items, ProblemOut(p))
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
	return nil
}

// kindParam reads ?kind=: what an import reads (households by default).
func kindParam(q *web.Query) string {
	what := q.String("kind", 20)
	if what == "" {
		return Households
	}
	if what != Households && what != History {
		q.Invalid("kind", "must be households or history")
	}
	return what
}

func (h *Handler) template(c *gin.Context) error {
	q := web.NewQuery(c)
	what := kindParam(q)
	if err := q.Err(); err != nil {
		return err
	}
	b, err := Template(what)
	if err != nil {
		return err
	}
	name := map[string]string{Households: "ansinh-mau-nhap-ho.xlsx", History: "ansinh-mau-nhap-lich-su.xlsx"}[what]
	c.Header("Content-Disposition", `attachment; filename="`+name+`"`)
	c.Data(http.StatusOK, XLSXType, b)
	return nil
}
