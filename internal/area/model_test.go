package area

import (
	"slices"
	"testing"
	"time"

	"github.com/ansinh/ansinh/internal/platform/apperr"
)

func TestNewFilter(t *testing.T) {
	for _, tc := range []struct {
		edition, parent, level string
		fields                 []string // the invalid fields, in order
	}{
		{"", "", "", nil},
		{"2025-03", "91", "district", nil},
		{"", "30791", "commune", nil},
		{"", "9", "", []string{"parent"}},
		{"", "9x", "province", []string{"parent"}},
		{"", "1234567", "", []string{"parent"}},
		{"", "", "hamlet", []string{"level"}},
		{"2026", "9x", "hamlet", []string{"edition", "parent", "level"}},
		{"2026-4", "", "", []string{"edition"}},
	} {
		f, err := NewFilter(tc.edition, tc.parent, tc.level, "vinh phu")
		if tc.fields == nil {
			if err != nil || f != (Filter{Edition: tc.edition, Parent: tc.parent, Level: tc.level, Query: "vinh phu"}) {
				t.Errorf("NewFilter(%q, %q) = %+v, %v", tc.parent, tc.level, f, err)
			}
			continue
		}
		e, ok := apperr.As(err)
		if !ok || e.Kind != apperr.Invalid {
			t.Errorf("NewFilter(%q, %q): %v, want Invalid", tc.parent, tc.level, err)
			continue
		}
		var fields []string
		for _, fe := range e.Fields {
			fields = append(fields, fe.Field)
		}
		if !slices.Equal(fields, tc.fields) {
			t.Errorf("NewFilter(%q, %q): fields %v, want %v", tc.parent, tc.level, fields, tc.fields)
		}
	}
}

func TestRecordsEdition(t *testing.T) {
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	end := day("2025-06-30")
	old := Edition{Name: "2025-03", ValidFrom: day("2025-03-01"), ValidTo: &end}
	now := Edition{Name: "2026-04", ValidFrom: day("2025-07-01")}
	for _, tc := range []struct {
		inUse string
		day   string
		want  string
	}{
		{"2025-03", "2024-12-31", "2025-03"}, // before the first edition: the first
		{"2025-03", "2025-05-01", "2025-03"},
		{"2025-03", "2026-01-01", "2025-03"}, // records are not under 2026-04 yet
		{"2026-04", "2016-12-31", "2025-03"},
		{"2026-04", "2025-05-01", "2025-03"},
		{"2026-04", "2025-07-01", "2026-04"},
		{"2026-04", "2026-12-06", "2026-04"},
	} {
		o, n := old, now
		o.InUse, n.InUse = tc.inUse == o.Name, tc.inUse == n.Name
		if got := RecordsEdition([]Edition{o, n}, day(tc.day)); got != tc.want {
			t.Errorf("in use %s, %s: %s, want %s", tc.inUse, tc.day, got, tc.want)
		}
	}
}
