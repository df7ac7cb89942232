package reorganize

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/area"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/vn"
)

// Plan is what a reorganization moves and what must be decided first. It is
// computed the same way for a dry run and before a real one, which refuses
// to start while Blockers is not empty.
type Plan struct {
	From            string        `json:"from_edition"`
	To              string        `json:"to_edition"`
	MappingSHA256   string        `json:"mapping_sha256"`
	MappingReplaced bool          `json:"mapping_replaced"` // the file differs from the loaded successions
	Households      int           `json:"households"`
	Members         int           `json:"members"`
	Attachments     int           `json:"attachments"`
	Enrollments     int           `json:"enrollments"` // live ones (proposed, returned, approved)
	OpenReviews     int           `json:"open_reviews"`
	Queued          int           `json:"queued"` // households of divided communes no village rule placed
	Communes        []CommunePlan `json:"communes"`
	Bindings        []Binding     `json:"bindings"`
	Blockers        []string      `json:"blockers"`
}

// CommunePlan is one old commune with records.
type CommunePlan struct {
	Code        string         `json:"code"`
	Name        string         `json:"name"`
	Divided     bool           `json:"divided"`
	Successors  []string       `json:"successors"`
	Households  int            `json:"households"`
	Members     int            `json:"members"`
	Attachments int            `json:"attachments"`
	Enrollments int            `json:"enrollments"`
	OpenReviews int            `json:"open_reviews"`
	Placed      map[string]int `json:"placed"` // successor -> households
	Queued      int            `json:"queued"`
}

// Binding is something bound to a unit of the old edition that stays in
// force: a role assignment, or a budget, target, local standard, program or
// campaign of this year or later.
type Binding struct {
	Kind      string `json:"kind"`
	Ref       string `json:"ref"`
	Label     string `json:"label"`
	FromCode  string `json:"from_code"`
	FromLevel string `json:"from_level"`
	Action    string `json:"action"` // rebind, revoke; empty while undecided
	ToCode    string `json:"to_code,omitempty"`
	Source    string `json:"source"` // mapping (its only, undivided successor), file, duplicate
	key       string // what may not collide after the move
}

// Options of a reorganization.
type Options struct {
	To        string            // the edition to move to
	Mapping   []area.Succession // nil: the successions loaded
	Villages  []VillageRule     // households of divided communes, village by village
	Decisions []Decision        // bindings
	BatchSize int               // households a transaction (default 200)
	Progress  func(Progress)    // after each batch
	onBatch   func(batch int)   // tests: inside each batch's transaction, before it commits
}

// move is where one household goes.
type move struct {
	household uuid.UUID
	from, to  string // to "" queues it
	source    string
}

// Progress of a run.
type Progress struct {
	Batches, Moved, Pending, Queued int
}

// prepared is a plan with what starting it needs.
type prepared struct {
	plan        Plan
	successions []area.Succession // to load when replacing
	moves       []move            // divided communes' households
	bindings    []Binding
}

// prepare computes the plan of moving the edition in use to o.To.
func (s *Service) prepare(ctx context.Context, o Options) (prepared, error) {
	var p prepared
	from, err := s.store.inUse(ctx)
	if err != nil {
		return p, err
	}
	p.plan = Plan{From: from, To: o.To, Blockers: []string{}}
	if o.To == from {
		return p, apperr.Fields([]apperr.FieldError{{Field: "to_edition", Code: "in_use", Message: o.To + " is already the edition in use"}})
	}
	oldUnits, err := s.store.units(ctx, from)
	if err != nil {
		return p, err
	}
	newUnits, err := s.store.units(ctx, o.To)
	if err != nil {
		return p, err
	}
	if len(newUnits) == 0 {
		return p, apperr.Fields([]apperr.FieldError{{Field: "to_edition", Code: "unknown", Message: "no edition " + o.To + " is loaded"}})
	}
	loaded, err := s.store.loadedMapping(ctx, from, o.To)
	if err != nil {
		return p, err
	}
	rows := loaded
	if o.Mapping != nil {
		if err := area.CheckMapping(oldUnits, newUnits, o.Mapping); err != nil {
			return p, err
		}
		rows = o.Mapping
	}
	p.plan.MappingSHA256 = mappingHash(rows)
	p.plan.MappingReplaced = o.Mapping != nil && p.plan.MappingSHA256 != mappingHash(loaded)
	if p.plan.MappingReplaced {
		p.successions = rows
	}
	successors := map[string][]string{}
	divided := map[string]bool{}
	for _, r := range rows {
		successors[r.Old()] = append(successors[r.Old()], r.NewCommune)
		divided[r.Old()] = r.Divided
	}
	for old, news := range provinceSuccessions(rows) {
		successors[old] = news
		divided[old] = len(news) > 1
	}
	names := map[string]string{}
	for _, u := range oldUnits {
		names[u.Code] = u.Name
	}
	newCodes := map[string]bool{}
	for _, u := range newUnits {
		newCodes[u.Code] = true
	}

	communes, err := s.store.communeCounts(ctx, from)
	if err != nil {
		return p, err
	}
	rules, problems := villageRules(o.Villages, successors, divided)
	p.plan.Blockers = append(p.plan.Blockers, problems...)
	placed, err := s.placeDivided(ctx, from, divided, rules)
	if err != nil {
		return p, err
	}
	p.moves = placed
	p.plan.account(communes, placed, names, successors, divided)

	bindings, err := s.store.bindings(ctx, from, vn.Today(s.now()))
	if err != nil {
		return p, err
	}
	p.plan.Blockers = append(p.plan.Blockers, decide(bindings, o.Decisions, successors, divided, newCodes)...)
	p.bindings = bindings
	p.plan.Bindings = bindings
	return p, nil
}

