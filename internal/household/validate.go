package household

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/vn"
)

// vietnam is the zone dates are judged in ("not in the future" means in Vietnam).
var vietnam = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		return time.FixedZone("ICT", 7*3600) // no tzdata on the host: Vietnam has no DST
	}
	return loc
}()

// today is the current date in Vietnam.
func today(now time.Time) time.Time {
	y, m, d := now.In(vietnam).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

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

// fieldErrors collects problems under JSON paths.
type fieldErrors []apperr.FieldError

func (f *fieldErrors) add(field, code, format string, args ...any) {
	*f = append(*f, apperr.FieldError{Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
}

// validateHousehold normalises and checks a household and its members,
// collecting every problem. now is the instant "the future" is judged from.
func validateHousehold(h *Household, requireHead bool, now time.Time) error {
	var fe fieldErrors
	h.Code = strings.TrimSpace(h.Code)
	if h.Code == "" || len(h.Code) > 32 || strings.ContainsAny(h.Code, " \t") {
		fe.add("code", "invalid", "is required: 1-32 characters without spaces")
	}
	h.Village = vn.NormalizeName(h.Village)
	if h.Village == "" || len(h.Village) > 100 {
		fe.add("village", "required", "is required (the ấp or thôn), at most 100 characters")
	}
	h.Address = vn.NormalizeName(h.Address)
	if len(h.Address) > 300 {
		fe.add("address", "too_long", "must be at most 300 characters")
	}
	if h.AreaType != "rural" && h.AreaType != "urban" {
		fe.add("area_type", "invalid", "must be rural or urban")
	}
	h.Phone = vn.NormalizePhone(h.Phone)
	if h.Phone != "" && !vn.ValidPhone(h.Phone) {
		fe.add("phone", "invalid", "must be a Vietnamese phone number such as 0912345678")
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
		fe.add("members", "head", "a household needs exactly one present head (has %d)", heads)
	}
	return apperr.Fields(fe)
}

func validateMember(m *Member, prefix string, now time.Time, fe *fieldErrors) {
	day := today(now)
	m.FullName = vn.NormalizeName(m.FullName)
	if m.FullName == "" || len(m.FullName) > 100 {
		fe.add(prefix+"full_name", "required", "is required, at most 100 characters")
	}
	if m.Sex != Male && m.Sex != Female {
		fe.add(prefix+"sex", "invalid", "must be male or female")
	}
	switch {
	case m.BirthYear < 1890 || m.BirthYear > day.Year():
		fe.add(prefix+"birth_date", "invalid", "must be a year from 1890 to this year")
	case m.BirthDate != nil && m.BirthDate.After(day):
		fe.add(prefix+"birth_date", "future", "must not be in the future")
	}
	if !slices.Contains(Relationships, m.Relationship) {
		fe.add(prefix+"relationship", "invalid", "must be one of %s", strings.Join(Relationships, ", "))
	}
	if m.EthnicityCode != nil && (*m.EthnicityCode < 1 || *m.EthnicityCode > 54) {
		fe.add(prefix+"ethnicity_code", "invalid", "must be one of the 54 official groups (1-54)")
	}
	if m.InsuranceExpiry != nil && m.InsuranceCard == "" {
		fe.add(prefix+"insurance_card", "required", "is required when an expiry date is given")
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
			fe.add(prefix+"id_number", code, "%s", err.Error())
		}
	}
}
