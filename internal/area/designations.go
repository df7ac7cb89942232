package area

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/vn"
)

// Designation kinds (../shared/domain: commune designations).
const (
	CoastalExtremelyDifficult = "coastal_extremely_difficult" // xã đặc biệt khó khăn vùng bãi ngang ven biển và hải đảo
	EthnicMountainousZone     = "ethnic_mountainous_zone"     // vùng đồng bào dân tộc thiểu số và miền núi, khu vực I, II, III
	ExtremelyDifficultHamlet  = "extremely_difficult_hamlet"  // thôn, ấp đặc biệt khó khăn
	BorderCommune             = "border_commune"              // xã biên giới
	PoorDistrict              = "poor_district"               // huyện nghèo
)

// designationLevel is the level of unit each kind designates.
var designationLevel = map[string]string{CoastalExtremelyDifficult: "commune", EthnicMountainousZone: "commune",
	ExtremelyDifficultHamlet: "commune", BorderCommune: "commune", PoorDistrict: "district"}

// Designation is a unit's (or one hamlet's) designation for a period, by
// decision.
type Designation struct {
	ID             uuid.UUID
	Kind           string
	Zone           string // I, II, III for EthnicMountainousZone
	Edition, Code  string
	Path           string
	Village        string // the hamlet, for ExtremelyDifficultHamlet
	ValidFrom      time.Time
	ValidTo        *time.Time
	DecisionNumber string
	DecisionDate   time.Time
	Issuer         string
	Illustrative   bool
	line           int
}

// Label is the designation as program rules name it: the kind, with the
// zone for the ethnic-minority and mountainous region
// ("ethnic_mountainous_zone_III").
func (d Designation) Label() string {
	if d.Zone != "" {
		return d.Kind + "_" + d.Zone
	}
	return d.Kind
}

// Covers reports whether the designation is in force on day.
func (d Designation) Covers(day time.Time) bool {
	return !day.Before(d.ValidFrom) && (d.ValidTo == nil || !day.After(*d.ValidTo))
}

var designationHeader = []string{"kind", "zone", "area_edition", "area_code", "village", "valid_from", "valid_to",
	"decision_number", "decision_date", "issuer"}

