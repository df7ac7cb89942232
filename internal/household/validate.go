package household

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/vn"
)

// today is the current date in Vietnam.
func today(now time.Time) time.Time { return vn.Today(now) }

// ParseBirth reads a birth date given in full ("2008-05-02") or as a year
// ("1978"), as records often have only the year.
func ParseBirth(s string) (date *time.Time, year int, err error) {
	s = strings.TrimSpace(s)
	if len(s) == 4 {
		y, err := strconv.Atoi(s)
		if err != nil {
			return nil, 0, errors.New("must be YYYY-MM-DD or YYYY")
		}
		return nil, y, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return nil, 0, errors.New("must be YYYY-MM-DD or YYYY")
	}
	return &t, t.Year(), nil
}

// householdCode is the household code's form (the database checks the same).
var householdCode = regexp.MustCompile(`^[0-9A-Za-z._/-]{1,32}$`)

// MemberFields are a member's values as a person typed them (a request, a
// row of an import file); NewMember parses them. MemberIn has the same
// fields, in the same order (it converts to MemberFields).
type MemberFields struct {
	ID               *uuid.UUID
	FullName         string
	BirthDate        string // YYYY-MM-DD or YYYY
	Sex              string
	IDNumber         string
	Relationship     string
	EthnicityCode    *int
	Disability       bool
	EducationLevel   string
	Occupation       string
	EmploymentStatus string
	InsuranceCard    string
	InsuranceExpiry  string // YYYY-MM-DD
	Student          bool
	SchoolLevel      string
	ArrivedOn        string // YYYY-MM-DD: born into or moved into the household; empty: since it was established
}

// HouseholdFields are a household to register: its own fields as the model
// keeps them (none needs parsing) and its members' as a person typed them;
// NewHousehold parses and checks them.
type HouseholdFields struct {
	Household Household // its own fields (ID may be set: a mobile client may mint it)
	// EstablishedOn is the day it came into existence (YYYY-MM-DD; empty:
	// today): a registry entered late says when the household was there.
	EstablishedOn string
	Members       []MemberFields
}

// NewHousehold parses and checks a household to register, with every
// problem of its fields and its members' (members[i].field) together: it
// needs exactly one present head. The household is returned as far as it
// was read even with problems.
func NewHousehold(f HouseholdFields, now time.Time) (Household, error) {
	h := f.Household
	h.Members = nil
	var fe apperr.FieldList
	today := vn.Today(now)
	h.EstablishedOn = &today
	if s := strings.TrimSpace(f.EstablishedOn); s != "" {
		switch t, err := time.Parse(time.DateOnly, s); {
		case err != nil:
			fe.Add("established_on", "invalid", "must be a date, YYYY-MM-DD")
		case t.After(today):
			fe.Add("established_on", "future", "must not be after today")
		default:
			h.EstablishedOn = &t
		}
	}
	for i, m := range f.Members {
		h.Members = append(h.Members, parseMember(m, fmt.Sprintf("members[%d].", i), now, &fe))
	}
	// Format problems come first, then the rules' own.
	if err := h.check(true, now); err != nil {
		if e, ok := apperr.As(err); ok {
			fe = append(fe, e.Fields...)
		}
	}
	return h, apperr.Fields(dedupe(fe))
}

// NewMember parses and checks one member (a person joining a household).
func NewMember(f MemberFields, now time.Time) (Member, error) {
	var fe apperr.FieldList
	m := parseMember(f, "", now, &fe)
	if len(fe) == 0 {
		m.check("", now, &fe)
	}
	return m, apperr.Fields(fe)
}

