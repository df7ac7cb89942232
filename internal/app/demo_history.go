package app

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/household"
	"github.com/ansinh/ansinh/internal/importer"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// The demo's history: Kiên Giang's recognized lists of 2016-2024, loaded
// through the history import, so that the trend report tells the seed
// article's story (../shared/domain): the province's poverty rate falls
// 7.09 points over 2016-2020 (1.77 a year) to 1.69% at the start of 2021,
// with Giang Thành at 7.96%, U Minh Thượng 6.32%, An Minh 5.04%, and Phú
// Quốc, Kiên Hải and Rạch Giá under 1%; the multidimensional standard of
// 2022 re-baselines it, and the lists of 2022-2024 fall 0.2 points a year
// towards the rates the demo's own 2025 review draws with. Rates to two decimals need the right
// denominators: the demo adds households (codes TK-) to the districts until
// every one of those figures comes out exact.
const (
	demoHistoryFrom   = 2016
	demoHistoryTo     = demoReviewYear - 1
	demoProvince2016  = 8.78 // percent
	demoProvince2020  = 1.69
	demoNewStandard   = 2022 // the first list under the 2022-2025 standard
	demoFillerPrefix  = "TK-"
	demoUnderOnePct   = -1.0 // a district whose 2020 rate is under 1%
	demoDecisionMonth = time.December
	demoDecisionDay   = 10
)

// demoRates2020 are the seed's district rates at the start of 2021, in
// percent (demoUnderOnePct: under 1%).
var demoRates2020 = map[string]float64{"Giang Thành": 7.96, "U Minh Thượng": 6.32, "An Minh": 5.04,
	"Phú Quốc": demoUnderOnePct, "Kiên Hải": demoUnderOnePct, "Rạch Giá": demoUnderOnePct}

// demoFall is how far the rates fall each year from the 2022 re-baseline to
// the 2025 review (the target: about 0.2 points a year).
const demoFall = 0.002

// demoNearPoor are the near-poverty rates by year, in percent.
var demoNearPoor = map[int]float64{2016: 5.5, 2017: 4.9, 2018: 4.3, 2019: 3.6, 2020: 3.0, 2021: 2.8, 2022: 4.2, 2023: 3.9, 2024: 3.6}

// demoHousehold is a household of the demo as its history needs it.
type demoHousehold struct {
	id                  uuid.UUID
	code, commune, head string
	established         time.Time
}

// demoDistrict is a district of the demo province with its households
// (oldest first) and what its history must show.
type demoDistrict struct {
	path, name string
	communes   []string
	households []demoHousehold
	target     float64 // its 2020 rate, percent; 0: free; demoUnderOnePct: under 1%
	fillers    []time.Time
	poor       map[int]int // poor households by year
}

// decisionDate is the date of a year's lists.
func decisionDate(year int) time.Time {
	return time.Date(year, demoDecisionMonth, demoDecisionDay, 0, 0, 0, 0, time.UTC)
}

// yearEnd is 31 December of a year: the date a year's figures are taken on.
func yearEnd(year int) time.Time { return time.Date(year, 12, 31, 0, 0, 0, 0, time.UTC) }

// inExistence counts the households (and fillers) established by day.
func (d *demoDistrict) inExistence(day time.Time) int {
	n := 0
	for _, h := range d.households {
		if !h.established.After(day) {
			n++
		}
	}
	for _, f := range d.fillers {
		if !f.After(day) {
			n++
		}
	}
	return n
}

// pctRate is a rate in percent to two decimals, as reports show it.
func pctRate(part, whole int) float64 {
	if whole == 0 {
		return 0
	}
	return math.Round(10000*float64(part)/float64(whole)) / 100
}

// exactCount is the smallest count of households from min on, and of poor
// among them, whose rate shows as target to two decimals.
func exactCount(target float64, min int) (n, k int) {
	for n = max(min, 1); ; n++ {
		k = int(math.Round(target * float64(n) / 100))
		if pctRate(k, n) == target {
			return n, k
		}
	}
}