// account fills the plan's communes (names, successors, placements, what
// blocks them) and totals from their counts and the divided communes'
// placements.
func (p *Plan) account(communes []CommunePlan, placed []move, names map[string]string, successors map[string][]string, divided map[string]bool) {
	for i := range communes {
		c := &communes[i]
		c.Name, c.Successors, c.Divided, c.Placed = names[c.Code], successors[c.Code], divided[c.Code], map[string]int{}
		if len(c.Successors) == 0 {
			p.Blockers = append(p.Blockers, fmt.Sprintf("commune %s %s has households and no successor in the mapping", c.Code, c.Name))
		}
		if !c.Divided && len(c.Successors) == 1 {
			c.Placed[c.Successors[0]] = c.Households
		}
		if c.OpenReviews > 0 {
			p.Blockers = append(p.Blockers, fmt.Sprintf(
				"commune %s %s has %d review(s) not yet recognized: decide or close them before the reorganization", c.Code, c.Name, c.OpenReviews))
		}
	}
	byCode := map[string]*CommunePlan{}
	for i := range communes {
		byCode[communes[i].Code] = &communes[i]
	}
	for _, m := range placed {
		c := byCode[m.from]
		if c == nil { // registered since the counts were read: the start counts it
			continue
		}
		if m.to == "" {
			c.Queued++
			p.Queued++
		} else {
			c.Placed[m.to]++
		}
	}
	for _, c := range communes {
		p.Households += c.Households
		p.Members += c.Members
		p.Attachments += c.Attachments
		p.Enrollments += c.Enrollments
		p.OpenReviews += c.OpenReviews
	}
	p.Communes = communes
}

// provinceSuccessions are the old provinces' new provinces, from the rows.
func provinceSuccessions(rows []area.Succession) map[string][]string {
	out := map[string][]string{}
	for _, r := range rows {
		if !slices.Contains(out[r.OldProvince], r.NewProvince) {
			out[r.OldProvince] = append(out[r.OldProvince], r.NewProvince)
		}
	}
	for _, v := range out {
		slices.Sort(v)
	}
	return out
}

