package area

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// The 2025 reorganization as data: which unit of the old (three-tier)
// edition became which commune of the new (two-tier) one. The mapping is a
// public compilation, not the legal text, so a deployment loads its own
// corrected file: nothing is applied before CheckMapping accepts it against
// both editions.

// Unit is one administrative unit of an edition as the official list's CSV
// gives it (internal/area/data).
type Unit struct {
	Level, Code, ParentCode, Name, FullName, NameEN, UnitType string
}

var unitHeader = []string{"level", "code", "parent_code", "name", "full_name", "name_en", "unit_type"}

// ReadUnits reads an edition's units from CSV with unitHeader's columns.
func ReadUnits(r io.Reader) ([]Unit, error) {
	var out []Unit
	err := readCSV(r, unitHeader, func(line int, f []string) error {
		if !ValidCode(f[1]) || (f[2] != "" && !ValidCode(f[2])) {
			return fmt.Errorf("line %d: code %q or parent %q is not an area code", line, f[1], f[2])
		}
		out = append(out, Unit{Level: f[0], Code: f[1], ParentCode: f[2], Name: f[3], FullName: f[4], NameEN: f[5], UnitType: f[6]})
		return nil
	})
	return out, err
}

// Succession is one row of a reorganization mapping: an old unit (a commune,
// or a district that had no communes) and one of the new communes it
// became. A divided old commune has a row per successor, each marked
// Divided; which of its households go where is decided village by village.
type Succession struct {
	Line                                 int // in the file, for problems
	OldCommune, OldDistrict, OldProvince string
	NewCommune, NewProvince              string
	Divided                              bool
}

// Old is the old unit's code: the commune's, or the district's for a
// district that had no communes.
func (s Succession) Old() string {
	if s.OldCommune != "" {
		return s.OldCommune
	}
	return s.OldDistrict
}

var mappingHeader = []string{"old_commune_code", "old_district_code", "old_province_code", "new_commune_code", "new_province_code", "divided"}

// ReadMapping reads a reorganization mapping from CSV with mappingHeader's
// columns. It checks each row's shape; CheckMapping checks the whole.
func ReadMapping(r io.Reader) ([]Succession, error) {
	var out []Succession
	err := readCSV(r, mappingHeader, func(line int, f []string) error {
		s := Succession{Line: line, OldCommune: f[0], OldDistrict: f[1], OldProvince: f[2], NewCommune: f[3], NewProvince: f[4]}
		switch f[5] {
		case "true":
			s.Divided = true
		case "false":
		default:
			return fmt.Errorf("line %d: divided is %q; want true or false", line, f[5])
		}
		for _, c := range []string{s.OldDistrict, s.OldProvince, s.NewCommune, s.NewProvince} {
			if !ValidCode(c) {
				return fmt.Errorf("line %d: %q is not an area code (only old_commune_code may be empty)", line, c)
			}
		}
		if s.OldCommune != "" && !ValidCode(s.OldCommune) {
			return fmt.Errorf("line %d: %q is not an area code", line, s.OldCommune)
		}
		out = append(out, s)
		return nil
	})
	return out, err
}

// readCSV is ReadCSV.
func readCSV(r io.Reader, header []string, row func(line int, fields []string) error) error {
	return ReadCSV(r, header, row)
}

// ReadCSV reads the lists a province supplies (mappings, village tables,
// designations): it checks the header (an Excel byte-order mark allowed) and
// hands each record, with the header's number of fields and numbered as a
// line of the file, to row.
func ReadCSV(r io.Reader, header []string, row func(line int, fields []string) error) error {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true // every record then has the header's fields
	first, err := cr.Read()
	if err != nil {
		return fmt.Errorf("header: %w", err)
	}
	if len(first) > 0 {
		first[0] = strings.TrimPrefix(first[0], "\ufeff")
	}
	if !slices.Equal(first, header) {
		return fmt.Errorf("header is %s; want %s", strings.Join(first, ","), strings.Join(header, ","))
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		line, _ := cr.FieldPos(0)
		if err := row(line, rec); err != nil {
			return err
		}
	}
}

// MappingProblems is every reason a mapping was refused, each naming the
// unit or the line.
type MappingProblems []string

