package assessment

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/household"
	"github.com/ansinh/ansinh/internal/platform/apperr"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func indicators(codes ...string) []Indicator {
	out := make([]Indicator, len(codes))
	for i, c := range codes {
		out[i] = Indicator{Code: c, Position: i + 1}
	}
	return out
}

// The two national standards as migration 00010 seeds them.
var (
	nd07 = Standard{Code: "ND07-2021", ValidFrom: day("2022-01-01"), ValidTo: day("2026-12-31"),
		LineRural: 1_500_000, LineUrban: 2_000_000, AverageMaxRural: 2_250_000, AverageMaxUrban: 3_000_000, PoorMinDeprivations: 3,
		Indicators: indicators("employment", "dependents", "nutrition", "health_insurance", "adult_education", "child_schooling",
			"housing_quality", "floor_area", "domestic_water", "toilet", "telecom", "information_means")}
	nd351 = Standard{Code: "ND351-2025", ValidFrom: day("2027-01-01"), ValidTo: day("2030-12-31"),
		LineRural: 2_200_000, LineUrban: 2_800_000, AverageMaxRural: 3_300_000, AverageMaxUrban: 4_200_000, PoorMinDeprivations: 3,
		Indicators: indicators("employment", "dependents", "nutrition", "health_insurance", "adult_education", "child_schooling",
			"housing_quality", "floor_area", "domestic_water", "toilet", "telecom", "digital_services", "waste_treatment")}
)

func TestClassify(t *testing.T) {
	three := []string{"employment", "toilet", "telecom"}
	two := []string{"employment", "toilet"}
	tests := []struct {
		name     string
		std      Standard
		areaType string
		income   int64
		deprived []string
		want     string
		reasons  []string
	}{
		{"rural, exactly on the line, exactly 3 deprivations", nd07, "rural", 1_500_000, three, Poor,
			[]string{"income_at_or_below_line", "deprivations_at_least_threshold"}},
		{"rural, on the line, 2 deprivations", nd07, "rural", 1_500_000, two, NearPoor,
			[]string{"income_at_or_below_line", "deprivations_below_threshold"}},
		{"rural, on the line, none deprived", nd07, "rural", 1_500_000, nil, NearPoor, nil},
		{"rural, no income at all, 12 deprivations", nd07, "rural", 0, []string{"employment", "dependents", "nutrition",
			"health_insurance", "adult_education", "child_schooling", "housing_quality", "floor_area", "domestic_water", "toilet",
			"telecom", "information_means"}, Poor, nil},
		{"rural, one đồng above the line: average band starts", nd07, "rural", 1_500_001, three, Average,
			[]string{"income_within_average_band"}},
		{"rural, top edge of the average band", nd07, "rural", 2_250_000, nil, Average, nil},
		{"rural, above the average band", nd07, "rural", 2_250_001, three, None, []string{"income_above_average_band"}},
		{"urban, on the urban line, 3 deprivations", nd07, "urban", 2_000_000, three, Poor, nil},
		{"urban, on the urban line, 2 deprivations", nd07, "urban", 2_000_000, two, NearPoor, nil},
		{"urban income that is poor in the country is average in town? no: rural line does not apply", nd07, "urban", 1_800_000, three, Poor, nil},
		{"rural, income between the lines is average in the country", nd07, "rural", 1_800_000, three, Average, nil},
		{"urban, above the urban line", nd07, "urban", 2_000_001, three, Average, nil},
		{"urban, top of the average band", nd07, "urban", 3_000_000, nil, Average, nil},
		{"urban, above the average band", nd07, "urban", 3_000_001, nil, None, nil},
		{"indicator codes outside the standard do not count", nd07, "rural", 1_000_000,
			[]string{"employment", "toilet", "digital_services"}, NearPoor, nil},
		{"an indicator named twice counts once", nd07, "rural", 1_000_000, []string{"employment", "toilet", "toilet"}, NearPoor, nil},
		{"2027–2030: 2,000,000 rural is under the new line", nd351, "rural", 2_000_000, three, Poor, nil},
		{"2027–2030: exactly on the new rural line", nd351, "rural", 2_200_000, two, NearPoor, nil},
		{"2027–2030: above the new rural line", nd351, "rural", 2_200_001, three, Average, nil},
		{"2027–2030: exactly on the new urban line", nd351, "urban", 2_800_000, three, Poor, nil},
		{"2027–2030: the new indicators count", nd351, "rural", 1_000_000, []string{"employment", "digital_services", "waste_treatment"}, Poor, nil},
		{"2027–2030: the dropped indicator does not count", nd351, "rural", 1_000_000,
			[]string{"employment", "toilet", "information_means"}, NearPoor, nil},
		{"2027–2030: top of the new average band", nd351, "urban", 4_200_000, nil, Average, nil},
		{"2027–2030: above the new average band", nd351, "urban", 4_200_001, nil, None, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Classify(tt.std, tt.areaType, tt.income, tt.deprived)
			if got.Classification != tt.want {
				t.Fatalf("got %s, want %s (%+v)", got.Classification, tt.want, got.Reasons)
			}
			var codes []string
			for _, r := range got.Reasons {
				codes = append(codes, r.Code)
				if r.Detail == "" {
					t.Errorf("reason %s has no detail", r.Code)
				}
			}
			if tt.reasons != nil && !slices.Equal(codes, tt.reasons) {
				t.Errorf("reasons %v, want %v", codes, tt.reasons)
			}
		})
	}
}

