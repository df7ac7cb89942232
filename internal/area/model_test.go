package area

import (
	"slices"
	"testing"

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
