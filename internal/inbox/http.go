package inbox

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/web"
)

// Handler serves the inbox.
type Handler struct{ svc *Service }

// NewHandler makes the handlers.
func NewHandler(svc *Service) *Handler { return &Handler{svc: svc} }

// Register mounts the routes: every signed-in user has an inbox, made of the
// work their roles' permissions reach.
func (h *Handler) Register(r *access.Routes) {
	r.SignedIn(http.MethodGet, "/inbox", h.inbox)
	r.SignedIn(http.MethodGet, "/inbox/summary", h.summary)
}

// ItemOut is an item as the API shows it.
type ItemOut struct {
	Kind          string     `json:"kind"`
	TitleVI       string     `json:"title_vi"`
	TitleEN       string     `json:"title_en"`
	SubjectType   string     `json:"subject_type"`
	SubjectID     uuid.UUID  `json:"subject_id"`
	HouseholdID   *uuid.UUID `json:"household_id,omitempty"`
	HouseholdCode string     `json:"household_code,omitempty"`
	CommuneCode   string     `json:"commune_code,omitempty"`
	Since         time.Time  `json:"since"`
	Due           string     `json:"due,omitempty"`
	Overdue       bool       `json:"overdue"`
	Detail        string     `json:"detail,omitempty"`
	Action        ActionOut  `json:"action"`
}

// ActionOut is the route that acts on an item.
type ActionOut struct {
	Method string `json:"method"`
	Path   string `json:"path"`
}

// CountOut is a kind's count.
type CountOut struct {
	Kind    string `json:"kind"`
	Items   int64  `json:"items"`
	Overdue int64  `json:"overdue"`
}

func itemOut(it Item) ItemOut {
	k, _ := kind(it.Kind)
	out := ItemOut{Kind: it.Kind, TitleVI: k.NameVI, TitleEN: k.NameEN, SubjectType: it.SubjectType, SubjectID: it.SubjectID,
		HouseholdID: it.HouseholdID, HouseholdCode: it.HouseholdCode, CommuneCode: it.CommuneCode, Since: it.Since.UTC(),
		Overdue: it.Overdue, Detail: it.Detail, Action: ActionOut{Method: it.Method, Path: it.Path}}
	if it.Due != nil {
		out.Due = it.Due.Format(time.DateOnly)
	}
	return out
}

// filter reads ?kind= (comma-separated), ?commune= and ?overdue=.
func filter(q *web.Query) Filter {
	var f Filter
	if v := q.String("kind", 500); v != "" {
		for _, name := range strings.Split(v, ",") {
			name = strings.TrimSpace(name)
			if _, ok := kind(name); !ok {
				q.Invalid("kind", "unknown kind "+name+": see the inbox's counts for the kinds")
				continue
			}
			f.Kinds = append(f.Kinds, name)
		}
	}
	f.CommuneCode = q.String("commune", 10)
	if b := q.Bool("overdue"); b != nil {
		f.Overdue = *b
	}
	return f
}

func (h *Handler) inbox(c *gin.Context) error {
	q := web.NewQuery(c)
	f := filter(q)
	limit := q.Limit(50, 500)
	var after *Position
	var pos Position
	if q.Cursor(&pos) {
		after = &pos
	}
	if err := q.Err(); err != nil {
		return err
	}
	items, counts, err := h.svc.Inbox(c.Request.Context(), f, after, limit+1)
	if err != nil {
		return err
	}
	page := web.PageOf(items, limit, itemOut, func(it Item) any { return it.position() })
	byKind := make([]CountOut, 0, len(counts))
	for _, k := range Kinds { // in the kinds' order
		for _, n := range counts {
			if n.Kind == k.Name {
				byKind = append(byKind, CountOut(n))
			}
		}
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"items": page.Items, "next_cursor": page.NextCursor, "counts": byKind})
	return nil
}

// CommuneOut is a commune's waiting work by kind.
type CommuneOut struct {
	CommuneCode string     `json:"commune_code"`
	Items       int64      `json:"items"`
	Overdue     int64      `json:"overdue"`
	Kinds       []CountOut `json:"kinds"`
}

func (h *Handler) summary(c *gin.Context) error {
	q := web.NewQuery(c)
	f := filter(q)
	if err := q.Err(); err != nil {
		return err
	}
	counts, err := h.svc.Summary(c.Request.Context(), f)
	if err != nil {
		return err
	}
	out := []CommuneOut{}
	for _, n := range counts {
		if len(out) == 0 || out[len(out)-1].CommuneCode != n.CommuneCode {
			out = append(out, CommuneOut{CommuneCode: n.CommuneCode, Kinds: []CountOut{}})
		}
		last := &out[len(out)-1]
		last.Items, last.Overdue = last.Items+n.Items, last.Overdue+n.Overdue
		last.Kinds = append(last.Kinds, CountOut{Kind: n.Kind, Items: n.Items, Overdue: n.Overdue})
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"communes": out})
	return nil
}
