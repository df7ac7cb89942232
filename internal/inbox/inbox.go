// Package inbox is every role's list of what waits for it, derived from the
// records at the moment it is asked (never a second source of truth that can
// drift): the regular reviews to decide by their due date, the reviews sent
// back, the objections open, the duplicates to settle, the enrollments to
// approve, to end or to resubmit, the health insurance cards about to
// expire, the reviews awaiting recognition, the imports with problems, the
// households a reorganization left to decide and the complaints to accept
// and to settle. Supervisors see the same
// work counted by commune.
package inbox

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/vn"
)

// Kind is a kind of work: who acts on it (the permission whose scope
// decides), how it is named, and the permission that reads it (for the
// supervisors' counts).
type Kind struct {
	Name             string
	NameVI, NameEN   string
	Resource, Action string // the permission to act
	ReadResource     string // the resource whose read permission counts it
	Route            string // the route that acts on an item: method and path, {id} the subject's, {parent} its parent's
}

// Kinds of work, in the order the counts list them.
var Kinds = []Kind{
	{"regular_review_due", "Rà soát thường xuyên cần quyết định", "Regular review to decide", "review", "write", "review", "GET /api/v1/reviews/{id}"},
	{"review_returned", "Kết quả rà soát bị trả lại", "Review returned", "review", "write", "review", "POST /api/v1/reviews/{id}/reopen"},
	{"objection_open", "Khiếu nại, thắc mắc chưa giải quyết trong thời gian niêm yết", "Objection open", "review", "write", "review", "POST /api/v1/reviews/{parent}/objections/{id}/resolve"},
	{"duplicate_candidate", "Nghi trùng nhân khẩu cần xác định", "Possible duplicate to settle", "household", "write", "household", "POST /api/v1/duplicates/{id}/resolve"},
	{"enrollment_returned", "Đề nghị hỗ trợ bị trả lại", "Enrollment returned", "enrollment", "propose", "enrollment", "POST /api/v1/enrollments/{id}/resubmit"},
	{"card_expiring", "Thẻ BHYT sắp hết hạn", "Health insurance card expiring", "delivery", "write", "delivery", "POST /api/v1/enrollments/{id}/deliveries"},
	{"reorganization_decision", "Hộ chờ xác định xã mới sau sắp xếp", "Household to place after the reorganization",
		"reorganization_queue", "decide", "household", "POST /api/v1/reorganizations/{parent}/queue/{id}"},
	{"review_submitted", "Kết quả rà soát chờ công nhận", "Review awaiting recognition", "review", "approve", "review", "POST /api/v1/reviews/{id}/recognize"},
	{"enrollment_proposed", "Đề nghị hỗ trợ chờ phê duyệt", "Enrollment awaiting approval", "enrollment", "approve", "enrollment", "POST /api/v1/enrollments/{id}/approve"},
	{"enrollment_flagged", "Hỗ trợ cần xem lại sau khi phân loại lại", "Enrollment flagged after reclassification",
		"enrollment", "approve", "enrollment", "POST /api/v1/enrollments/{id}/end"},
	{"enrollment_past_end", "Hỗ trợ đã quá hạn kết thúc", "Enrollment past its end", "enrollment", "approve", "enrollment", "POST /api/v1/enrollments/{id}/end"},
	{"import_problems", "Tệp nhập có lỗi cần sửa", "Import with problems", "import", "run", "", "GET /api/v1/imports/{id}/problems"},
	{"complaint_to_accept", "Khiếu nại cần thụ lý", "Complaint to accept or refuse", "complaint", "write", "complaint", "POST /api/v1/complaints/{id}/accept"},
	{"complaint_to_settle", "Khiếu nại cần giải quyết", "Complaint to settle", "complaint", "decide", "complaint", "POST /api/v1/complaints/{id}/decide"},
}

// KindNamed is a kind by its name (the zero Kind for none).
func KindNamed(name string) Kind {
	k, _ := kind(name)
	return k
}

// kind is a kind by name.
func kind(name string) (Kind, bool) {
	i := slices.IndexFunc(Kinds, func(k Kind) bool { return k.Name == name })
	if i < 0 {
		return Kind{}, false
	}
	return Kinds[i], true
}

// Item is one piece of work: what, for whom, since when, by when, and the
// route that acts on it.
type Item struct {
	Kind          string
	SubjectType   string
	SubjectID     uuid.UUID
	ParentID      *uuid.UUID // the review of an objection, the reorganization of a move
	HouseholdID   *uuid.UUID
	HouseholdCode string
	CommuneCode   string
	Since         time.Time
	Due           *time.Time // a date
	Overdue       bool
	Detail        string
	Method, Path  string // the action's route
}

// actionOf is the route that acts on an item: its kind's, with its ids.
func actionOf(it Item) (method, path string) {
	parent := ""
	if it.ParentID != nil {
		parent = it.ParentID.String()
	}
	method, path, _ = strings.Cut(KindNamed(it.Kind).Route, " ")
	return method, strings.NewReplacer("{id}", it.SubjectID.String(), "{parent}", parent).Replace(path)
}