// mappingHash identifies a mapping whatever the order of its rows.
func mappingHash(rows []area.Succession) string {
	lines := make([]string, len(rows))
	for i, r := range rows {
		lines[i] = fmt.Sprintf("%s,%s,%s,%s,%s,%t", r.OldCommune, r.OldDistrict, r.OldProvince, r.NewCommune, r.NewProvince, r.Divided)
	}
	sort.Strings(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(sum[:])
}

// villageRules checks a village table: each rule of a divided commune, to one
// of its successors, once.
func villageRules(rules []VillageRule, successors map[string][]string, divided map[string]bool) (map[string]map[string]string, []string) {
	out := map[string]map[string]string{}
	var problems []string
	for _, r := range rules {
		switch {
		case !divided[r.OldCommune]:
			problems = append(problems, fmt.Sprintf("village table line %d: commune %s was not divided", r.Line, r.OldCommune))
		case !slices.Contains(successors[r.OldCommune], r.NewCommune):
			problems = append(problems, fmt.Sprintf("village table line %d: %s is not a successor of %s", r.Line, r.NewCommune, r.OldCommune))
		case r.Village == "":
			problems = append(problems, fmt.Sprintf("village table line %d: no village", r.Line))
		case out[r.OldCommune][r.Village] != "":
			problems = append(problems, fmt.Sprintf("village table line %d: village %q of %s is given twice", r.Line, r.Village, r.OldCommune))
		default:
			if out[r.OldCommune] == nil {
				out[r.OldCommune] = map[string]string{}
			}
			out[r.OldCommune][r.Village] = r.NewCommune
		}
	}
	return out, problems
}

// decide settles each binding: the file's decision, or the mapping's when
// the unit has one undivided successor; it returns what stays undecided or
// would collide.
func decide(bindings []Binding, decisions []Decision, successors map[string][]string, divided map[string]bool, newCodes map[string]bool) []string {
	var problems []string
	index := map[string]int{}
	for i, b := range bindings {
		index[b.Kind+"\x00"+b.Ref] = i
	}
	given := map[int]bool{}
	for _, d := range decisions {
		i, ok := index[d.Kind+"\x00"+d.Ref]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("bindings line %d: no %s %q in force in the old edition", d.Line, d.Kind, d.Ref))
			continue
		case given[i]:
			problems = append(problems, fmt.Sprintf("bindings line %d: %s %s is decided twice", d.Line, d.Kind, d.Ref))
			continue
		case d.Action == Revoke && d.Kind != KindAssignment:
			problems = append(problems, fmt.Sprintf("bindings line %d: only an assignment can be revoked; re-bind the %s", d.Line, d.Kind))
			continue
		case d.Action == Rebind && !newCodes[d.ToCode]:
			problems = append(problems, fmt.Sprintf("bindings line %d: %q is not a unit of the new edition", d.Line, d.ToCode))
			continue
		case d.Action != Rebind && d.Action != Revoke:
			problems = append(problems, fmt.Sprintf("bindings line %d: action %q; want rebind or revoke", d.Line, d.Action))
			continue
		}
		given[i] = true
		bindings[i].Action, bindings[i].ToCode, bindings[i].Source = d.Action, d.ToCode, "file"
		if d.Action == Revoke {
			bindings[i].ToCode = ""
		}
	}
	for i := range bindings {
		b := &bindings[i]
		if given[i] {
			continue
		}
		if s := successors[b.FromCode]; len(s) == 1 && !divided[b.FromCode] {
			b.Action, b.ToCode, b.Source = Rebind, s[0], "mapping"
			continue
		}
		problems = append(problems, fmt.Sprintf("%s %s (%s, at %s %s) must be re-bound explicitly: the %s has no single successor",
			b.Kind, b.Ref, b.Label, b.FromLevel, b.FromCode, b.FromLevel))
	}
	// After the move no two may share what must be unique; a user's same
	// role twice at one unit is revoked once (nothing is lost).
	seen := map[string]int{}
	for i := range bindings {
		b := &bindings[i]
		if b.Action != Rebind {
			continue
		}
		k := strings.ReplaceAll(b.key, "@", b.ToCode)
		j, dup := seen[k]
		seen[k] = i
		switch {
		case !dup:
		case b.Kind == KindAssignment:
			b.Action, b.ToCode, b.Source = Revoke, "", "duplicate"
		case b.Kind == KindBudget || b.Kind == KindTarget || b.Kind == KindStandard:
			problems = append(problems, fmt.Sprintf("%s %s and %s %s would both become %s's: re-bind one elsewhere",
				b.Kind, bindings[j].Ref, b.Kind, b.Ref, b.ToCode))
		}
	}
	return problems
}

// placeDivided places the households of divided communes by their village
// ("" for those no rule places: the decision queue).
func (s *Service) placeDivided(ctx context.Context, from string, divided map[string]bool, rules map[string]map[string]string) ([]move, error) {
	var codes []string
	for c, d := range divided {
		if d && len(c) == 5 {
			codes = append(codes, c)
		}
	}
	if len(codes) == 0 {
		return nil, nil
	}
	households, err := s.store.dividedHouseholds(ctx, from, codes)
	out := make([]move, len(households))
	for i, h := range households {
		out[i] = move{household: h.id, from: h.commune}
		if out[i].to = rules[h.commune][vn.VillageKey(h.village)]; out[i].to != "" {
			out[i].source = "village"
		}
	}
	return out, err
}
