// Package reorganize moves the live registry from one edition of the list of
// administrative units to the next (the 2025 reform: 63 provinces and
// 10,035 communes under districts became 34 provinces and 3,321 communes),
// as docs/design/editions.md describes: a plan first, then short batches
// that resume after a crash, a decision queue for households of divided
// communes, and the in-use edition switched so that new records are filed
// under today's units. Records of the past keep the unit they were made
// under.
package reorganize

import (
	"io"
	"strings"

	"github.com/ansinh/ansinh/internal/area"
	"github.com/ansinh/ansinh/internal/platform/vn"
)

// VillageRule places the households of a village of a divided commune in
// one of its successors (the table a province supplies).
type VillageRule struct {
	Line       int
	OldCommune string
	Village    string
	NewCommune string
}

// Decision re-binds (or revokes) something bound to a unit of the old
// edition: an assignment, budget, target, local standard, program or
// campaign. Units without a single undivided successor (districts, divided
// communes) need one; the others follow the mapping unless one is given.
type Decision struct {
	Line   int
	Kind   string // assignment, budget, target, standard, program, campaign
	Ref    string // as the plan names it
	Action string // rebind, revoke (assignments only)
	ToCode string // the unit of the new edition, for rebind
}

// Binding kinds.
const (
	KindAssignment = "assignment"
	KindBudget     = "budget"
	KindTarget     = "target"
	KindStandard   = "standard"
	KindProgram    = "program"
	KindCampaign   = "campaign"
)

// Actions on a binding.
const (
	Rebind = "rebind"
	Revoke = "revoke"
)

var (
	villageHeader  = []string{"old_commune_code", "village", "new_commune_code"}
	decisionHeader = []string{"kind", "ref", "action", "to_code"}
)

// ReadVillages reads a village table (CSV: old_commune_code, village,
// new_commune_code).
func ReadVillages(r io.Reader) ([]VillageRule, error) {
	var out []VillageRule
	err := area.ReadCSV(r, villageHeader, func(line int, f []string) error {
		out = append(out, VillageRule{Line: line, OldCommune: strings.TrimSpace(f[0]), Village: vn.VillageKey(f[1]),
			NewCommune: strings.TrimSpace(f[2])})
		return nil
	})
	return out, err
}

// ReadDecisions reads binding decisions (CSV: kind, ref, action, to_code).
func ReadDecisions(r io.Reader) ([]Decision, error) {
	var out []Decision
	err := area.ReadCSV(r, decisionHeader, func(line int, f []string) error {
		out = append(out, Decision{Line: line, Kind: strings.TrimSpace(f[0]), Ref: strings.TrimSpace(f[1]),
			Action: strings.TrimSpace(f[2]), ToCode: strings.TrimSpace(f[3])})
		return nil
	})
	return out, err
}