// parseMember reads what the model keeps typed; format problems are field
// errors under prefix.
func parseMember(f MemberFields, prefix string, now time.Time, fe *apperr.FieldList) Member {
	m := Member{FullName: f.FullName, Sex: Sex(f.Sex), Relationship: f.Relationship, EthnicityCode: f.EthnicityCode,
		Disability: f.Disability, EducationLevel: strings.TrimSpace(f.EducationLevel), Occupation: strings.TrimSpace(f.Occupation),
		EmploymentStatus: strings.TrimSpace(f.EmploymentStatus), InsuranceCard: strings.TrimSpace(f.InsuranceCard),
		Student: f.Student, SchoolLevel: strings.TrimSpace(f.SchoolLevel)}
	if f.ID != nil {
		m.ID = *f.ID
	}
	date, year, err := ParseBirth(f.BirthDate)
	if err != nil {
		fe.Add(prefix+"birth_date", "invalid", "%s", err.Error())
		year = today(now).Year() // keep checking the rest
	}
	m.BirthDate, m.BirthYear = date, year
	if f.IDNumber != "" {
		id, err := ParseID(f.IDNumber)
		if err != nil {
			fe.Add(prefix+"id_number", "format", "%s", err.Error())
		} else {
			m.IDNumber = &id
		}
	}
	if f.InsuranceExpiry != "" {
		t, err := time.Parse(time.DateOnly, f.InsuranceExpiry)
		if err != nil {
			fe.Add(prefix+"insurance_expiry", "invalid", "must be YYYY-MM-DD")
		} else {
			m.InsuranceExpiry = &t
		}
	}
	if s := strings.TrimSpace(f.ArrivedOn); s != "" {
		switch t, err := time.Parse(time.DateOnly, s); {
		case err != nil:
			fe.Add(prefix+"arrived_on", "invalid", "must be YYYY-MM-DD")
		case t.After(today(now)):
			fe.Add(prefix+"arrived_on", "future", "must not be after today")
		default:
			m.ArrivedOn = &t
		}
	}
	return m
}

// MemberPatch changes a member's own fields; nil leaves a field alone.
// IDNumber "" removes the number.
// Its fields are MemberFields' (but the id), each optional, in their order:
// the HTTP layer's body converts to it.
type MemberPatch struct {
	FullName, BirthDate, Sex, IDNumber, Relationship *string
	EthnicityCode                                    *int
	Disability                                       *bool
	EducationLevel, Occupation, EmploymentStatus     *string
	InsuranceCard, InsuranceExpiry                   *string
	Student                                          *bool
	SchoolLevel                                      *string
}

// patched is the member with the patch applied and checked. The head's
// relationship changes only by a change of head.
func (m Member) patched(p MemberPatch, now time.Time) (Member, error) {
	var fe apperr.FieldList
	for _, f := range []struct{ dst, v *string }{{&m.FullName, p.FullName}, {&m.EducationLevel, p.EducationLevel},
		{&m.Occupation, p.Occupation}, {&m.EmploymentStatus, p.EmploymentStatus}, {&m.InsuranceCard, p.InsuranceCard},
		{&m.SchoolLevel, p.SchoolLevel}} {
		if f.v != nil {
			*f.dst = strings.TrimSpace(*f.v)
		}
	}
	if p.Sex != nil {
		m.Sex = Sex(*p.Sex)
	}
	if p.Relationship != nil {
		if (m.Relationship == "head") != (*p.Relationship == "head") {
			fe.Add("relationship", "head", "change the head with POST /households/{id}/head")
		}
		m.Relationship = *p.Relationship
	}
	if p.BirthDate != nil {
		d, y, err := ParseBirth(*p.BirthDate)
		if err != nil {
			fe.Add("birth_date", "invalid", "%s", err.Error())
		} else {
			m.BirthDate, m.BirthYear = d, y
		}
	}
	if p.InsuranceExpiry != nil {
		m.InsuranceExpiry = nil
		if *p.InsuranceExpiry != "" {
			t, err := time.Parse(time.DateOnly, *p.InsuranceExpiry)
			if err != nil {
				fe.Add("insurance_expiry", "invalid", "must be YYYY-MM-DD")
			} else {
				m.InsuranceExpiry = &t
			}
		}
	}
	if p.EthnicityCode != nil {
		m.EthnicityCode = p.EthnicityCode
	}
	if p.Disability != nil {
		m.Disability = *p.Disability
	}
	if p.Student != nil {
		m.Student = *p.Student
	}
	if p.IDNumber != nil {
		m.IDNumber = nil
		if *p.IDNumber != "" {
			idn, err := ParseID(*p.IDNumber)
			if err != nil {
				fe.Add("id_number", "format", "%s", err.Error())
			} else {
				m.IDNumber = &idn
			}
		}
	}
	m.check("", now, &fe)
	return m, apperr.Fields(dedupe(fe))
}