// ReadDesignations reads a list of designations (CSV with designationHeader's
// columns; dates YYYY-MM-DD, valid_to empty while in force). It checks each
// row's shape; LoadDesignations checks them against the units.
func ReadDesignations(r io.Reader) ([]Designation, error) {
	var out []Designation
	var p DesignationProblems
	err := readCSV(r, designationHeader, func(line int, f []string) error {
		d := Designation{line: line, Kind: strings.TrimSpace(f[0]), Zone: strings.TrimSpace(f[1]), Edition: strings.TrimSpace(f[2]),
			Code: strings.TrimSpace(f[3]), Village: vn.NormalizeName(f[4]), DecisionNumber: strings.TrimSpace(f[7]), Issuer: strings.TrimSpace(f[9])}
		bad := func(format string, args ...any) {
			p = append(p, fmt.Sprintf("line %d: ", line)+fmt.Sprintf(format, args...))
		}
		var err error
		if d.ValidFrom, err = time.Parse(time.DateOnly, strings.TrimSpace(f[5])); err != nil {
			bad("valid_from %q is not a date (YYYY-MM-DD)", f[5])
		}
		if to := strings.TrimSpace(f[6]); to != "" {
			t, err := time.Parse(time.DateOnly, to)
			if err != nil {
				bad("valid_to %q is not a date (YYYY-MM-DD)", f[6])
			}
			d.ValidTo = &t
		}
		if d.DecisionDate, err = time.Parse(time.DateOnly, strings.TrimSpace(f[8])); err != nil {
			bad("decision_date %q is not a date (YYYY-MM-DD)", f[8])
		}
		out = append(out, d)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(p) > 0 {
		return nil, p
	}
	return out, nil
}

// DesignationProblems is every reason a list of designations was refused.
type DesignationProblems []string

func (p DesignationProblems) Error() string { return refused("the list of designations", p) }

// checkDesignation is what is wrong with one designation on its own.
func checkDesignation(d Designation, units map[[2]string]Area) []string {
	var p []string
	bad := func(format string, args ...any) {
		p = append(p, fmt.Sprintf("line %d: ", d.line)+fmt.Sprintf(format, args...))
	}
	level, ok := designationLevel[d.Kind]
	switch {
	case !ok:
		bad("kind %q; want one of coastal_extremely_difficult, ethnic_mountainous_zone, extremely_difficult_hamlet, border_commune, poor_district", d.Kind)
	case (d.Kind == EthnicMountainousZone) != (d.Zone != ""):
		bad("zone (I, II or III) is given exactly for ethnic_mountainous_zone")
	case d.Zone != "" && d.Zone != "I" && d.Zone != "II" && d.Zone != "III":
		bad("zone %q; want I, II or III", d.Zone)
	case (d.Kind == ExtremelyDifficultHamlet) != (d.Village != ""):
		bad("village (the hamlet) is given exactly for extremely_difficult_hamlet")
	}
	if u, found := units[[2]string{d.Edition, d.Code}]; !found {
		bad("no unit %s in edition %q", d.Code, d.Edition)
	} else if ok && u.Level != level {
		bad("%s designates a %s; %s is a %s", d.Kind, level, d.Code, u.Level)
	}
	if d.ValidTo != nil && d.ValidTo.Before(d.ValidFrom) {
		bad("valid_to is before valid_from")
	}
	if d.DecisionNumber == "" {
		bad("no decision_number")
	}
	return p
}

// unitKey names what a designation designates: its kind, unit and hamlet.
func unitKey(d Designation) string {
	return d.Kind + "/" + d.Edition + "/" + d.Code + "/" + vn.VillageKey(d.Village)
}

// designationKey identifies a designation: a list giving it again replaces it.
func designationKey(d Designation) string {
	return unitKey(d) + "/" + d.ValidFrom.Format(time.DateOnly)
}

// overlaps lists designations of one unit (or hamlet) and kind whose periods
// overlap: a list must not say a thing twice for a day.
func overlaps(ds []Designation) []string {
	var p []string
	by := map[string][]Designation{}
	for _, d := range ds {
		k := unitKey(d)
		for _, o := range by[k] {
			if o.ValidFrom.Equal(d.ValidFrom) {
				p = append(p, fmt.Sprintf("line %d: %s of %s %s from %s is given twice", d.line, d.Kind, d.Code, d.Village,
					d.ValidFrom.Format(time.DateOnly)))
				continue
			}
			if (o.ValidTo == nil || !o.ValidTo.Before(d.ValidFrom)) && (d.ValidTo == nil || !d.ValidTo.Before(o.ValidFrom)) {
				p = append(p, fmt.Sprintf("line %d: %s of %s %s overlaps the one from %s", d.line, d.Kind, d.Code, d.Village,
					o.ValidFrom.Format(time.DateOnly)))
			}
		}
		by[k] = append(by[k], d)
	}
	return p
}

// LoadDesignations checks a list against the units and the designations
// already loaded, and refuses it whole, listing every problem, or loads it
// in one transaction (a designation of the same kind, unit and start is
// replaced), audited. illustrative marks a list that is not real (the demo's).
func (s *Store) LoadDesignations(ctx context.Context, ds []Designation, illustrative bool, source string) (int, error) {
	var loaded int
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		if err := s.lockDesignations(ctx); err != nil {
			return err
		}
		units, err := s.unitsOf(ctx, ds)
		if err != nil {
			return err
		}
		existing, err := s.designationsLike(ctx, ds)
		if err != nil {
			return err
		}
		var p DesignationProblems
		for i := range ds {
			p = append(p, checkDesignation(ds[i], units)...)
			ds[i].Path, ds[i].Illustrative = units[[2]string{ds[i].Edition, ds[i].Code}].Path, illustrative
		}
		// A loaded designation the list gives again (same kind, unit and
		// start) is replaced: its old period does not count.
		replaced := map[string]bool{}
		for _, d := range ds {
			replaced[designationKey(d)] = true
		}
		kept := slices.DeleteFunc(existing, func(d Designation) bool { return replaced[designationKey(d)] })
		p = append(p, overlaps(append(kept, ds...))...)
		if len(p) > 0 {
			return p
		}
		if loaded, err = s.upsertDesignations(ctx, ds); err != nil {
			return err
		}
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "area.designations_load", EntityType: "designation_list",
			EntityID: source, After: map[string]any{"designations": loaded, "illustrative": illustrative}})
	})
	return loaded, db.MapError(err)
}
