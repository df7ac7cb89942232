package importer

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/ansinh/ansinh/internal/household"
	"github.com/ansinh/ansinh/internal/platform/apperr"
)

// Columns of the template, one row per person; a household is the run of
// consecutive rows with the same commune and household code, its own fields
// read from its first row. Each column says where its cells go: a field of
// the household (household) or of the row's member (member); an importable
// field is one line here.
var Columns = []Column{
	{"commune_code", "Mã xã (5 chữ số, mã TCTK)", "Commune code (5 digits, GSO)", true,
		text(func(h *household.Household) *string { return &h.CommuneCode }), nil},
	{"household_code", "Mã hộ (duy nhất trong xã)", "Household code (unique in the commune)", true,
		text(func(h *household.Household) *string { return &h.Code }), nil},
	{"village", "Thôn/ấp", "Village", true, text(func(h *household.Household) *string { return &h.Village }), nil},
	{"address", "Địa chỉ", "Address", false, text(func(h *household.Household) *string { return &h.Address }), nil},
	{"area_type", "Khu vực: rural (nông thôn) hoặc urban (thành thị)", "Area type: rural or urban", true,
		text(func(h *household.Household) *string { return &h.AreaType }), nil},
	{"phone", "Số điện thoại của hộ", "Household phone", false, text(func(h *household.Household) *string { return &h.Phone }), nil},
	{"ethnic_minority", "Hộ dân tộc thiểu số (có/không)", "Ethnic-minority household (yes/no)", false,
		yesNo(func(h *household.Household) *bool { return &h.EthnicMinority }), nil},
	{"full_name", "Họ và tên", "Full name", true, nil, text(func(m *member) *string { return &m.FullName })},
	{"birth_date", "Ngày sinh (YYYY-MM-DD) hoặc năm sinh (YYYY)", "Birth date (YYYY-MM-DD) or year (YYYY)", true,
		nil, text(func(m *member) *string { return &m.BirthDate })},
	{"sex", "Giới tính: male (nam) hoặc female (nữ)", "Sex: male or female", true, nil, text(func(m *member) *string { return &m.Sex })},
	{"id_number", "Số CCCD (12 số) hoặc CMND (9 số)", "ID number (CCCD 12 digits or CMND 9)", false,
		nil, text(func(m *member) *string { return &m.IDNumber })},
	{"relationship", "Quan hệ với chủ hộ: head, spouse, child, parent, grandchild, grandparent, sibling, in_law, other", "Relationship to the head", true,
		nil, text(func(m *member) *string { return &m.Relationship })},
	{"ethnicity_code", "Mã dân tộc (1–54)", "Ethnic group code (1–54)", false, nil, ethnicity},
	{"disability", "Người khuyết tật (có/không)", "Disability (yes/no)", false, nil, yesNo(func(m *member) *bool { return &m.Disability })},
	{"student", "Đang đi học (có/không)", "Attends school (yes/no)", false, nil, yesNo(func(m *member) *bool { return &m.Student })},
	{"school_level", "Cấp học", "School level", false, nil, text(func(m *member) *string { return &m.SchoolLevel })},
	{"education_level", "Trình độ học vấn", "Education level", false, nil, text(func(m *member) *string { return &m.EducationLevel })},
	{"occupation", "Nghề nghiệp", "Occupation", false, nil, text(func(m *member) *string { return &m.Occupation })},
	{"employment_status", "Tình trạng việc làm", "Employment status", false,
		nil, text(func(m *member) *string { return &m.EmploymentStatus })},
	{"insurance_card", "Số thẻ BHYT", "Health insurance card number", false, nil, text(func(m *member) *string { return &m.InsuranceCard })},
	{"insurance_expiry", "Hạn thẻ BHYT (YYYY-MM-DD)", "Card expiry (YYYY-MM-DD)", false,
		nil, text(func(m *member) *string { return &m.InsuranceExpiry })},
}

// Column is one column of the template: its name, its header's wording,
// whether a file must have it, and where its cells go (one of household and
// member).
type Column struct {
	Name, VI, EN string
	Required     bool
	household    func(h *household.Household, cell string) *cellProblem
	member       func(m *member, cell string) *cellProblem
}

