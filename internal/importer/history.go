package importer

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/assessment"
	"github.com/ansinh/ansinh/internal/household"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/vn"
)

// HistoryColumns are the columns of the history template: one row per
// household and year, a household's rows together and in year order. A row
// says that the decision recognized the household in that year's list (poor,
// near-poor, or average: out of poverty); the commune is in the units of the
// decision's date. The household is found by its commune and code in those
// units (through the reorganization that moved it, for older units); one not
// registered is created from the head's columns.
var HistoryColumns = []Column{
	{"year", "Năm của danh sách (YYYY)", "Year of the list (YYYY)", true, nil, nil},
	{"commune_code", "Mã xã theo đơn vị hành chính năm đó (5 chữ số)", "Commune code in the units of that year (5 digits)", true, nil, nil},
	{"household_code", "Mã hộ (duy nhất trong xã)", "Household code (unique in the commune)", true, nil, nil},
	{"head_name", "Họ và tên chủ hộ", "Head of household's full name", true, nil, nil},
	{"classification", "Phân loại: poor (nghèo), near_poor (cận nghèo), average (thoát nghèo, mức sống trung bình)",
		"Classification: poor, near_poor or average (out of poverty)", true, nil, nil},
	{"decision_number", "Số quyết định công nhận", "Number of the recognizing decision", true, nil, nil},
	{"decision_date", "Ngày quyết định (YYYY-MM-DD)", "Date of the decision (YYYY-MM-DD)", true, nil, nil},
	{"village", "Thôn/ấp (bắt buộc với hộ chưa có trong hệ thống)", "Village (required for a household not yet registered)", false, nil, nil},
	{"area_type", "Khu vực: rural hoặc urban (mặc định rural)", "Area type: rural or urban (default rural)", false, nil, nil},
	{"head_birth_year", "Năm sinh chủ hộ (bắt buộc với hộ chưa có)", "Head's birth year (required for a new household)", false, nil, nil},
	{"head_sex", "Giới tính chủ hộ: male hoặc female (bắt buộc với hộ chưa có)", "Head's sex (required for a new household)", false, nil, nil},
	{"income_per_person", "Thu nhập bình quân đầu người/tháng (VND)", "Income per person a month (VND)", false, nil, nil},
	{"deprivations", "Các chỉ số thiếu hụt, cách nhau bởi dấu ;", "Deprivation indicators, separated by ;", false, nil, nil},
}

// history is a household's years as a history file gives them, and what
// check found of them.
type history struct {
	commune, code, head string
	years               []year
	// create is the household to register when none is found: nil when
	// the file does not give what registering needs (missing names the
	// columns).
	create  *household.Household
	missing []string

	// createProblems are the head's columns' problems: reported only when
	// the household must be created.
	createProblems []Problem

	// Found by check.
	edition     string    // the units of its first year
	path        string    // its commune's path in them
	householdID uuid.UUID // the household found, or the one to create
	created     bool      // it is to be created
	twin        bool      // created by a group above in the batch (the same household under the codes of other units)
	moveFrom    *move     // created under units older than those in use: its move
	known       *known    // the household's record, shared by its groups of rows in a batch
}

// known is what is on record of a household's classification, and what a
// batch adds to it: a household may come twice in a file (under the codes
// of the units before and after a reorganization).
type known struct {
	recorded    map[int]recorded // history rows by list year
	lastHistory time.Time        // the date of the last history row
	latest      time.Time        // its last change (any source), zero if none
	changes     []change         // every change, in the order they were made known
}

// year is one row of a history: a household's classification in a year's
// list.
type year struct {
	row          int
	year         int
	class        string
	decision     string
	decisionDate time.Time
	effective    time.Time // the decision's date, or 31 December of the year if it came after
	income       *int64
	deprivations []string
	existing     bool // recorded alike already (found by check)
}

// recorded is a history row on record for a household and list year.
type recorded struct {
	class, decision string
	on              time.Time
}

// change is a classification change on record.
type change struct {
	on       time.Time
	from, to string
}

// move places a household created under older units in the reorganization
// that moved their households.
type move struct {
	reorganization uuid.UUID
	fromCode       string
}

// classes read from a history file, in English or Vietnamese.
var classes = map[string]string{
	"poor": assessment.Poor, "near_poor": assessment.NearPoor, "average": assessment.Average,
	"nghèo": assessment.Poor, "hộ nghèo": assessment.Poor, "cận nghèo": assessment.NearPoor, "hộ cận nghèo": assessment.NearPoor,
	"thoát nghèo": assessment.Average, "trung bình": assessment.Average,
}

var indicatorCode = regexp.MustCompile(`^[a-z][a-z_]{1,40}$`)