// Filter narrows an inbox.
type Filter struct {
	Kinds       []string // none: every kind
	CommuneCode string
	Overdue     bool // only the overdue
}

// Position is where a page of an inbox ends: items come by due date (those
// without one last), then since when, then id.
type Position struct {
	Due   string    `json:"d"` // YYYY-MM-DD, 9999-12-31 for none
	Since time.Time `json:"s"`
	ID    uuid.UUID `json:"i"`
	Kind  string    `json:"k"`
}

// position is an item's place in the order.
func (it Item) position() Position {
	due := noDue
	if it.Due != nil {
		due = it.Due.Format(time.DateOnly)
	}
	return Position{Due: due, Since: it.Since, ID: it.SubjectID, Kind: it.Kind}
}

// compare orders positions as the inbox's SQL does: due date (as text,
// YYYY-MM-DD), since, subject id (bytewise, as PostgreSQL compares uuids),
// then kind (bytewise: COLLATE "C").
func (p Position) compare(o Position) int {
	if c := strings.Compare(p.Due, o.Due); c != 0 {
		return c
	}
	if c := p.Since.Compare(o.Since); c != 0 {
		return c
	}
	if c := bytes.Compare(p.ID[:], o.ID[:]); c != 0 {
		return c
	}
	return strings.Compare(p.Kind, o.Kind)
}

// noDue sorts after every date.
const noDue = "9999-12-31"

// Count is how many items of a kind wait, and how many of them are overdue.
type Count struct {
	Kind           string
	Items, Overdue int64
}

// CommuneCount is a commune's waiting work of a kind.
type CommuneCount struct {
	CommuneCode    string
	Kind           string
	Items, Overdue int64
}

// scoper is where the caller may act (*access.Authorizer).
type scoper interface {
	Scope(ctx context.Context, resource, action string) (access.Scope, error)
}

// Service reads inboxes.
type Service struct {
	db    *db.DB
	store store
	authz scoper
	now   func() time.Time
}

// NewService makes the service.
func NewService(pool *db.DB, authz scoper) *Service {
	return &Service{db: pool, store: store{db: pool}, authz: authz, now: time.Now}
}

// scopes are the kinds the caller's roles act on (or read, for read), each
// with its scope, narrowed by the filter.
func (s *Service) scopes(ctx context.Context, f Filter, read bool) (map[string]access.Scope, error) {
	out := map[string]access.Scope{}
	for _, k := range Kinds {
		if len(f.Kinds) > 0 && !slices.Contains(f.Kinds, k.Name) {
			continue
		}
		resource, action := k.Resource, k.Action
		if read {
			if k.ReadResource == "" {
				continue
			}
			resource, action = k.ReadResource, "read"
		}
		scope, err := s.authz.Scope(ctx, resource, action)
		if e, ok := apperr.As(err); ok && (e.Kind == apperr.Forbidden || e.Kind == apperr.Unauthenticated) {
			continue // not this role's work
		}
		if err != nil {
			return nil, err
		}
		out[k.Name] = scope
	}
	return out, nil
}

// Inbox is a page of the caller's work with the counts by kind.
func (s *Service) Inbox(ctx context.Context, f Filter, after *Position, limit int) ([]Item, []Count, error) {
	scopes, err := s.scopes(ctx, f, false)
	if err != nil {
		return nil, nil, err
	}
	today := vn.Today(s.now())
	q := query{scopes: scopes, owner: access.Owner(ctx), today: today, filter: f}
	items, counts, err := s.store.inbox(ctx, q, after, limit)
	return items, counts, err
}

// Summary counts the work waiting in the caller's areas by commune and
// kind, whoever must act on it: what a supervisor follows.
func (s *Service) Summary(ctx context.Context, f Filter) ([]CommuneCount, error) {
	scopes, err := s.scopes(ctx, f, true)
	if err != nil {
		return nil, err
	}
	if len(scopes) == 0 {
		return nil, apperr.New(apperr.Forbidden, "forbidden", "your roles read none of the work an inbox counts")
	}
	return s.store.byCommune(ctx, query{scopes: scopes, today: vn.Today(s.now()), filter: f, within: true})
}

// Waiting are those of the subjects whose work of the kind still waits
// (a notification tells only of work still to do: a review recognized
// before its notification went out is not news). A user's own kind
// (import_problems) always waits.
func (s *Service) Waiting(ctx context.Context, kind string, ids []uuid.UUID) ([]uuid.UUID, error) {
	if _, ok := kindSQL[kind]; !ok || len(ids) == 0 {
		return nil, nil
	}
	if len(kindSQL[kind].columns) == 0 {
		return ids, nil
	}
	return s.store.waiting(ctx, kind, vn.Today(s.now()), ids)
}
