package area

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
)

func readData(t *testing.T) (from, to []Unit, rows []Succession) {
	t.Helper()
	open := func(name string) *os.File {
		f, err := os.Open("data/" + name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	var err error
	if from, err = ReadUnits(open("vn-admin-units-2025-03.csv")); err != nil {
		t.Fatal(err)
	}
	if to, err = ReadUnits(open("vn-admin-units-2026-04.csv")); err != nil {
		t.Fatal(err)
	}
	if rows, err = ReadMapping(open("vn-commune-mapping-2025.csv")); err != nil {
		t.Fatal(err)
	}
	return from, to, rows
}

// The shipped mapping is accepted against the two shipped editions, and
// says what the domain notes say of the demo province.
func TestShippedMappingIsAccepted(t *testing.T) {
	from, to, rows := readData(t)
	if len(from) != 10794 || len(to) != 3355 || len(rows) != 10602 {
		t.Fatalf("%d old units, %d new, %d mapping rows", len(from), len(to), len(rows))
	}
	if err := CheckMapping(from, to, rows); err != nil {
		t.Fatal(err)
	}
	successors := map[string][]string{}
	divided := map[string]bool{}
	kienGiang := map[string]bool{}
	for _, s := range rows {
		successors[s.Old()] = append(successors[s.Old()], s.NewCommune)
		if s.Divided {
			divided[s.Old()] = true
		}
		if s.OldProvince == "91" {
			if s.NewProvince != "91" {
				t.Errorf("line %d: a Kiên Giang commune went to province %s", s.Line, s.NewProvince)
			}
			kienGiang[s.NewCommune] = true
		}
	}
	if len(divided) != 471 || len(kienGiang) != 48 {
		t.Errorf("%d divided old communes (want 471), Kiên Giang became %d communes (want 48)", len(divided), len(kienGiang))
	}
	if !slices.Equal(successors["30791"], []string{"30793"}) || !slices.Equal(successors["31036"], []string{"31036"}) {
		t.Errorf("demo communes: 30791 → %v, 31036 → %v", successors["30791"], successors["31036"])
	}
}

// A mapping with gaps or contradictions is refused with every problem,
// each naming its unit or line.
func TestBrokenMappingIsRefusedWithTheList(t *testing.T) {
	from, to, rows := readData(t)
	var broken []Succession
	for _, s := range rows {
		switch {
		case s.NewCommune == "30793": // Vĩnh Phú and the others that became Vĩnh Điều left unmapped
		case s.OldCommune == "31036":
			s.NewCommune = "99999" // to a commune that does not exist
			broken = append(broken, s)
		case s.OldCommune == "00004":
			s.Divided = true // one successor, marked divided
			broken = append(broken, s)
		default:
			broken = append(broken, s)
		}
	}
	broken = append(broken, broken[0]) // a pair given twice
	err := CheckMapping(from, to, broken)
	var p MappingProblems
	if !errors.As(err, &p) {
		t.Fatalf("want MappingProblems, got %v", err)
	}
	for _, want := range []string{
		"old commune 30791 Vĩnh Phú is not mapped",
		"new commune 99999 is not a commune of the new edition",
		"old commune 00004 has 1 successor(s) but is marked divided=true",
		"is given twice",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("problems lack %q: %v", want, err)
		}
	}
	if !slices.ContainsFunc(p, func(s string) bool {
		return strings.HasPrefix(s, "new commune 30793 ") && strings.HasSuffix(s, "has no predecessor")
	}) {
		t.Errorf("30793 lost every predecessor but no problem names it: %v", err)
	}
}

func TestMappingRowsAreCheckedAsRead(t *testing.T) {
	for _, c := range []struct{ csv, want string }{
		{"old,district\n", "header is old,district"},
		{strings.Join(mappingHeader, ",") + "\n00001,001,01,00097,01,maybe\n", "line 2: divided is \"maybe\""},
		{strings.Join(mappingHeader, ",") + "\n00001,,01,00097,01,false\n", "line 2: \"\" is not an area code"},
		{strings.Join(mappingHeader, ",") + "\n0x001,001,01,00097,01,false\n", "line 2: \"0x001\" is not an area code"},
		{strings.Join(mappingHeader, ",") + "\n00001,001,01\n", "wrong number of fields"},
	} {
		if _, err := ReadMapping(strings.NewReader(c.csv)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: want %q, got %v", c.csv, c.want, err)
		}
	}
	if _, err := ReadUnits(strings.NewReader(strings.Join(unitHeader, ",") + "\ncommune,ABC,001,x,x,x,commune\n")); err == nil ||
		!strings.Contains(err.Error(), "line 2") {
		t.Errorf("a bad unit code must be refused with its line: %v", err)
	}
}