// buildHistory reads a household's rows of a history file: its codes and
// head from the first row, a year from each, in year order; the household
// to register if none is found, when the file says enough.
func buildHistory(rows []line, now time.Time) (pending, []Problem) {
	first := rows[0]
	probs := cellProblems(rows, HistoryColumns)
	if len(probs) > 0 { // nothing else can be judged on such text
		return pending{}, probs
	}
	add := func(row int, col, code, msg string) { probs = append(probs, problem(row, col, code, msg)) }
	h := &history{commune: strings.TrimSpace(first.get("commune_code")), code: strings.TrimSpace(first.get("household_code")),
		head: strings.TrimSpace(first.get("head_name"))}
	for col, v := range map[string]string{"commune_code": h.commune, "household_code": h.code, "head_name": h.head} {
		if v == "" {
			add(first.number, col, "required", "is required")
		}
	}
	today := vn.Today(now)
	for _, r := range rows {
		y, ps := readYear(r, today)
		probs = append(probs, ps...)
		if n := len(h.years); len(ps) == 0 && n > 0 && y.year <= h.years[n-1].year {
			add(r.number, "year", "order", fmt.Sprintf("a household's years must come in order, each once: %d follows %d", y.year, h.years[n-1].year))
		}
		h.years = append(h.years, y)
	}
	if len(probs) > 0 {
		return pending{h: household.Household{CommuneCode: h.commune, Code: h.code}}, probs
	}
	h.createProblems = h.registering(first, now)
	return pending{h: household.Household{CommuneCode: h.commune, Code: h.code}, past: h}, nil
}

// readYear reads the year of a row.
func readYear(r line, today time.Time) (year, []Problem) {
	var probs []Problem
	add := func(col, code, msg string) { probs = append(probs, problem(r.number, col, code, msg)) }
	y := year{row: r.number}
	n, err := strconv.Atoi(strings.TrimSpace(r.get("year")))
	if err != nil || n < 2000 || n > today.Year() {
		add("year", "invalid", fmt.Sprintf("must be a year from 2000 to %d", today.Year()))
	}
	y.year = n
	if y.class = classes[strings.ToLower(strings.TrimSpace(r.get("classification")))]; y.class == "" {
		add("classification", "invalid", "must be poor, near_poor or average")
	}
	if y.decision = strings.TrimSpace(r.get("decision_number")); y.decision == "" || len(y.decision) > 100 {
		add("decision_number", "required", "is required (at most 100 characters)")
	}
	d, err := time.Parse(time.DateOnly, strings.TrimSpace(r.get("decision_date")))
	switch {
	case err != nil:
		add("decision_date", "format", "must be a date, YYYY-MM-DD")
	case d.After(today):
		add("decision_date", "future", "must not be in the future")
	case d.Year() != n && d.Year() != n+1:
		add("decision_date", "invalid", fmt.Sprintf("the list of %d is decided in %d or early in %d", n, n, n+1))
	}
	y.decisionDate, y.effective = d, d
	if end := time.Date(n, 12, 31, 0, 0, 0, 0, time.UTC); d.After(end) {
		y.effective = end // a list decided early the next year stands for the year's end
	}
	if s := strings.TrimSpace(r.get("income_per_person")); s != "" {
		v, err := strconv.ParseInt(strings.ReplaceAll(s, ".", ""), 10, 64)
		if err != nil || v < 0 || v > 1_000_000_000 {
			add("income_per_person", "invalid", "must be a whole amount of VND from 0 to 1,000,000,000")
		}
		y.income = &v
	}
	for _, code := range strings.FieldsFunc(r.get("deprivations"), func(c rune) bool { return c == ';' || c == ',' }) {
		code = strings.TrimSpace(code)
		if !indicatorCode.MatchString(code) {
			add("deprivations", "invalid", fmt.Sprintf("%q is not an indicator's code (such as health_insurance)", code))
			continue
		}
		y.deprivations = append(y.deprivations, code)
	}
	return y, probs
}

// registering makes the household to create if none is found: from the
// head's columns, established by its first list's date (the earliest the
// history knows of it). Without them, the columns are named, and with
// problems in them, the problems are returned, for check to report should
// it find no household.
func (h *history) registering(first line, now time.Time) []Problem {
	village, birth, sex := strings.TrimSpace(first.get("village")), strings.TrimSpace(first.get("head_birth_year")),
		strings.TrimSpace(first.get("head_sex"))
	for col, v := range map[string]string{"village": village, "head_birth_year": birth, "head_sex": sex} {
		if v == "" {
			h.missing = append(h.missing, col)
		}
	}
	if len(h.missing) > 0 {
		return nil
	}
	areaType := strings.TrimSpace(first.get("area_type"))
	if areaType == "" {
		areaType = "rural"
	}
	established := h.years[0].effective
	f := household.HouseholdFields{Household: household.Household{CommuneCode: h.commune, Code: h.code, Village: village, AreaType: areaType},
		EstablishedOn: established.Format(time.DateOnly),
		Members:       []household.MemberFields{{FullName: h.head, BirthDate: birth, Sex: sex, Relationship: "head"}}}
	made, err := household.NewHousehold(f, now)
	if e, ok := apperr.As(err); ok {
		return placedHead(first.number, e.Fields)
	}
	h.create = &made
	return nil
}

// placedHead puts a new household's field errors on the history's columns.
func placedHead(row int, fields []apperr.FieldError) []Problem {
	cols := map[string]string{"code": "household_code", "members[0].full_name": "head_name", "members[0].birth_date": "head_birth_year",
		"members[0].sex": "head_sex", "members": "head_name"}
	out := make([]Problem, 0, len(fields))
	for _, f := range fields {
		col := f.Field
		if c, ok := cols[col]; ok {
			col = c
		}
		out = append(out, problem(row, col, f.Code, f.Message))
	}
	return out
}
