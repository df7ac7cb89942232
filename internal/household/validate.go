package household

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

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

// validateHousehold normalises and checks a household and its members,
// collecting every problem. now is the instant "the future" is judged from.
func validateHousehold(h *Household, requireHead bool, now time.Time) error {
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
		validateMember(m, fmt.Sprintf("members[%d].", i), now, &fe)
		if m.Relationship == "head" && m.Status == "present" {
			heads++
		}
	}
	if requireHead && heads != 1 {
		fe.Add("members", "head", "a household needs exactly one present head (has %d)", heads)
	}
	return apperr.Fields(fe)
}

func validateMember(m *Member, prefix string, now time.Time, fe *apperr.FieldList) {
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
