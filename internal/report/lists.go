package report

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/vn"
)

// ListKinds are the official lists: the poor and near-poor on a date, the
// year's movements, and a program's enrollees.
var ListKinds = []string{"poor", "near_poor", "newly_poor", "newly_near_poor", "escaped_poverty", "escaped_near_poverty",
	"re_entered_poverty", "enrollees"}

var listTitles = map[string][2]string{
	"poor":                 {"Danh sách hộ nghèo", "Poor households"},
	"near_poor":            {"Danh sách hộ cận nghèo", "Near-poor households"},
	"newly_poor":           {"Danh sách hộ nghèo phát sinh", "Newly poor households"},
	"newly_near_poor":      {"Danh sách hộ cận nghèo phát sinh", "Newly near-poor households"},
	"escaped_poverty":      {"Danh sách hộ thoát nghèo", "Households that escaped poverty"},
	"escaped_near_poverty": {"Danh sách hộ thoát cận nghèo", "Households that escaped near-poverty"},
	"re_entered_poverty":   {"Danh sách hộ tái nghèo", "Households poor again"},
	"enrollees":            {"Danh sách đối tượng thụ hưởng", "Enrollees"},
}

var classNamesVI = map[string]string{"poor": "Hộ nghèo", "near_poor": "Hộ cận nghèo", "average": "Hộ có mức sống trung bình", "none": "Không"}

// List builds an official list of an area (in scope) on a date: for the
// movements, the recognized changes of the date's year up to it. The reading
// of the households it names is logged.
func (s *Service) List(ctx context.Context, scope access.Scope, kind, areaCode string, on time.Time, program string) (Area, Table, error) {
	if !slices.Contains(ListKinds, kind) {
		return Area{}, Table{}, errListNotFound(kind)
	}
	if kind == "enrollees" && program == "" {
		return Area{}, Table{}, errProgramRequired()
	}
	a, err := s.area(ctx, scope, areaCode, "area")
	if err != nil {
		return Area{}, Table{}, err
	}
	t := listTable(kind, a, on, program)
	var ids []uuid.UUID
	var rows [][]any
	err = s.db.ReadTx(ctx, func(ctx context.Context, _ bool) error {
		ids, rows, err = s.store.list(ctx, scope, kind, a, on, program, len(t.Columns)-1)
		return err
	})
	if err != nil {
		return Area{}, Table{}, err
	}
	for i, vals := range rows {
		row := append([]any{int64(i + 1)}, vals...)
		for j, c := range t.Columns {
			if c.Key == "from" || c.Key == "to" {
				row[j] = classNamesVI[fmt.Sprint(row[j])]
			}
		}
		t.Rows = append(t.Rows, row)
	}
	if len(ids) > 0 {
		s.reads.Read(ctx, "household", a.Path, ids...)
	}
	return a, t, nil
}

// listTable is an official list's title and columns (the first, the running
// number; the others, the columns of the list's query in order).
func listTable(kind string, a Area, on time.Time, program string) Table {
	t := Table{TitleVI: fmt.Sprintf("%s — %s, %s", listTitles[kind][0], a.Name, on.Format("02/01/2006")),
		TitleEN: fmt.Sprintf("%s — %s, %s", listTitles[kind][1], a.Name, on.Format(time.DateOnly))}
	switch kind {
	case "poor", "near_poor":
		t.Columns = []Column{{"no", "STT", "No.", Integer}, {"household_code", "Mã hộ", "Household code", Text},
			{"head_name", "Họ tên chủ hộ", "Head of household", Text}, {"village", "Thôn/ấp", "Village", Text},
			{"commune", "Xã/phường", "Commune", Text}, {"address", "Địa chỉ", "Address", Text}, {"members", "Số nhân khẩu", "Members", Integer},
			{"decision", "Quyết định công nhận", "Decision", Text}}
	case "enrollees":
		t.Columns = []Column{{"no", "STT", "No.", Integer}, {"household_code", "Mã hộ", "Household code", Text},
			{"head_name", "Họ tên chủ hộ", "Head of household", Text}, {"beneficiary", "Người thụ hưởng", "Beneficiary", Text},
			{"village", "Thôn/ấp", "Village", Text}, {"commune", "Xã/phường", "Commune", Text},
			{"starts_on", "Ngày bắt đầu", "Starts on", Text}, {"amount", "Số tiền (đồng)", "Amount (VND)", Money}}
		t.TitleVI = fmt.Sprintf("%s chương trình %s — %s, %s", listTitles[kind][0], program, a.Name, on.Format("02/01/2006"))
	default:
		t.Columns = []Column{{"no", "STT", "No.", Integer}, {"household_code", "Mã hộ", "Household code", Text},
			{"head_name", "Họ tên chủ hộ", "Head of household", Text}, {"village", "Thôn/ấp", "Village", Text},
			{"commune", "Xã/phường", "Commune", Text}, {"from", "Phân loại trước", "Before", Text}, {"to", "Phân loại sau", "After", Text},
			{"decision", "Quyết định công nhận", "Decision", Text}, {"effective", "Ngày hiệu lực", "Effective", Text}}
	}
	return t
}

// Exported records that a file about area a left the system: who, when, what
// and which filter. It returns the footer the file carries.
func (s *Service) Exported(ctx context.Context, what string, a Area, filter map[string]any, format string, rows int) (string, error) {
	actor, _ := access.ActorFrom(ctx)
	name := actor.Username
	if actor.UserID != uuid.Nil {
		full, err := s.store.userFullName(ctx, actor.UserID)
		if err != nil {
			return "", err
		}
		if full != "" {
			name = full + " (" + actor.Username + ")"
		}
	}
	at := s.now().In(vn.Zone)
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "export." + what, EntityType: "export",
			EntityID: uuid.Must(uuid.NewV7()).String(), AreaPath: a.Path,
			After: map[string]any{"what": what, "filter": filter, "format": format, "rows": rows}})
	})
	return fmt.Sprintf("Người xuất: %s — lúc %s", name, at.Format("15:04 02/01/2006")), db.MapError(err)
}
