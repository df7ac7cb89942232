package program

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"

	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
)

// seeded reads the programs as the migrations seed them.
func seeded(t *testing.T) map[string]Program {
	t.Helper()
	d := dbtest.NewDatabase(t)
	pool, err := db.Open(db.Options{URL: d.AppURL, MaxOpenConns: 2, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	list, err := store{db: pool}.programs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Program{}
	for _, p := range list {
		out[p.Code] = p
	}
	return out
}

func hh(class string, mods ...func(*Facts)) Facts {
	f := Facts{Household: HouseholdFacts{Classification: class, AreaType: "rural", Members: 4, YearsSinceEscaping: -1}}
	for _, m := range mods {
		m(&f)
	}
	return f
}

func pupil(age int, level string) func(*Facts) {
	return func(f *Facts) {
		f.Member = MemberFacts{Name: "Nguyễn Thị B", Age: age, Student: true, SchoolLevel: level}
	}
}

func person(age int) func(*Facts) {
	return func(f *Facts) { f.Member = MemberFacts{Name: "Lê Văn C", Age: age} }
}

func disabled(f *Facts) { f.Member.Disability = true }
func ethnic(f *Facts)   { f.Household.EthnicMinority = true }
func escaped(years float64) func(*Facts) {
	return func(f *Facts) { f.Household.YearsSinceEscaping = years }
}

// Every seeded program's rule, amount and computed benefit, table by table.
func TestSeededRules(t *testing.T) {
	t.Parallel()
	programs := seeded(t)
	type tc struct {
		name     string
		facts    Facts
		eligible bool
		amount   int64   // checked when eligible
		computed float64 // the first computed parameter, checked when non-zero
	}
	cases := map[string][]tc{
		"bhyt_poor": {
			{"a member of a poor household", hh("poor", person(40)), true, 0, 0},
			{"a member of a near-poor household", hh("near_poor", person(40)), false, 0, 0},
		},
		"bhyt_near_poor": {
			{"near-poor", hh("near_poor", person(40)), true, 0, 0},
			{"poor has its own program", hh("poor", person(40)), false, 0, 0},
		},
		"tuition_exemption": {
			{"a pupil of a poor household", hh("poor", pupil(9, "primary")), true, 0, 0},
			{"a poor child not at school", hh("poor", person(9)), false, 0, 0},
			{"a near-poor pupil", hh("near_poor", pupil(9, "primary")), false, 0, 0},
		},
		"tuition_reduction": {
			{"near-poor, upper secondary", hh("near_poor", pupil(16, "upper_secondary")), true, 0, 0},
			{"near-poor, preschool", hh("near_poor", pupil(4, "preschool")), true, 0, 0},
			{"near-poor, primary (free anyway)", hh("near_poor", pupil(8, "primary")), false, 0, 0},
		},
		"study_cost": {
			{"a poor pupil of 9", hh("poor", pupil(9, "primary")), true, 1_350_000, 0},
			{"a poor student of 19", hh("poor", pupil(19, "university")), false, 0, 0},
			{"a near-poor pupil", hh("near_poor", pupil(9, "primary")), false, 0, 0},
		},
		"housing_new": {
			{"poor", hh("poor"), true, 40_000_000, 0},
			{"near-poor", hh("near_poor"), true, 40_000_000, 0},
			{"average living standard", hh("average"), false, 0, 0},
		},
		"housing_repair": {
			{"poor", hh("poor"), true, 20_000_000, 0},
			{"not poor", hh("none"), false, 0, 0},
		},
		"vocational_training": {
			{"poor, 20", hh("poor", person(20)), true, 3_000_000, 3_000_000},
			{"poor ethnic minority, 20", hh("poor", person(20), ethnic), true, 4_000_000, 4_000_000},
			{"near-poor, 20", hh("near_poor", person(20)), true, 2_500_000, 2_500_000},
			{"disabled, not poor, 30", hh("none", person(30), disabled), true, 6_000_000, 6_000_000},
			{"poor, 14: too young", hh("poor", person(14)), false, 0, 0},
			{"poor, 61: past working age", hh("poor", person(61)), false, 0, 0},
			{"not poor, 30", hh("none", person(30)), false, 0, 0},
		},
		"vbsp_loan": {
			{"poor", hh("poor"), true, 0, 6.6},
			{"near-poor", hh("near_poor"), true, 0, 7.92},
			{"escaped two years ago", hh("none", escaped(2)), true, 0, 8.25},
			{"escaped just under three years ago", hh("average", escaped(2.99)), true, 0, 8.25},
			{"escaped three years ago", hh("none", escaped(3)), false, 0, 0},
			{"never poor", hh("none"), false, 0, 0},
		},
		"electricity": {
			{"poor", hh("poor"), true, 0, 0},
			{"near-poor", hh("near_poor"), false, 0, 0},
		},
		"legal_aid": {
			{"poor", hh("poor"), true, 0, 0},
			{"near-poor", hh("near_poor"), false, 0, 0},
		},
		"holiday_gift": {
			{"near-poor", hh("near_poor"), true, 0, 0},
			{"an ethnic-minority household", hh("none", ethnic), true, 0, 0},
			{"average living standard", hh("average"), false, 0, 0},
		},
		"disaster_relief": {
			{"poor", hh("poor"), true, 0, 0},
			{"not poor, Kinh", hh("none"), false, 0, 0},
		},
	}
	for code, p := range programs {
		if _, ok := cases[code]; !ok {
			t.Errorf("seeded program %s has no table", code)
		}
		c, err := compileProgram(p)
		if err != nil {
			t.Fatalf("%s: %v", code, err)
		}
		for _, tt := range cases[code] {
			v, err := c.rule.Evaluate(tt.facts)
			if err != nil || v.Eligible != tt.eligible || v.ReasonVI == "" || v.ReasonEN == "" {
				t.Errorf("%s, %s: %+v %v, want eligible %v", code, tt.name, v, err, tt.eligible)
				continue
			}
			if !tt.eligible {
				continue
			}
			if n, err := c.amount.Of(tt.facts); err != nil || n != tt.amount {
				t.Errorf("%s, %s: amount %d %v, want %d", code, tt.name, n, err, tt.amount)
			}
			if tt.computed != 0 {
				for _, prog := range c.computed[0] {
					out, err := run(prog, tt.facts)
					if f, _ := out.(float64); err != nil || math.Abs(f-tt.computed) > 1e-9 {
						t.Errorf("%s, %s: computed %v %v, want %v", code, tt.name, out, err, tt.computed)
					}
				}
			}
		}
	}
	for code := range cases {
		if _, ok := programs[code]; !ok {
			t.Errorf("table for %s, which is not seeded", code)
		}
	}
}

func TestRuleCompileErrors(t *testing.T) {
	for _, tt := range []struct {
		clauses []Clause
		want    string
	}{
		{nil, "1 to 10 clauses"},
		{[]Clause{{When: `household.classification == "poor"`}}, "say what the clause means"},
		{[]Clause{{When: `household.income > 0`, BecauseVI: "x", BecauseEN: "x"}}, "does not compile"},
		{[]Clause{{When: `household.members + 1`, BecauseVI: "x", BecauseEN: "x"}}, "does not compile"},
		{[]Clause{{When: `household.classification == `, BecauseVI: "x", BecauseEN: "x"}}, "does not compile"},
		{[]Clause{{When: strings.Repeat("true && ", 200) + "true", BecauseVI: "x", BecauseEN: "x"}}, "longer than"},
		{[]Clause{{When: `repeat("x", 1000000000) == ""`, BecauseVI: "x", BecauseEN: "x"}}, "may not use repeat()"},
		{[]Clause{{When: `len(1..100000000) > 0`, BecauseVI: "x", BecauseEN: "x"}}, "may not use ranges"},
		{[]Clause{{When: `let r = household.enrolled; all(r, all(r, true))`, BecauseVI: "x", BecauseEN: "x"}}, "may not declare variables"},
		{[]Clause{{When: `len(member.name + member.name + member.name) > 3`, BecauseVI: "x", BecauseEN: "x"}}, "may not join texts"},
		{[]Clause{{When: `now().Year() > 2000`, BecauseVI: "x", BecauseEN: "x"}}, "may not"},
		{[]Clause{{When: `len(split(member.name, " ")) > 1`, BecauseVI: "x", BecauseEN: "x"}}, "may not use split()"},
	} {
		if _, err := CompileRule(tt.clauses); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %q", tt.clauses, err, tt.want)
		}
	}
	if _, err := CompileAmount(`"a lot"`); err == nil {
		t.Error("a text amount compiled")
	}
	a, err := CompileAmount(`household.members * -1000`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Of(hh("poor")); err == nil {
		t.Error("a negative amount was accepted")
	}
}

// What a rule may do is bounded: filtering the facts' lists is fine and
// runs within the memory budget.
func TestRuleCostIsBounded(t *testing.T) {
	r, err := CompileRule([]Clause{{When: `count(household.enrolled, # startsWith "bhyt") < 2 && any(["a", "b"], # in household.enrolled) == false`,
		BecauseVI: "x", BecauseEN: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	f := hh("poor")
	for i := range 200 {
		f.Household.Enrolled = append(f.Household.Enrolled, fmt.Sprintf("p%d", i))
	}
	if v, err := r.Evaluate(f); err != nil || !v.Eligible {
		t.Fatalf("%+v %v", v, err)
	}
}

// Whatever a program manager types, compiling and running it never panics
// and never runs away.
func FuzzRule(f *testing.F) {
	for _, seed := range []string{`household.classification == "poor"`, `member.age >= 3 && member.student`,
		`"x" in household.enrolled`, `household.years_since_escaping < 3`, `len(1..1000) > 2`, `map(1..10, # * 2)[0] == 2`,
		`member.name matches "^Ng"`, `household.members / 0 == 1`, `{}.x.y == 1`, `filter(1..100, # > 50) | len() > 3`} {
		f.Add(seed)
	}
	facts := []Facts{hh("poor", pupil(9, "primary")), hh("none", person(70), disabled, escaped(1)), {}}
	f.Fuzz(func(t *testing.T, when string) {
		r, err := CompileRule([]Clause{{When: when, BecauseVI: "x", BecauseEN: "x"}})
		if err != nil {
			return
		}
		for _, fa := range facts {
			_, _ = r.Evaluate(fa) // an error is fine; a panic or a hang is not
		}
	})
}
