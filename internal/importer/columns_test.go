package importer

import (
	"reflect"
	"testing"

	"github.com/ansinh/ansinh/internal/household"
)

// Each column of the template puts its cells in one field of the household
// or of the row's member (an importable field is one line of Columns).
func TestEveryColumnFillsAField(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Columns {
		if seen[c.Name] {
			t.Errorf("%s: twice in the template", c.Name)
		}
		seen[c.Name] = true
		var h household.Household
		var m member
		switch {
		case (c.household == nil) == (c.member == nil):
			t.Errorf("%s: goes to the household or to the member, not both or neither", c.Name)
		case c.household != nil:
			if p := c.household(&h, " 1 "); p != nil || reflect.ValueOf(h).IsZero() {
				t.Errorf("%s: a cell of 1 sets no field of the household (%v)", c.Name, p)
			}
		default:
			if p := c.member(&m, " 1 "); p != nil || reflect.ValueOf(m).IsZero() {
				t.Errorf("%s: a cell of 1 sets no field of the member (%v)", c.Name, p)
			}
		}
	}
}