// member is a member's values as a row gives them.
type member = household.MemberFields

// cellProblem is why a cell's value was refused.
type cellProblem struct{ code, message string }

// text puts the cell, trimmed, in a text field.
func text[T any](field func(*T) *string) func(*T, string) *cellProblem {
	return func(x *T, cell string) *cellProblem {
		*field(x) = strings.TrimSpace(cell)
		return nil
	}
}

// yesNo reads the cell as yes or no (parseBool) into a field.
func yesNo[T any](field func(*T) *bool) func(*T, string) *cellProblem {
	return func(x *T, cell string) *cellProblem {
		v, ok := parseBool(cell)
		if !ok {
			return &cellProblem{"boolean", "must be yes or no"}
		}
		*field(x) = v
		return nil
	}
}

// ethnicity reads an ethnic group's code (its range is the model's to check).
func ethnicity(m *member, cell string) *cellProblem {
	if e := strings.TrimSpace(cell); e != "" {
		n, err := strconv.Atoi(e)
		if err != nil {
			return &cellProblem{"invalid", "must be a number from 1 to 54"}
		}
		m.EthnicityCode = &n
	}
	return nil
}

// maxCell is the longest a cell may be (a name, an address).
const maxCell = 300

// rowReader reads a file's rows one at a time.
type rowReader interface {
	Next() ([]string, error) // io.EOF at the end
	Close() error
}

// maxLine is the longest a CSV line may be (an unclosed quote otherwise
// makes one field of the whole file).
const maxLine = 1 << 20

// lineLimit fails a read once a line runs past max bytes.
type lineLimit struct {
	r   *bufio.Reader
	max int
	run int
}

func (l *lineLimit) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for _, b := range p[:n] {
		if b == '\n' {
			l.run = 0
			continue
		}
		if l.run++; l.run > l.max {
			return 0, fileProblem("a line is longer than %d bytes (an unclosed quote?)", l.max)
		}
	}
	return n, err
}

type csvRows struct{ r *csv.Reader }

func (c csvRows) Next() ([]string, error) { return c.r.Read() }
func (c csvRows) Close() error            { return nil }

type xlsxRows struct {
	f    *excelize.File
	rows *excelize.Rows
}

func (x xlsxRows) Next() ([]string, error) {
	if !x.rows.Next() {
		if err := x.rows.Error(); err != nil {
			return nil, err
		}
		return nil, io.EOF
	}
	return x.rows.Columns()
}

func (x xlsxRows) Close() error {
	_ = x.rows.Close()
	return x.f.Close()
}

// openRows reads CSV (UTF-8, an optional byte order mark) or the first sheet
// of an XLSX workbook, streaming.
func openRows(r io.ReaderAt, size int64, kind string) (rowReader, error) {
	switch kind {
	case "csv":
		cr := csv.NewReader(&lineLimit{r: bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 64<<10), max: maxLine})
		cr.FieldsPerRecord = -1
		cr.ReuseRecord = false
		return csvRows{r: cr}, nil
	case "xlsx":
		// excelize keeps a large sheet's XML in a temporary file rather than in
		// memory (its default limit); from a file on disk it reads the zip there.
		opts := excelize.Options{UnzipSizeLimit: 4 << 30}
		var f *excelize.File
		var err error
		if file, ok := r.(*os.File); ok {
			f, err = excelize.OpenFile(file.Name(), opts)
		} else {
			f, err = excelize.OpenReader(io.NewSectionReader(r, 0, size), opts)
		}
		if err != nil {
			return nil, fileProblem("the file is not an Excel workbook: %v", err)
		}
		sheets := f.GetSheetList()
		if len(sheets) == 0 {
			return nil, fileProblem("the workbook has no sheet")
		}
		rows, err := f.Rows(sheets[0])
		if err != nil {
			f.Close()
			return nil, err
		}
		return xlsxRows{f: f, rows: rows}, nil
	}
	return nil, fileProblem("the file must be CSV or XLSX")
}