// dedupe keeps the first problem reported for each field.
func dedupe(fe apperr.FieldList) apperr.FieldList {
	seen := map[string]bool{}
	var out apperr.FieldList
	for _, f := range fe {
		if !seen[f.Field] {
			seen[f.Field] = true
			out = append(out, f)
		}
	}
	return out
}

// check normalises and checks a household and its members, collecting
// every problem. now is the instant "the future" is judged from.
func (h *Household) check(requireHead bool, now time.Time) error {
	var fe apperr.FieldList
	h.Code = strings.TrimSpace(h.Code)
	if !householdCode.MatchString(h.Code) {
		fe.Add("code", "invalid", "is required: 1-32 letters, digits, dots, dashes, underscores or slashes")
	}
	h.Village = vn.NormalizeName(h.Village)
	if h.Village == "" || len(h.Village) > 100 {
		fe.Add("village", "required", "is required (the ấp or thôn), at most 100 characters")
	}
	h.Address = vn.NormalizeName(h.Address)
	if len(h.Address) > 300 {
		fe.Add("address", "too_long", "must be at most 300 characters")
	}
	if h.AreaType != "rural" && h.AreaType != "urban" {
		fe.Add("area_type", "invalid", "must be rural or urban")
	}
	h.Phone = vn.NormalizePhone(h.Phone)
	if h.Phone != "" && !vn.ValidPhone(h.Phone) {
		fe.Add("phone", "invalid", "must be a Vietnamese phone number such as 0912345678")
	}
	heads := 0
	for i := range h.Members {
		m := &h.Members[i]
		m.check(fmt.Sprintf("members[%d].", i), now, &fe)
		if m.Relationship == "head" && m.Status == "present" {
			heads++
		}
	}
	if requireHead && heads != 1 {
		fe.Add("members", "head", "a household needs exactly one present head (has %d)", heads)
	}
	return apperr.Fields(fe)
}

// check normalises and checks a member; problems are added under prefix.
func (m *Member) check(prefix string, now time.Time, fe *apperr.FieldList) {
	day := today(now)
	m.FullName = vn.NormalizeName(m.FullName)
	if m.FullName == "" || len(m.FullName) > 100 {
		fe.Add(prefix+"full_name", "required", "is required, at most 100 characters")
	}
	if m.Sex != Male && m.Sex != Female {
		fe.Add(prefix+"sex", "invalid", "must be male or female")
	}
	switch {
	case m.BirthYear < 1890 || m.BirthYear > day.Year():
		fe.Add(prefix+"birth_date", "invalid", "must be a year from 1890 to this year")
	case m.BirthDate != nil && m.BirthDate.After(day):
		fe.Add(prefix+"birth_date", "future", "must not be in the future")
	}
	if !slices.Contains(Relationships, m.Relationship) {
		fe.Add(prefix+"relationship", "invalid", "must be one of %s", strings.Join(Relationships, ", "))
	}
	if m.EthnicityCode != nil && (*m.EthnicityCode < 1 || *m.EthnicityCode > 54) {
		fe.Add(prefix+"ethnicity_code", "invalid", "must be one of the 54 official groups (1-54)")
	}
	// In a fixed order (problems listed the same way every time); school_level
	// is checked against its list below.
	for _, f := range []struct{ field, v string }{{"education_level", m.EducationLevel}, {"occupation", m.Occupation},
		{"employment_status", m.EmploymentStatus}, {"insurance_card", m.InsuranceCard}} {
		if len(f.v) > 100 {
			fe.Add(prefix+f.field, "too_long", "must be at most 100 characters")
		}
	}
	if m.SchoolLevel != "" && !slices.Contains(SchoolLevels, m.SchoolLevel) {
		fe.Add(prefix+"school_level", "invalid", "must be one of %s", strings.Join(SchoolLevels, ", "))
	}
	if m.InsuranceExpiry != nil && m.InsuranceCard == "" {
		fe.Add(prefix+"insurance_card", "required", "is required when an expiry date is given")
	}
	if m.Status == "" {
		m.Status = "present"
	}
	if m.IDNumber != nil {
		if err := m.IDNumber.CheckPerson(m.Sex, m.BirthYear); err != nil {
			var ie *IDError
			code := "invalid"
			if errors.As(err, &ie) {
				code = ie.Code
			}
			fe.Add(prefix+"id_number", code, "%s", err.Error())
		}
	}
}