func TestClassifyReasonsNameTheLineAndIndicators(t *testing.T) {
	got := Classify(nd07, "urban", 1_900_000, []string{"toilet", "employment", "telecom"})
	if got.Deprivations != 3 || got.Reasons[0].Line != 2_000_000 || got.Reasons[0].Income != 1_900_000 {
		t.Fatalf("reasons: %+v", got)
	}
	if !slices.Equal(got.Reasons[1].Indicators, []string{"employment", "telecom", "toilet"}) || got.Reasons[1].Threshold != 3 {
		t.Fatalf("indicators: %+v", got.Reasons[1])
	}
	if got.Reasons[0].Detail != "income 1,900,000 VND ≤ the urban line 2,000,000 VND of ND07-2021" {
		t.Fatalf("detail: %q", got.Reasons[0].Detail)
	}
}

func TestChooseByReferenceDate(t *testing.T) {
	local := Standard{Code: "KG-2026", AreaCode: "91", AreaPath: "91", ValidFrom: day("2026-01-01"), ValidTo: day("2026-12-31"),
		LineRural: 1_700_000, LineUrban: 2_200_000, AverageMaxRural: 2_500_000, AverageMaxUrban: 3_300_000, PoorMinDeprivations: 3}
	all := []Standard{nd07, nd351, local}
	tests := []struct {
		area, date, want string
	}{
		{"79.760.26734", "2026-12-31", "ND07-2021"}, // the last day of the extended 2022–2025 standard
		{"79.760.26734", "2027-01-01", "ND351-2025"},
		{"79.760.26734", "2022-01-01", "ND07-2021"},
		{"79.760.26734", "2030-12-31", "ND351-2025"},
		{"79.760.26734", "2021-12-31", ""},
		{"79.760.26734", "2031-01-01", ""},
		{"91.914.30791", "2026-06-01", "KG-2026"}, // the province's higher standard wins inside it
		{"91.914.30791", "2025-12-31", "ND07-2021"},
		{"91.914.30791", "2027-01-01", "ND351-2025"},
		{"910.1", "2026-06-01", "ND07-2021"}, // a path that merely starts with the same digits is not inside
	}
	for _, tt := range tests {
		got, ok := Choose(all, tt.area, day(tt.date))
		if tt.want == "" {
			if ok {
				t.Errorf("%s on %s: got %s, want none", tt.area, tt.date, got.Code)
			}
			continue
		}
		if !ok || got.Code != tt.want {
			t.Errorf("%s on %s: got %q (%v), want %s", tt.area, tt.date, got.Code, ok, tt.want)
		}
	}
}

