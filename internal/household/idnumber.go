// Package household is the registry of households and their members. This
// first part holds the rules for personal ID numbers (CCCD and the older
// CMND) and their protection at rest; the registry itself builds on them.
package household

import (
	"fmt"
	"strings"
)

// Sex as recorded for a member.
type Sex string

// The recorded sexes.
const (
	Male   Sex = "male"
	Female Sex = "female"
)

// IDKind tells the two kinds of personal ID number apart.
type IDKind string

// The kinds.
const (
	CCCD IDKind = "cccd" // 12-digit citizen identity number
	CMND IDKind = "cmnd" // older 9-digit identity card number
)

// IDNumber is a parsed personal ID number.
type IDNumber struct {
	Kind   IDKind
	Digits string
}

// IDError explains why an ID number is refused, with a stable code.
type IDError struct {
	Code    string // format, century_sex, birth_year
	Message string
}

func (e *IDError) Error() string { return e.Message }

// ParseID reads a CCCD (12 digits) or CMND (9 digits), ignoring spaces and dots.
func ParseID(s string) (IDNumber, error) {
	// Spaces, dots and dashes are how people group the digits; anything else
	// is refused. (By hand: this runs for every member a page shows.)
	b := make([]byte, 0, len(s))
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r == ' ' || r == '.' || r == '-':
		case r >= '0' && r <= '9':
			b = append(b, byte(r))
		default:
			return IDNumber{}, &IDError{"format", "must contain digits only"}
		}
	}
	d := string(b)
	switch len(d) {
	case 12:
		return IDNumber{Kind: CCCD, Digits: d}, nil
	case 9:
		return IDNumber{Kind: CMND, Digits: d}, nil
	}
	return IDNumber{}, &IDError{"format", "must be 12 digits (CCCD) or 9 digits (old CMND)"}
}

// CheckPerson verifies that a CCCD agrees with the person's sex and birth
// year: the fourth digit encodes century and sex (1900s: 0 male, 1 female;
// 2000s: 2/3; 2100s: 4/5; 2200s: 6/7; 2300s: 8/9), the fifth and sixth the
// last two digits of the birth year. A CMND carries neither and passes. A zero
// birth year or empty sex skips that part of the check.
func (id IDNumber) CheckPerson(sex Sex, birthYear int) error {
	if id.Kind != CCCD {
		return nil
	}
	g := int(id.Digits[3] - '0')
	century := 1900 + 100*(g/2)
	female := g%2 == 1
	if sex != "" && (sex == Female) != female {
		want := "male"
		if female {
			want = "female"
		}
		return &IDError{"century_sex", fmt.Sprintf("its sex digit says %s, but the member is recorded as %s", want, sex)}
	}
	if birthYear != 0 {
		yy := int(id.Digits[4]-'0')*10 + int(id.Digits[5]-'0')
		if idYear := century + yy; idYear != birthYear {
			return &IDError{"birth_year", fmt.Sprintf("it says born in %d, but the member's birth year is %d", idYear, birthYear)}
		}
	}
	return nil
}

// Masked shows the first digit and the last two: 0***********89.
func (id IDNumber) Masked() string { return Mask(id.Digits) }

// Mask hides all but the first digit and the last two of an ID number.
func Mask(digits string) string {
	if len(digits) < 4 {
		return strings.Repeat("*", len(digits))
	}
	return digits[:1] + strings.Repeat("*", len(digits)-3) + digits[len(digits)-2:]
}