// header maps column names to positions; every required column of cols must
// be there.
func header(rec []string, cols []Column) (map[string]int, error) {
	idx := map[string]int{}
	for i, name := range rec {
		name = strings.TrimSpace(strings.TrimPrefix(name, "\ufeff"))
		if name == "" {
			continue
		}
		if !slices.ContainsFunc(cols, func(c Column) bool { return c.Name == name }) {
			return nil, fileProblem("column %q is not in the template", name)
		}
		idx[name] = i
	}
	var missing []string
	for _, c := range cols {
		if _, ok := idx[c.Name]; !ok && c.Required {
			missing = append(missing, c.Name)
		}
	}
	if len(missing) > 0 {
		return nil, fileProblem("the header lacks the column(s) %s (download the template)", strings.Join(missing, ", "))
	}
	return idx, nil
}

// line is one parsed row.
type line struct {
	number int
	get    func(string) string
}

// parseBool reads có/không, yes/no, true/false, 1/0, x (empty is no).
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "0", "no", "false", "không", "khong", "n":
		return false, true
	case "1", "yes", "true", "có", "co", "x", "y":
		return true, true
	}
	return false, false
}

// build turns a household's rows into a household, with every problem in
// them (by row and column) and the rows of its members.
func build(rows []line, now time.Time) (household.Household, []Problem) {
	first := rows[0]
	probs := cellProblems(rows, Columns)
	if len(probs) > 0 { // nothing else can be judged on such text
		return household.Household{}, probs
	}
	// Each column's cells go where the table says: the household's from its
	// first row, the members' from each row.
	var h household.HouseholdFields
	for _, c := range Columns {
		if c.household == nil {
			continue
		}
		if p := c.household(&h.Household, first.get(c.Name)); p != nil {
			probs = append(probs, problem(first.number, c.Name, p.code, p.message))
		}
	}
	for _, r := range rows {
		var in member
		for _, c := range Columns {
			if c.member == nil {
				continue
			}
			if p := c.member(&in, r.get(c.Name)); p != nil {
				probs = append(probs, problem(r.number, c.Name, p.code, p.message))
			}
		}
		h.Members = append(h.Members, in)
	}
	parsed, err := household.NewHousehold(h, now)
	if e, ok := apperr.As(err); ok {
		probs = append(probs, placed(rows, e.Fields)...)
	}
	return parsed, probs
}

// cellProblems are the cells of rows that are no text to read: not UTF-8,
// with a NUL character, or too long.
func cellProblems(rows []line, cols []Column) []Problem {
	var probs []Problem
	for _, r := range rows {
		for _, c := range cols {
			v := r.get(c.Name)
			switch {
			case !utf8.ValidString(v):
				probs = append(probs, problem(r.number, c.Name, "encoding", "is not UTF-8 text: save the CSV file as UTF-8"))
			case strings.ContainsRune(v, 0):
				probs = append(probs, problem(r.number, c.Name, "invalid", "contains a NUL character"))
			case len(v) > maxCell:
				probs = append(probs, problem(r.number, c.Name, "too_long", fmt.Sprintf("is longer than %d bytes", maxCell)))
			}
		}
	}
	return probs
}

var memberField = regexp.MustCompile(`^members\[(\d+)\]\.(.+)$`)

// placed puts a household's field errors on their rows and columns.
func placed(rows []line, fields []apperr.FieldError) []Problem {
	var out []Problem
	for _, f := range fields {
		row, col := rows[0].number, f.Field
		if m := memberField.FindStringSubmatch(f.Field); m != nil {
			i, _ := strconv.Atoi(m[1])
			if i < len(rows) {
				row = rows[i].number
			}
			col = m[2]
		}
		switch col {
		case "code":
			col = "household_code"
		case "members":
			col = "relationship"
		}
		out = append(out, problem(row, col, f.Code, f.Message))
	}
	return out
}

// blank is a row without a value (skipped).
func blank(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

// getter reads a row's cells by column name ("" for a column the file lacks).
func getter(rec []string, cols map[string]int) func(string) string {
	return func(name string) string {
		if i, ok := cols[name]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
}