// seedDemoHistory loads the demo province's lists of 2016-2024 through the
// history import, once, after sizing its districts.
func seedDemoHistory(ctx context.Context, a *App, out io.Writer) error {
	var done bool
	if err := a.db.Conn(ctx).Raw(`SELECT EXISTS (SELECT 1 FROM classification_changes WHERE source = 'history' AND area_path <@ '91')`).
		Row().Scan(&done); err != nil || done {
		return err
	}
	start := time.Now()
	districts, err := loadDemoDistricts(ctx, a)
	if err != nil {
		return err
	}
	planDemoHistory(districts)
	fillers, err := addDemoFillers(ctx, a, districts)
	if err != nil {
		return err
	}
	planned := districts
	if districts, err = loadDemoDistricts(ctx, a); err != nil { // with the fillers, as the registry has them
		return err
	}
	for i, d := range districts {
		d.poor = planned[i].poor
	}
	file := demoHistoryFile(districts, planPoor(districts))
	res, err := a.imports.RunOf(ctx, importer.History, access.Everywhere(), importer.AllOrNothing, "csv", "demo:history",
		bytes.NewReader(file), int64(len(file)), nil)
	if err == nil && res.HouseholdsInvalid > 0 {
		err = fmt.Errorf("%d households refused: %+v", res.HouseholdsInvalid, res.Problems[:min(3, len(res.Problems))])
	}
	if err != nil {
		return fmt.Errorf("demo history: %w", err)
	}
	fmt.Fprintf(out, "demo seed: the lists of %d-%d, %d years of %d households (%d added to size the districts), loaded by the history import in %s\n",
		demoHistoryFrom, demoHistoryTo, res.YearsRecorded, res.HouseholdsValid, fillers, time.Since(start).Round(time.Second))
	return nil
}

// loadDemoDistricts reads the demo province's districts with their
// communes and households.
func loadDemoDistricts(ctx context.Context, a *App) ([]*demoDistrict, error) {
	var out []*demoDistrict
	byPath := map[string]*demoDistrict{}
	err := db.Each(a.db.Conn(ctx).Raw(`SELECT d.path::text, d.name, array_to_string(array_agg(c.code ORDER BY c.code), ',')
		FROM areas d JOIN areas c ON c.edition = d.edition AND c.parent_code = d.code
		WHERE d.edition = area_edition_in_use() AND d.level = 'district' AND d.path <@ '91' GROUP BY d.path, d.name ORDER BY d.path`),
		func(r db.Scanner) error {
			d := &demoDistrict{}
			var communes string
			if err := r.Scan(&d.path, &d.name, &communes); err != nil {
				return err
			}
			d.communes = strings.Split(communes, ",")
			for name, rate := range demoRates2020 {
				if strings.HasSuffix(d.name, name) {
					d.target = rate
				}
			}
			out, byPath[d.path] = append(out, d), d
			return nil
		})
	if err != nil {
		return nil, err
	}
	err = db.Each(a.db.Conn(ctx).Raw(`SELECT h.id, h.code, h.commune_code, subpath(h.area_path, 0, 2)::text, h.established_on,
		coalesce((SELECT m.full_name FROM members m WHERE m.household_id = h.id AND m.relationship = 'head' LIMIT 1), '')
		FROM households h WHERE h.area_path <@ '91' AND h.status = 'active' AND h.commune_edition = area_edition_in_use()
		ORDER BY h.established_on, h.code`), func(r db.Scanner) error {
		var h demoHousehold
		var district string
		if err := r.Scan(&h.id, &h.code, &h.commune, &district, &h.established, &h.head); err != nil {
			return err
		}
		if d := byPath[district]; d != nil && h.head != "" {
			d.households = append(d.households, h)
		}
		return nil
	})
	return out, err
}

