package importer

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/platform/apperr"
)

// Modes of an import.
const (
	DryRun       = "dry_run"        // check everything, write nothing
	AllOrNothing = "all_or_nothing" // write every household, or none if any is invalid
	ValidOnly    = "valid_only"     // write the valid households, report the others
)

// checkMode refuses a mode that is none of the three.
func checkMode(mode string) error {
	if mode != DryRun && mode != AllOrNothing && mode != ValidOnly {
		return errMode()
	}
	return nil
}

// Progress is where an import stands.
type Progress struct {
	RowsRead           int
	HouseholdsValid    int
	HouseholdsInvalid  int
	HouseholdsCreated  int
	HouseholdsExisting int
	MembersCreated     int
	YearsRecorded      int // a history's years written
	YearsExisting      int // a history's years already recorded alike (skipped)
	Problems           int
}

// Result is a finished import: its figures and its first problems.
type Result struct {
	Progress
	Problems []Problem // at most MaxProblems
}

// MaxProblems is how many problems an import keeps (the count is complete).
const MaxProblems = 10_000

// note records problems: every one counted, the first MaxProblems kept.
func (r *Result) note(ps ...Problem) {
	r.Progress.Problems += len(ps)
	for _, p := range ps {
		if len(r.Problems) < MaxProblems {
			r.Problems = append(r.Problems, p)
		}
	}
}

// Problem is one thing wrong in the file: a row (1 is the header), a column.
type Problem struct {
	Row    int
	Column string
	Code   string
	EN     string
	VI     string
}

// problemsVI say the common codes in Vietnamese.
var problemsVI = map[string]string{
	"required":         "bắt buộc nhưng đang để trống",
	"invalid":          "không hợp lệ",
	"format":           "sai định dạng",
	"future":           "không được là ngày trong tương lai",
	"head":             "hộ phải có đúng một chủ hộ đang sinh sống",
	"too_long":         "quá dài",
	"registered":       "số định danh đã được đăng ký cho một người đang sinh sống",
	"duplicate":        "trùng với một hộ khác trong tệp",
	"outside_scope":    "xã nằm ngoài địa bàn bạn phụ trách",
	"scattered":        "các dòng của một hộ phải liền nhau; hộ này đã xuất hiện ở trên",
	"unknown":          "cột không có trong mẫu",
	"encoding":         "không phải văn bản UTF-8 (hãy lưu tệp CSV dạng UTF-8)",
	"too_many_members": "hộ có quá nhiều thành viên; mỗi hộ cần một mã hộ riêng",
	"boolean":          "phải là có hoặc không",
}

func problem(row int, column, code, en string) Problem {
	vi := problemsVI[code]
	if vi == "" {
		vi = "không hợp lệ (" + code + ")"
	}
	return Problem{Row: row, Column: column, Code: code, EN: en, VI: fmt.Sprintf("Dòng %d, cột %s: %s", row, column, vi)}
}

// Job is an import run by the server in the background.
type Job struct {
	ID         uuid.UUID
	Owner      string
	Kind       string // what it reads: Households or History
	Mode       string
	FileName   string
	Status     string // queued, running, succeeded, failed
	Progress   Progress
	Error      string
	CreatedAt  time.Time
	StartedAt  *time.Time
	FinishedAt *time.Time
}

// Statuses a job ends in.
const (
	jobSucceeded = "succeeded"
	jobFailed    = "failed"
)

// outcome is how a job that ran to err ends: its status and the message the
// submitter reads.
func outcome(err error) (status, msg string) {
	if err == nil {
		return jobSucceeded, ""
	}
	msg = err.Error()
	if e, ok := apperr.As(err); ok {
		msg = e.Message
	}
	if errors.Is(err, errStop) {
		msg = "stopped before the end (the server shut down): households already written are whole; run the file again to finish"
	}
	return jobFailed, msg
}