func TestLists(t *testing.T) {
	tests := []struct {
		from, to string
		escaped  bool
		want     []string
	}{
		{None, Poor, false, []string{ListNewlyPoor}},
		{Average, Poor, false, []string{ListNewlyPoor}},
		{None, Poor, true, []string{ListReEnteredPoverty}},
		{NearPoor, Poor, false, []string{ListNewlyPoor}},
		{NearPoor, Poor, true, []string{ListReEnteredPoverty}},
		{None, NearPoor, false, []string{ListNewlyNearPoor}},
		{Poor, NearPoor, false, []string{ListNewlyNearPoor, ListEscapedPoverty}},
		{Poor, Average, false, []string{ListEscapedPoverty}},
		{Poor, None, false, []string{ListEscapedPoverty}},
		{NearPoor, Average, false, []string{ListEscapedNearPoverty}},
		{NearPoor, None, false, []string{ListEscapedNearPoverty}},
		{Average, None, false, nil},
		{Poor, Poor, true, nil},
	}
	for _, tt := range tests {
		if got := Lists(tt.from, tt.to, tt.escaped); !slices.Equal(got, tt.want) {
			t.Errorf("%s → %s (escaped %v): got %v, want %v", tt.from, tt.to, tt.escaped, got, tt.want)
		}
	}
}

func member(birth string, mod func(*household.Member)) household.Member {
	m := household.Member{ID: uuid.New(), Status: "present", FullName: "x"}
	if len(birth) == 4 {
		m.BirthYear = day(birth + "-01-01").Year()
	} else {
		d := day(birth)
		m.BirthDate, m.BirthYear = &d, d.Year()
	}
	if mod != nil {
		mod(&m)
	}
	return m
}

func insured(expiry string) func(*household.Member) {
	return func(m *household.Member) {
		m.InsuranceCard = "GD4919120000001"
		if expiry != "" {
			d := day(expiry)
			m.InsuranceExpiry = &d
		}
	}
}

func TestPrefill(t *testing.T) {
	ref := day("2026-09-01")
	student := func(m *household.Member) { m.Student = true }
	tests := []struct {
		name    string
		rule    string
		members []household.Member
		want    bool
	}{
		{"insurance: everyone 6+ insured", RuleHealthInsurance, []household.Member{member("1980", insured("")), member("2020-09-02", nil)}, false},
		{"insurance: a child turning 6 the day after is not counted", RuleHealthInsurance, []household.Member{member("2020-09-02", nil)}, false},
		{"insurance: a child 6 on the reference date is counted", RuleHealthInsurance, []household.Member{member("2020-09-01", nil)}, true},
		{"insurance: a card that expired before the reference date", RuleHealthInsurance, []household.Member{member("1980", insured("2026-08-31"))}, true},
		{"insurance: a card valid through the reference date", RuleHealthInsurance, []household.Member{member("1980", insured("2026-09-01"))}, false},
		{"insurance: someone who moved out does not count", RuleHealthInsurance, []household.Member{member("1980", func(m *household.Member) { m.Status = "moved_out" })}, false},
		{"schooling: a child of 10 at school", RuleChildSchooling, []household.Member{member("2016-01-01", student)}, false},
		{"schooling: a child of 10 not at school", RuleChildSchooling, []household.Member{member("2016-01-01", nil)}, true},
		{"schooling: a child of 2 is too young", RuleChildSchooling, []household.Member{member("2024-01-01", nil)}, false},
		{"schooling: 16 is past the age", RuleChildSchooling, []household.Member{member("2010-01-01", nil)}, false},
		{"schooling: just under 16", RuleChildSchooling, []household.Member{member("2010-09-02", nil)}, true},
		{"dependents: exactly half is not more than half", RuleDependents, []household.Member{member("1980", nil), member("2015", nil)}, false},
		{"dependents: two of three", RuleDependents, []household.Member{member("1980", nil), member("2015", nil), member("1950", nil)}, true},
		{"dependents: disability counts", RuleDependents, []household.Member{member("1980", func(m *household.Member) { m.Disability = true })}, true},
		{"dependents: a baby born after the reference date is not yet a member", RuleDependents,
			[]household.Member{member("1980", nil), member("2026-10-01", nil), member("2026-10-02", nil)}, false},
		{"dependents: a grandparent who died after the reference date still counted then", RuleDependents,
			[]household.Member{member("1980", nil), member("2015", nil), member("1940", func(m *household.Member) {
				m.Status, m.StatusDate = "deceased", ptr(day("2026-10-01"))
			})}, true},
		{"dependents: one who died before the reference date did not", RuleDependents,
			[]household.Member{member("1980", nil), member("2015", nil), member("1940", func(m *household.Member) {
				m.Status, m.StatusDate = "deceased", ptr(day("2026-08-01"))
			})}, false},
	}
	for _, tt := range tests {
		p, ok := prefill(tt.rule, household.Household{Members: tt.members}, ref)
		if !ok || p.Deprived != tt.want || p.Reason == "" {
			t.Errorf("%s: got %+v (%v), want deprived %v", tt.name, p, ok, tt.want)
		}
	}
	if _, ok := prefill("unknown", household.Household{}, ref); ok {
		t.Error("an unknown rule must not prefill")
	}
}

