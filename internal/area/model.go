// Package area serves Vietnam's administrative units (provinces, districts,
// communes) with their GSO codes and ltree paths, searchable without
// diacritics, in editions of the official list: the three-tier list of
// 2025-03 and the two-tier one in force since 2025-07-01, loaded by migration
// from internal/area/data with the reorganization's successions. A unit is
// (edition, code): a code may name different units in different editions.
package area

import (
	"regexp"
	"time"

	"github.com/ansinh/ansinh/internal/platform/apperr"
)

// Edition is one edition of the official list of units.
type Edition struct {
	Name      string
	Units     int
	ValidFrom time.Time
	ValidTo   *time.Time // nil while in force
	// InUse: new records are filed under this edition's units, and plain
	// codes in records are read in it.
	InUse  bool
	Source string
}

// Covers reports whether the edition is in force on day (a date in
// Asia/Ho_Chi_Minh).
func (e Edition) Covers(day time.Time) bool {
	return !day.Before(e.ValidFrom) && (e.ValidTo == nil || !day.After(*e.ValidTo))
}

// Area is one administrative unit.
type Area struct {
	Edition    string
	Code       string
	Level      string
	ParentCode string
	Name       string
	FullName   string
	NameEN     string
	UnitType   string
	Path       string
}

// Link is a predecessor or successor of a unit in another edition.
type Link struct {
	Area
	// Divided: the old unit was split among several successors.
	Divided bool
}

// Filter narrows a listing.
type Filter struct {
	Edition string // required
	Parent  string // direct children of this code
	Level   string // province, district, commune
	Query   string // name, with or without diacritics
}

var (
	codeRe    = regexp.MustCompile(`^[0-9]{2,6}$`)
	editionRe = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}$`)
)

// ValidEdition reports whether name has the shape of an edition (YYYY-MM).
func ValidEdition(name string) bool { return editionRe.MatchString(name) }

// ValidCode reports whether code has the shape of a GSO area code.
func ValidCode(code string) bool { return codeRe.MatchString(code) }

// NewFilter parses a listing's filter: the edition, when given, must look
// like one (the store says whether it exists), the parent an area code and
// the level one of province, district or commune.
func NewFilter(edition, parent, level, query string) (Filter, error) {
	var fe apperr.FieldList
	if edition != "" && !ValidEdition(edition) {
		fe.Add("edition", "invalid", "must be an edition of the list of units, such as 2026-04")
	}
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
	return Filter{Edition: edition, Parent: parent, Level: level, Query: query}, nil
}

// InUse is the edition records are filed under ("" if none is marked).
func InUse(editions []Edition) Edition {
	for _, e := range editions {
		if e.InUse {
			return e
		}
	}
	return Edition{}
}

// EditionOn is the edition in force on day, or, before the first edition,
// the first (the oldest list is the best there is).
func EditionOn(editions []Edition, day time.Time) string {
	return editionOn(editions, day, nil)
}

// RecordsEdition is the edition a figure of day is shown under by default:
// the one in force on day among those the records have been under (none
// newer than the edition in use), the first before them, the one in use
// after them.
func RecordsEdition(editions []Edition, day time.Time) string {
	use := InUse(editions)
	return editionOn(editions, day, &use)
}

// editionOn is the edition covering day among those not newer than last
// (nil: all); the first for a day before them all, else the newest of them.
func editionOn(editions []Edition, day time.Time, last *Edition) string {
	var first, newest Edition
	for _, e := range editions {
		if last != nil && e.ValidFrom.After(last.ValidFrom) {
			continue
		}
		if e.Covers(day) {
			return e.Name
		}
		if first.Name == "" || e.ValidFrom.Before(first.ValidFrom) {
			first = e
		}
		if newest.Name == "" || e.ValidFrom.After(newest.ValidFrom) {
			newest = e
		}
	}
	if first.Name != "" && day.Before(first.ValidFrom) {
		return first.Name
	}
	return newest.Name
}
