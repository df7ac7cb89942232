package report

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/platform/apperr"
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
// movements, the recognized changes of the date's year up to it. It returns
// the households it names, whose reading is logged by the caller's route.
func (s *Service) List(ctx context.Context, scope access.Scope, kind, areaCode string, on time.Time, program string) (Area, Table, error) {
	if !slices.Contains(ListKinds, kind) {
		return Area{}, Table{}, apperr.New(apperr.NotFound, "list_not_found", "no list %q", kind)
	}
	if kind == "enrollees" && program == "" {
		return Area{}, Table{}, apperr.Fields([]apperr.FieldError{{Field: "program", Code: "required", Message: "name the program whose enrollees to list"}})
	}
	a, err := s.area(ctx, scope, areaCode)
	if err != nil {
		return Area{}, Table{}, err
	}
	cond, args := scope.SQL("h.area_path")
	params := named(args, map[string]any{"area": a.Path, "date": on, "next": nextDay(on),
		"from": time.Date(on.Year(), 1, 1, 0, 0, 0, 0, time.UTC), "kind": kind, "program": program})
	head := `coalesce((SELECT m.full_name FROM members m WHERE m.household_id = h.id AND m.relationship = 'head' AND m.status = 'present'
		LIMIT 1), '')`
	size := `(SELECT count(*) FROM members m WHERE m.household_id = h.id AND m.status = 'present')`
	t := Table{TitleVI: fmt.Sprintf("%s — %s, %s", listTitles[kind][0], a.Name, on.Format("02/01/2006")),
		TitleEN: fmt.Sprintf("%s — %s, %s", listTitles[kind][1], a.Name, on.Format(time.DateOnly))}
	var q string
	switch kind {
	case "poor", "near_poor":
		t.Columns = []Column{{"no", "STT", "No.", Integer}, {"household_code", "Mã hộ", "Household code", Text},
			{"head_name", "Họ tên chủ hộ", "Head of household", Text}, {"village", "Thôn/ấp", "Village", Text},
			{"commune", "Xã/phường", "Commune", Text}, {"address", "Địa chỉ", "Address", Text}, {"members", "Số nhân khẩu", "Members", Integer},
			{"decision", "Quyết định công nhận", "Decision", Text}}
		// The decision in force on the date: that of the last change by then.
		q = `SELECT h.id, h.code, ` + head + `, h.village, a.name, h.address, ` + size + `,
			coalesce((SELECT c.decision_number FROM classification_changes c WHERE c.household_id = h.id AND c.effective_date <= @date
				ORDER BY c.effective_date DESC, c.created_at DESC LIMIT 1), '')
			FROM (SELECT h.*, ` + classAt + ` AS cls FROM households h WHERE h.area_path <@ (@area)::ltree AND ` + activeAt + ` AND ` +
			namedScope(cond) + `) h JOIN areas a ON a.code = h.commune_code WHERE h.cls = @kind ORDER BY a.name, h.village, h.code`
	case "enrollees":
		t.Columns = []Column{{"no", "STT", "No.", Integer}, {"household_code", "Mã hộ", "Household code", Text},
			{"head_name", "Họ tên chủ hộ", "Head of household", Text}, {"beneficiary", "Người thụ hưởng", "Beneficiary", Text},
			{"village", "Thôn/ấp", "Village", Text}, {"commune", "Xã/phường", "Commune", Text},
			{"starts_on", "Ngày bắt đầu", "Starts on", Text}, {"amount", "Số tiền (đồng)", "Amount (VND)", Money}}
		t.TitleVI = fmt.Sprintf("%s chương trình %s — %s, %s", listTitles[kind][0], program, a.Name, on.Format("02/01/2006"))
		q = `SELECT h.id, h.code, ` + head + `, coalesce(mb.full_name, 'Cả hộ'), h.village, a.name, to_char(e.starts_on, 'DD/MM/YYYY'), e.amount
			FROM enrollments e JOIN households h ON h.id = e.household_id JOIN areas a ON a.code = h.commune_code
			LEFT JOIN members mb ON mb.id = e.member_id
			WHERE e.program_code = @program AND e.state IN ('approved', 'ended') AND e.starts_on <= @date
			AND coalesce(e.ended_on, e.ends_on, @date) >= @date AND h.area_path <@ (@area)::ltree AND ` + namedScope(cond) + `
			ORDER BY a.name, h.village, h.code, mb.full_name`
	default:
		t.Columns = []Column{{"no", "STT", "No.", Integer}, {"household_code", "Mã hộ", "Household code", Text},
			{"head_name", "Họ tên chủ hộ", "Head of household", Text}, {"village", "Thôn/ấp", "Village", Text},
			{"commune", "Xã/phường", "Commune", Text}, {"from", "Phân loại trước", "Before", Text}, {"to", "Phân loại sau", "After", Text},
			{"decision", "Quyết định công nhận", "Decision", Text}, {"effective", "Ngày hiệu lực", "Effective", Text}}
		q = `SELECT h.id, h.code, ` + head + `, h.village, a.name, c.from_class, c.to_class, c.decision_number,
			to_char(c.effective_date, 'DD/MM/YYYY')
			FROM classification_changes c JOIN households h ON h.id = c.household_id JOIN areas a ON a.code = h.commune_code
			WHERE @kind = ANY (c.lists) AND c.effective_date BETWEEN @from AND @date AND h.area_path <@ (@area)::ltree AND ` +
			namedScope(cond) + ` ORDER BY a.name, h.village, h.code`
	}
	rows, err := s.db.Read(ctx).Raw(q, params).Rows()
	if err != nil {
		return Area{}, Table{}, db.MapError(err)
	}
	defer rows.Close()
	var ids []uuid.UUID
	for rows.Next() {
		var id uuid.UUID
		vals := make([]any, len(t.Columns)-1)
		dest := []any{&id}
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return Area{}, Table{}, err
		}
		row := append([]any{int64(len(t.Rows) + 1)}, vals...)
		for i, c := range t.Columns {
			if c.Key == "from" || c.Key == "to" {
				row[i] = classNamesVI[fmt.Sprint(row[i])]
			}
		}
		t.Rows = append(t.Rows, row)
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return Area{}, Table{}, err
	}
	if len(ids) > 0 {
		s.reads.Read(ctx, "household", a.Path, ids...)
	}
	return a, t, nil
}

// Exported records that a file left the system: who, when, what and which
// filter. It returns the footer the file carries.
func (s *Service) Exported(ctx context.Context, what, areaCode string, filter map[string]any, format string, rows int) (string, error) {
	actor, _ := access.ActorFrom(ctx)
	name := actor.Username
	if actor.UserID != uuid.Nil {
		var full string
		if err := s.db.Read(ctx).Raw(`SELECT full_name FROM users WHERE id = ?`, actor.UserID).Scan(&full).Error; err == nil && full != "" {
			name = full + " (" + actor.Username + ")"
		}
	}
	at := s.now().In(vn.Zone)
	var path string
	_ = s.db.Read(ctx).Raw(`SELECT path::text FROM areas WHERE code = ?`, areaCode).Scan(&path).Error
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "export." + what, EntityType: "export",
			EntityID: uuid.Must(uuid.NewV7()).String(), AreaPath: path,
			After: map[string]any{"what": what, "filter": filter, "format": format, "rows": rows}})
	})
	return fmt.Sprintf("Người xuất: %s — lúc %s", name, at.Format("15:04 02/01/2006")), db.MapError(err)
}
