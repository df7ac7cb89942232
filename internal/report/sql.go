package report

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ansinh/ansinh/internal/platform/vn"
)

// namedScope turns a scope condition's positional placeholders into named
// ones (@scope0, @scope1, ...), so that it joins queries written with names.
func namedScope(cond string) string {
	var b strings.Builder
	n := 0
	for _, r := range cond {
		if r == '?' {
			fmt.Fprintf(&b, "(@scope%d)", n) // parenthesised: GORM ends a name only at a space or punctuation, not at "::"
			n++
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// named adds a scope condition's arguments to a query's named arguments.
func named(scopeArgs []any, m map[string]any) map[string]any {
	for i, a := range scopeArgs {
		m[fmt.Sprintf("scope%d", i)] = a
	}
	return m
}

// nextDay is the instant a Vietnamese calendar day ends (a household
// registered at 23:00 in Hà Nội on the 31st counts on the 31st).
func nextDay(date time.Time) time.Time {
	y, m, d := date.Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, vn.Zone)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
