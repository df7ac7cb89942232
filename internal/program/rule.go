package program

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
)

// HouseholdFacts are what a rule may say of a household.
type HouseholdFacts struct {
	Classification      string   `expr:"classification"`       // none, poor, near_poor, average
	ClassificationSince string   `expr:"classification_since"` // YYYY-MM-DD, empty before any recognition
	AreaType            string   `expr:"area_type"`            // rural, urban
	EthnicMinority      bool     `expr:"ethnic_minority"`
	Members             int      `expr:"members"`  // present members
	Enrolled            []string `expr:"enrolled"` // programs with a live enrollment
	// YearsSinceEscaping is the time since the household last left poverty,
	// in years; -1 when it never did.
	YearsSinceEscaping float64 `expr:"years_since_escaping"`
	// Designations of the household's commune (and hamlet, and district) in
	// force on the reference date, as area.Designation.Label names them:
	// "ethnic_mountainous_zone_III", "coastal_extremely_difficult", ...
	Designations []string `expr:"designations"`
}

// MemberFacts are what a rule may say of a person (member-level programs).
type MemberFacts struct {
	Name         string   `expr:"name"`
	Age          int      `expr:"age"`
	Sex          string   `expr:"sex"`
	Relationship string   `expr:"relationship"`
	Student      bool     `expr:"student"`
	SchoolLevel  string   `expr:"school_level"`
	Disability   bool     `expr:"disability"`
	Enrolled     []string `expr:"enrolled"`
}

// Facts are a rule's whole world: a household, and for member-level programs
// one of its members.
type Facts struct {
	Household HouseholdFacts `expr:"household"`
	Member    MemberFacts    `expr:"member"`
}

// Clause is one condition of a rule with what it means in words.
type Clause struct {
	When      string `json:"when"`
	BecauseVI string `json:"because_vi"`
	BecauseEN string `json:"because_en"`
}

// Limits that keep every rule cheap: its size when compiled, the memory it
// may use when run. Rules see only the facts: no I/O, no loops beyond the
// facts' own short lists.
const (
	maxRuleNodes  = 200
	maxRuleMemory = 10_000
	maxRuleLength = 1000
)

func compileOptions(kind reflect.Kind) []expr.Option {
	// Unoptimized, so the checked tree is the one written.
	opts := []expr.Option{expr.Env(Facts{}), expr.MaxNodes(maxRuleNodes), expr.Optimize(false)}
	switch kind {
	case reflect.Bool:
		opts = append(opts, expr.AsBool())
	case reflect.Int64:
		opts = append(opts, expr.AsInt64())
	case reflect.Float64:
		opts = append(opts, expr.AsFloat64())
	}
	return opts
}

// compile type-checks an expression against the facts, for the kind of
// result it must give; the error is fit to show the program manager.
func compile(code string, kind reflect.Kind) (*vm.Program, error) {
	if strings.TrimSpace(code) == "" {
		return nil, fmt.Errorf("is empty")
	}
	if len(code) > maxRuleLength {
		return nil, fmt.Errorf("is longer than %d characters", maxRuleLength)
	}
	p, err := expr.Compile(code, compileOptions(kind)...)
	if err != nil {
		return nil, fmt.Errorf("does not compile: %s", firstLine(err.Error()))
	}
	node := p.Node()
	var c costCheck
	ast.Walk(&node, &c)
	if c.err != nil {
		return nil, c.err
	}
	return p, nil
}

// allowedBuiltins are the functions a rule may use: over the facts' short
// lists and texts, none of them can build large values or loop long.
var allowedBuiltins = map[string]bool{"len": true, "all": true, "any": true, "none": true, "one": true, "count": true,
	"filter": true, "abs": true, "min": true, "max": true, "lower": true, "upper": true, "trim": true,
	"hasPrefix": true, "hasSuffix": true}

// costCheck refuses what could make a rule expensive to run: ranges, variables
// and sequences (which let a value be reused to grow), joining texts, calls
// and any builtin outside the allowed set. The memory budget of the run does
// not count texts, so the bound is enforced here, on the tree.
type costCheck struct{ err error }

