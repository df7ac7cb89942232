// Package area serves Vietnam's administrative units (provinces, districts,
// communes) with their GSO codes and ltree paths, searchable without
// diacritics. The units are loaded by migration from the edition shipped in
// internal/area/data.
package area

import (
	"regexp"

	"github.com/ansinh/ansinh/internal/platform/apperr"
)

// Area is one administrative unit.
type Area struct {
	Code       string
	Level      string
	ParentCode string
	Name       string
	FullName   string
	NameEN     string
	UnitType   string
	Path       string
}

// Filter narrows a listing.
type Filter struct {
	Parent string // direct children of this code
	Level  string // province, district, commune
	Query  string // name, with or without diacritics
}

var codeRe = regexp.MustCompile(`^[0-9]{2,6}$`)

// ValidCode reports whether code has the shape of a GSO area code.
func ValidCode(code string) bool { return codeRe.MatchString(code) }

// NewFilter parses a listing's filter: the parent, when given, must be an
// area code and the level one of province, district or commune.
func NewFilter(parent, level, query string) (Filter, error) {
	var fe apperr.FieldList
	if parent != "" && !ValidCode(parent) {
		fe.Add("parent", "invalid", "must be an area code")
	}
	switch level {
	case "", "province", "district", "commune":
	default:
		fe.Add("level", "invalid", "must be province, district or commune")
	}
	if err := fe.Err(); err != nil {
		return Filter{}, err
	}
	return Filter{Parent: parent, Level: level, Query: query}, nil
}