// planDemoHistory decides the households each district must add (its
// fillers) so that the seed's figures come out exact: the province's rate
// of 2016 (fillers established in 2015, in the free districts), the named
// districts' rates of 2020 (fillers of 2019 in them), and the province's
// rate of 2020 (fillers of 2019 in the free districts), each sized so that
// some count of poor households shows the rate to two decimals.
func planDemoHistory(districts []*demoDistrict) {
	early, late := time.Date(2015, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(2019, 6, 1, 0, 0, 0, 0, time.UTC)
	var free []*demoDistrict
	for _, d := range districts {
		if d.target == 0 {
			free = append(free, d)
		}
	}
	grow := func(when time.Time) { // the free district with the fewest households takes one more
		slices.SortStableFunc(free, func(x, y *demoDistrict) int { return x.inExistence(yearEnd(2020)) - y.inExistence(yearEnd(2020)) })
		free[0].fillers = append(free[0].fillers, when)
	}
	total := func(day time.Time) int {
		n := 0
		for _, d := range districts {
			n += d.inExistence(day)
		}
		return n
	}
	for n := total(yearEnd(2016)); !provinceExact(demoProvince2016, n, 0); n = total(yearEnd(2016)) {
		grow(early)
	}
	fixed := 0
	for _, d := range districts {
		d.poor = map[int]int{}
		switch n := d.inExistence(yearEnd(2020)); {
		case d.target > 0:
			size, k := exactCount(d.target, n)
			for range size - n {
				d.fillers = append(d.fillers, late)
			}
			d.poor[2020], fixed = k, fixed+k
		case d.target == demoUnderOnePct:
			d.poor[2020] = (n - 1) / 100
			fixed += d.poor[2020]
		}
	}
	for n := total(yearEnd(2020)); !provinceExact(demoProvince2020, n, fixed); n = total(yearEnd(2020)) {
		grow(late)
	}
}

// provinceExact reports whether n households admit a count of poor, at
// least least, that shows as rate.
func provinceExact(rate float64, n, least int) bool {
	k := int(math.Round(rate * float64(n) / 100))
	return k >= least && pctRate(k, n) == rate
}

// addDemoFillers registers the planned fillers through the registry: a
// head each, in the district's communes in turn.
func addDemoFillers(ctx context.Context, a *App, districts []*demoDistrict) (int, error) {
	var hs []household.Household
	for _, d := range districts {
		for i, when := range d.fillers {
			commune := d.communes[i%len(d.communes)]
			f := household.HouseholdFields{Household: household.Household{CommuneCode: commune, Code: fmt.Sprintf("%s%s-%03d", demoFillerPrefix,
				commune, i+1), Village: fmt.Sprintf("Ấp %d", 1+i%5), AreaType: "rural"}, EstablishedOn: when.Format(time.DateOnly),
				Members: []household.MemberFields{{FullName: demoFillerNames[i%len(demoFillerNames)], BirthDate: strconv.Itoa(1950 + i%40),
					Sex: []string{"male", "female"}[i%2], Relationship: "head"}}}
			h, err := household.NewHousehold(f, time.Now())
			if err != nil {
				return 0, fmt.Errorf("demo filler %s: %w", f.Household.Code, err)
			}
			hs = append(hs, h)
		}
	}
	for len(hs) > 0 {
		batch := hs[:min(500, len(hs))]
		hs = hs[len(batch):]
		if err := a.db.WithTx(ctx, func(ctx context.Context) error {
			_, _, err := a.households.InsertBatch(ctx, "demo:history", batch)
			return err
		}); err != nil {
			return 0, err
		}
	}
	n := 0
	for _, d := range districts {
		n += len(d.fillers)
	}
	return n, nil
}

var demoFillerNames = []string{"Nguyễn Văn Tư", "Trần Thị Năm", "Lê Văn Sáu", "Phạm Thị Bảy", "Huỳnh Văn Tám", "Danh Sóc", "Thị Sa Rết",
	"Võ Văn Chín", "Đặng Thị Mười", "Bùi Văn Út"}

// planPoor is how many households of each district are poor and near-poor
// each year: 2020 as planned; 2016 the province's rate shared by the
// districts' 2020 rates plus the fall; the years between on the straight
// line; 2021 a little under 2020; the re-baseline's years 0.2 points a year
// above the rates of the 2025 review. The province's 2016 count is made exact by the largest
// remainders.
func planPoor(districts []*demoDistrict) map[*demoDistrict]map[int][2]int {
	rate20 := map[*demoDistrict]float64{}
	n20 := 0
	for _, d := range districts {
		n := d.inExistence(yearEnd(2020))
		n20 += n
		if _, ok := d.poor[2020]; !ok {
			d.poor[2020] = 0
		}
		rate20[d] = float64(d.poor[2020]) / float64(max(n, 1))
	}
	// The free districts share the province's rest of 2020 by size.
	rest := int(math.Round(demoProvince2020*float64(n20)/100)) - sum(districts, func(d *demoDistrict) int { return d.poor[2020] })
	share(districts, rest, 2020, func(d *demoDistrict) float64 {
		if d.target != 0 {
			return 0
		}
		return float64(d.inExistence(yearEnd(2020)))
	})
	for _, d := range districts {
		rate20[d] = float64(d.poor[2020]) / float64(max(d.inExistence(yearEnd(2020)), 1))
	}
	n16 := sum(districts, func(d *demoDistrict) int { return d.inExistence(yearEnd(2016)) })
	share(districts, int(math.Round(demoProvince2016*float64(n16)/100)), 2016, func(d *demoDistrict) float64 {
		return float64(d.inExistence(yearEnd(2016))) * (rate20[d] + (demoProvince2016-demoProvince2020)/100)
	})
	out := map[*demoDistrict]map[int][2]int{}
	for _, d := range districts {
		r16 := float64(d.poor[2016]) / float64(max(d.inExistence(yearEnd(2016)), 1))
		out[d] = map[int][2]int{}
		for y := demoHistoryFrom; y <= demoHistoryTo; y++ {
			n := float64(d.inExistence(yearEnd(y)))
			var poor int
			switch {
			case y == 2016 || y == 2020:
				poor = d.poor[y]
			case y < 2020:
				poor = int(math.Round(n * (r16 + (rate20[d]-r16)*float64(y-2016)/4)))
			case y < demoNewStandard:
				poor = int(math.Round(n * rate20[d] * 0.85))
			default: // 0.2 points a year above the rate the 2025 review draws with
				poor = int(math.Round(n * (DemoPovertyRate(d.name) + demoFall*float64(demoReviewYear-y))))
			}
			out[d][y] = [2]int{poor, int(math.Round(n * demoNearPoor[y] / 100))}
		}
	}
	return out
}

func sum(districts []*demoDistrict, f func(*demoDistrict) int) int {
	n := 0
	for _, d := range districts {
		n += f(d)
	}
	return n
}

// share gives total poor households of a year to the districts by weight
// (largest remainders), added to what they have.
func share(districts []*demoDistrict, total, year int, weight func(*demoDistrict) float64) {
	var w float64
	for _, d := range districts {
		w += weight(d)
	}
	if total <= 0 || w == 0 {
		return
	}
	type part struct {
		d    *demoDistrict
		frac float64
	}
	var parts []part
	given := 0
	for _, d := range districts {
		x := float64(total) * weight(d) / w
		d.poor[year] += int(x)
		given += int(x)
		parts = append(parts, part{d, x - math.Floor(x)})
	}
	slices.SortStableFunc(parts, func(a, b part) int {
		switch {
		case a.frac > b.frac:
			return -1
		case a.frac < b.frac:
			return 1
		}
		return 0
	})
	for i := 0; given < total; i++ {
		parts[i%len(parts)].d.poor[year]++
		given++
	}
}

// demoHistoryFile is the history file of the lists: in each district and
// year the oldest households listed are the poor, the next the near-poor;
// a household leaving the lists gets its year as average (the escape list).
func demoHistoryFile(districts []*demoDistrict, counts map[*demoDistrict]map[int][2]int) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"year", "commune_code", "household_code", "head_name", "classification", "decision_number", "decision_date"})
	for _, d := range districts {
		classes := map[uuid.UUID]map[int]string{}
		for y := demoHistoryFrom; y <= demoHistoryTo; y++ {
			var listed []demoHousehold
			for _, h := range d.households {
				if !h.established.After(decisionDate(y)) {
					listed = append(listed, h)
				}
			}
			poor, near := min(counts[d][y][0], len(listed)), counts[d][y][1]
			for i, h := range listed[:min(poor+near, len(listed))] {
				if classes[h.id] == nil {
					classes[h.id] = map[int]string{}
				}
				classes[h.id][y] = map[bool]string{true: "poor", false: "near_poor"}[i < poor]
			}
		}
		for _, h := range d.households {
			listed := false
			for y := demoHistoryFrom; y <= demoHistoryTo; y++ {
				class, on := classes[h.id][y]
				if !on && !listed {
					continue
				}
				if !on {
					class = "average"
				}
				listed = on
				_ = w.Write([]string{strconv.Itoa(y), h.commune, h.code, h.head, class,
					fmt.Sprintf("%02d%s/QĐ-UBND", y%100, h.commune[2:]), decisionDate(y).Format(time.DateOnly)})
			}
		}
	}
	w.Flush()
	return buf.Bytes()
}