func TestBuildAnswers(t *testing.T) {
	std := nd07
	std.Indicators = slices.Clone(nd07.Indicators)
	std.Indicators[3].Prefill = RuleHealthInsurance // health_insurance
	h := household.Household{Members: []household.Member{member("1980", nil)}}
	yes, no := true, false
	var all []AnswerInput
	for _, i := range std.Indicators {
		if i.Code != "health_insurance" {
			all = append(all, AnswerInput{Indicator: i.Code, Deprived: &no})
		}
	}
	ref := day("2026-09-01")

	// The registry answers health insurance: the head has no card.
	var fe apperr.FieldList
	got := buildAnswers(std, h, ref, all, nil, &fe)
	if len(fe) != 0 || len(got) != 12 || !got[3].Deprived || got[3].Source != SourceRegistry || got[3].Prefill == nil {
		t.Fatalf("prefilled: %v %+v", fe, got[3])
	}
	// Overriding the registry needs a note.
	over := append(append([]AnswerInput(nil), all...), AnswerInput{Indicator: "health_insurance", Deprived: &no})
	fe = nil
	buildAnswers(std, h, ref, over, nil, &fe)
	if len(fe) != 1 || fe[0].Field != "answers[11].note" {
		t.Fatalf("override without note: %+v", fe)
	}
	over[11].Note = "card issued last week, not yet in the registry"
	fe = nil
	got = buildAnswers(std, h, ref, over, nil, &fe)
	if len(fe) != 0 || got[3].Deprived || got[3].Source != SourceOverride {
		t.Fatalf("override: %v %+v", fe, got[3])
	}
	// Unknown, duplicate and missing answers are all reported together.
	fe = nil
	buildAnswers(std, h, ref, []AnswerInput{{Indicator: "waste_treatment", Deprived: &yes}, {Indicator: "toilet", Deprived: &yes},
		{Indicator: "toilet", Deprived: &yes}}, nil, &fe)
	if len(fe) != 3 {
		t.Fatalf("problems: %+v", fe)
	}
	// A draft being changed keeps the worker's earlier answers.
	first := buildAnswers(std, h, ref, all, nil, &fe)
	fe = nil
	again := buildAnswers(std, h, ref, []AnswerInput{{Indicator: "toilet", Deprived: &yes}}, first, &fe)
	if len(fe) != 0 || len(again) != 12 || !again[9].Deprived || again[0].Source != SourceWorker {
		t.Fatalf("patch: %v %+v", fe, again)
	}
}

func ptr[T any](v T) *T { return &v }
