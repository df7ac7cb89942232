package household

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/platform/apperr"
)

func date(s string) *time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return &t
}

func TestMemberAgeOn(t *testing.T) {
	on := *date("2025-06-15")
	cases := []struct {
		name string
		m    Member
		want int
	}{
		{"year only", Member{BirthYear: 1978}, 47},
		{"birthday passed", Member{BirthDate: date("2008-05-02"), BirthYear: 2008}, 17},
		{"birthday today", Member{BirthDate: date("2008-06-15"), BirthYear: 2008}, 17},
		{"birthday tomorrow", Member{BirthDate: date("2008-06-16"), BirthYear: 2008}, 16},
		{"later month", Member{BirthDate: date("2008-12-01"), BirthYear: 2008}, 16},
	}
	for _, c := range cases {
		if got := c.m.AgeOn(on); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}

func fieldCodes(t *testing.T, err error) map[string]string {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok {
		t.Fatalf("not field errors: %v", err)
	}
	out := map[string]string{}
	for _, f := range e.Fields {
		if _, dup := out[f.Field]; dup {
			t.Fatalf("%s reported twice: %v", f.Field, e.Fields)
		}
		out[f.Field] = f.Code
	}
	return out
}

func TestNewHousehold(t *testing.T) {
	now := time.Date(2025, 6, 15, 3, 0, 0, 0, time.UTC)
	head := MemberFields{FullName: "  Nguyễn Văn An ", BirthDate: "1978", Sex: "male", Relationship: "head", IDNumber: "091 078 001 234"}
	h, err := NewHousehold(HouseholdFields{Household: Household{Code: " VP-1 ", CommuneCode: "30791", Village: "Ấp 1", AreaType: "rural",
		Phone: "0912 345 678"}, Members: []MemberFields{head, {FullName: "Trần Thị Bích", BirthDate: "1981-03-04", Sex: "female",
		Relationship: "spouse", EducationLevel: " lower_secondary "}}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if h.Code != "VP-1" || h.Members[0].FullName != "Nguyễn Văn An" || h.Members[0].IDNumber == nil ||
		h.Members[0].IDNumber.Digits != "091078001234" || h.Members[1].BirthDate == nil || h.Members[1].Status != "present" ||
		h.Members[1].EducationLevel != "lower_secondary" {
		t.Fatalf("parsed: %+v", h)
	}

	// Format problems and the rules' own come together, each field once.
	_, err = NewHousehold(HouseholdFields{Household: Household{Code: "", Village: "Ấp 1", AreaType: "town"}, Members: []MemberFields{
		{FullName: "A", BirthDate: "05/2008", Sex: "male", Relationship: "child", IDNumber: "12a"},
		{FullName: "B", BirthDate: "2030", Sex: "x", Relationship: "child", InsuranceExpiry: "soon"},
	}}, now)
	want := map[string]string{"code": "invalid", "area_type": "invalid", "members": "head",
		"members[0].birth_date": "invalid", "members[0].id_number": "format",
		"members[1].birth_date": "invalid", "members[1].sex": "invalid", "members[1].insurance_expiry": "invalid"}
	got := fieldCodes(t, err)
	for f, code := range want {
		if got[f] != code {
			t.Errorf("%s: %q, want %q (all: %v)", f, got[f], code, got)
		}
	}
}

func TestNewMember(t *testing.T) {
	now := time.Date(2025, 6, 15, 3, 0, 0, 0, time.UTC)
	// A format problem alone: the rules are judged on parsed values only.
	_, err := NewMember(MemberFields{FullName: "", BirthDate: "x", Sex: "male", Relationship: "child"}, now)
	if got := fieldCodes(t, err); len(got) != 1 || got["birth_date"] != "invalid" {
		t.Fatalf("format: %v", got)
	}
	_, err = NewMember(MemberFields{FullName: "", BirthDate: "2001", Sex: "male", Relationship: "cousin"}, now)
	if got := fieldCodes(t, err); got["full_name"] != "required" || got["relationship"] != "invalid" {
		t.Fatalf("rules: %v", got)
	}
	m, err := NewMember(MemberFields{FullName: "Lê Văn C", BirthDate: "2001-02-03", Sex: "male", Relationship: "child"}, now)
	if err != nil || m.Status != "present" || m.BirthYear != 2001 {
		t.Fatalf("member: %+v %v", m, err)
	}
}

func TestTransitions(t *testing.T) {
	head, spouse, child := uuid.New(), uuid.New(), uuid.New()
	gone := uuid.New()
	h := Household{Members: []Member{
		{ID: head, Relationship: "head", Status: "present", BirthYear: 1970},
		{ID: spouse, Relationship: "spouse", Status: "present", BirthYear: 1972},
		{ID: child, Relationship: "child", Status: "present", BirthDate: date("2010-04-05"), BirthYear: 2010},
		{ID: gone, Relationship: "child", Status: "deceased", BirthYear: 2000},
	}}
	if _, err := h.presentMember(gone); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("a deceased member is not present: %v", err)
	}
	if _, err := h.leave(head, MemberEvent{Status: "deceased", Date: *date("2025-01-01")}); err != errHeadMustChangeFirst {
		t.Fatalf("the head leaves first: %v", err)
	}
	if _, err := h.leave(child, MemberEvent{Status: "moved_out", Date: *date("2010-01-01")}); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("a move before birth: %v", err)
	}
	m, err := h.leave(child, MemberEvent{Status: "moved_out", Date: *date("2025-01-01")})
	if err != nil || m.Status != "moved_out" || m.StatusDate == nil {
		t.Fatalf("move out: %+v %v", m, err)
	}
	if err := h.nextHead(head); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("already head: %v", err)
	}
	if err := h.admit(Member{Relationship: "head"}); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("a second head: %v", err)
	}
	if _, _, err := h.transfer([]uuid.UUID{head}); err != errHeadMustChangeFirst {
		t.Fatalf("the head moves while others stay: %v", err)
	}
	moving, remaining, err := h.transfer([]uuid.UUID{head, spouse, child, spouse})
	if err != nil || remaining != 0 || len(moving) != 3 || moving[0].Relationship != "other" {
		t.Fatalf("merge: %+v %d %v", moving, remaining, err)
	}
	if _, err := h.split([]uuid.UUID{head}, head); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("the head stays: %v", err)
	}
	out, err := h.split([]uuid.UUID{spouse, child}, child)
	if err != nil || out[0].Relationship != "other" || out[1].Relationship != "head" {
		t.Fatalf("split: %+v %v", out, err)
	}
	if err := splitArgs([]uuid.UUID{spouse}, child); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("the new head among the members: %v", err)
	}
	eff := *date("2024-01-01")
	c := Household{Classification: "poor", ClassificationEffective: &eff}
	if err := c.classify("near_poor", "QD-1", *date("2023-12-31")); err != errUnchanged {
		t.Fatalf("an older decision: %v", err)
	}
	if err := c.classify("near_poor", "QD-2", *date("2024-06-01")); err != nil || c.Classification != "near_poor" || c.ClassificationDecision != "QD-2" {
		t.Fatalf("classify: %+v %v", c, err)
	}
}