func (c *costCheck) Visit(node *ast.Node) {
	if c.err != nil {
		return
	}
	switch n := (*node).(type) {
	case *ast.BinaryNode:
		if n.Operator == ".." {
			c.err = fmt.Errorf("may not use ranges (a..b)")
		}
		if n.Operator == "+" && n.Type() != nil && n.Type().Kind() == reflect.String {
			c.err = fmt.Errorf("may not join texts")
		}
	case *ast.VariableDeclaratorNode, *ast.SequenceNode:
		c.err = fmt.Errorf("may not declare variables or chain expressions")
	case *ast.CallNode:
		c.err = fmt.Errorf("may not call functions")
	case *ast.BuiltinNode:
		if !allowedBuiltins[n.Name] {
			c.err = fmt.Errorf("may not use %s()", n.Name)
		}
	case *ast.ArrayNode:
		if len(n.Nodes) > 50 {
			c.err = fmt.Errorf("may not list more than 50 values")
		}
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// run evaluates a compiled expression within the memory bound; a panic in
// the engine is an error, never a crash.
func run(p *vm.Program, f Facts) (out any, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("rule failed: %v", r)
		}
	}()
	machine := vm.VM{MemoryBudget: maxRuleMemory}
	return machine.Run(p, f)
}

// Rule is a compiled eligibility rule: every clause must hold.
type Rule struct {
	clauses  []Clause
	programs []*vm.Program
}

// CompileRule checks a rule's clauses; errors name the clause.
func CompileRule(clauses []Clause) (Rule, error) {
	if len(clauses) == 0 || len(clauses) > 10 {
		return Rule{}, fmt.Errorf("rule: give 1 to 10 clauses")
	}
	r := Rule{clauses: clauses}
	for i, c := range clauses {
		if strings.TrimSpace(c.BecauseVI) == "" || strings.TrimSpace(c.BecauseEN) == "" {
			return Rule{}, fmt.Errorf("rule[%d]: say what the clause means, in Vietnamese and English", i)
		}
		p, err := compile(c.When, reflect.Bool)
		if err != nil {
			return Rule{}, fmt.Errorf("rule[%d].when %w", i, err)
		}
		r.programs = append(r.programs, p)
	}
	return r, nil
}

// Verdict is an eligibility decision with its reason in words. Failed: the
// rule could not be judged on these facts (it is then not eligible, and the
// reason says why); a person must look.
type Verdict struct {
	Eligible bool
	Failed   bool
	ReasonVI string
	ReasonEN string
}

// Evaluate applies the rule to the facts. The reason lists every clause that
// holds when eligible, or names the first that does not.
func (r Rule) Evaluate(f Facts) (Verdict, error) {
	var vi, en []string
	for i, p := range r.programs {
		out, err := run(p, f)
		if err != nil {
			msg := firstLine(err.Error())
			return Verdict{Failed: true, ReasonVI: "không đánh giá được quy tắc: " + msg,
				ReasonEN: "the rule could not be judged: " + msg}, nil
		}
		if ok, _ := out.(bool); !ok {
			return Verdict{ReasonVI: "không: " + r.clauses[i].BecauseVI, ReasonEN: "not so: " + r.clauses[i].BecauseEN}, nil
		}
		vi, en = append(vi, r.clauses[i].BecauseVI), append(en, r.clauses[i].BecauseEN)
	}
	return Verdict{Eligible: true, ReasonVI: strings.Join(vi, "; "), ReasonEN: strings.Join(en, "; ")}, nil
}

// Amount is a compiled expression of a whole VND amount.
type Amount struct{ program *vm.Program }

// CompileAmount checks an amount expression (a constant is one too).
func CompileAmount(code string) (Amount, error) {
	p, err := compile(code, reflect.Int64)
	if err != nil {
		return Amount{}, fmt.Errorf("amount %w", err)
	}
	return Amount{program: p}, nil
}

// Of evaluates the amount for the facts; negative amounts are an error.
func (a Amount) Of(f Facts) (int64, error) {
	out, err := run(a.program, f)
	if err != nil {
		return 0, err
	}
	n, ok := out.(int64)
	if !ok || n < 0 || n > 10_000_000_000 {
		return 0, fmt.Errorf("amount: %v is not a whole amount from 0 to 10,000,000,000 VND", out)
	}
	return n, nil
}

// compileComputed checks a parameter computed from the facts (a number).
func compileComputed(code string) (*vm.Program, error) {
	return compile(code, reflect.Float64)
}