func (p MappingProblems) Error() string { return refused("the mapping", p) }

// refused says a file was refused, with its first problems.
func refused(what string, p []string) string {
	const shown = 20
	msg := fmt.Sprintf("%s is refused: %d problem(s): %s", what, len(p), strings.Join(p[:min(len(p), shown)], "; "))
	if len(p) > shown {
		msg += fmt.Sprintf("; and %d more", len(p)-shown)
	}
	return msg
}

// CheckMapping checks a mapping from the old edition's units (from) to the
// new one's (to) and returns every problem at once: each old commune, and each old
// district that has no communes, has at least one successor; each new
// commune has at least one predecessor; every code exists in its edition
// at the level and under the province the row says; a unit is marked
// divided exactly when it has more than one successor; no pair is given twice.
func CheckMapping(from, to []Unit, rows []Succession) error {
	oldUnits, newUnits := byCode(from), byCode(to)
	var p MappingProblems
	successors := map[string][]string{} // old unit -> new communes
	divided := map[string]bool{}
	predecessors := map[string]int{}
	for _, s := range rows {
		p = append(p, checkRow(oldUnits, newUnits, s)...)
		o := s.Old()
		if slices.Contains(successors[o], s.NewCommune) {
			p = append(p, fmt.Sprintf("line %d: %s → %s is given twice", s.Line, o, s.NewCommune))
		}
		if len(successors[o]) > 0 && divided[o] != s.Divided {
			p = append(p, fmt.Sprintf("line %d: the rows of %s disagree on divided", s.Line, o))
		}
		successors[o] = append(successors[o], s.NewCommune)
		divided[o] = s.Divided
		predecessors[s.NewCommune]++
	}
	hasCommunes := map[string]bool{}
	for _, u := range from {
		if u.Level == "commune" {
			hasCommunes[u.ParentCode] = true
		}
	}
	for _, u := range from {
		mapped := u.Level == "commune" || (u.Level == "district" && !hasCommunes[u.Code])
		switch n := len(successors[u.Code]); {
		case mapped && n == 0:
			p = append(p, fmt.Sprintf("old %s %s %s is not mapped", u.Level, u.Code, u.Name))
		case mapped && divided[u.Code] != (n > 1):
			p = append(p, fmt.Sprintf("old %s %s has %d successor(s) but is marked divided=%t", u.Level, u.Code, n, divided[u.Code]))
		}
	}
	for _, u := range to {
		if u.Level == "commune" && predecessors[u.Code] == 0 {
			p = append(p, fmt.Sprintf("new commune %s %s has no predecessor", u.Code, u.Name))
		}
	}
	if len(p) > 0 {
		return p
	}
	return nil
}

// checkRow checks that a row's codes exist in their editions, at their
// levels and under the provinces it names.
func checkRow(old, new map[string]Unit, s Succession) []string {
	var p []string
	bad := func(format string, args ...any) {
		p = append(p, fmt.Sprintf("line %d: ", s.Line)+fmt.Sprintf(format, args...))
	}
	district, ok := old[s.OldDistrict]
	switch {
	case !ok || district.Level != "district":
		bad("old district %s is not a district of the old edition", s.OldDistrict)
	case district.ParentCode != s.OldProvince:
		bad("old district %s is in province %s, not %s", s.OldDistrict, district.ParentCode, s.OldProvince)
	}
	if s.OldCommune != "" {
		if c, ok := old[s.OldCommune]; !ok || c.Level != "commune" {
			bad("old commune %s is not a commune of the old edition", s.OldCommune)
		} else if c.ParentCode != s.OldDistrict {
			bad("old commune %s is in district %s, not %s", s.OldCommune, c.ParentCode, s.OldDistrict)
		}
	}
	if c, ok := new[s.NewCommune]; !ok || c.Level != "commune" {
		bad("new commune %s is not a commune of the new edition", s.NewCommune)
	} else if c.ParentCode != s.NewProvince {
		bad("new commune %s is in province %s, not %s", s.NewCommune, c.ParentCode, s.NewProvince)
	}
	return p
}

func byCode(units []Unit) map[string]Unit {
	m := make(map[string]Unit, len(units))
	for _, u := range units {
		m[u.Code] = u
	}
	return m
}
