package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ansinh/ansinh/internal/household"
)

// GenOptions size a generated province.
type GenOptions struct {
	Households int
	Seed       uint64
	Province   string                        // GSO code, e.g. 91
	PoorRate   func(district string) float64 // by district name; nil: 2%
	Tag        string                        // marks this run's household codes (G-<tag>-n)
}

// GenResult is what a generation loaded and how fast.
type GenResult struct {
	Households, Members, AuditEvents int
	Reviews, Assessments             int
	Enrollments, Deliveries          int
	YearsOnLists                     int // classification history rows (the recognized lists of past years)
	Elapsed                          time.Duration
	Phases                           []Phase // where the time went, in order
}

// Phase is one step of a generation and how long it took.
type Phase struct {
	Name    string
	Elapsed time.Duration
}

// phase times the steps of a generation.
func (r *GenResult) phase(name string, since *time.Time) {
	now := time.Now()
	r.Phases = append(r.Phases, Phase{name, now.Sub(*since)})
	*since = now
}

// RowsPerSecond is the load rate over every row written.
func (r GenResult) RowsPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Households+r.Members+r.AuditEvents+r.Reviews+r.Assessments+r.Enrollments+r.Deliveries) / r.Elapsed.Seconds()
}

var (
	families = []string{"Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Hoàng", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý",
		"Phan", "Trương", "Danh", "Thạch", "Lâm", "Sơn", "Kim", "Chau"}
	middlesM = []string{"Văn", "Hữu", "Minh", "Thanh", "Quốc", "Công", "Đức", "Xuân"}
	middlesF = []string{"Thị", "Ngọc", "Thu", "Kim", "Thanh", "Mỹ", "Bích", "Diệu"}
	givensM  = []string{"An", "Bình", "Cường", "Dũng", "Đức", "Hải", "Hùng", "Khánh", "Long", "Minh", "Nam", "Phúc", "Quang",
		"Sơn", "Tài", "Thắng", "Trung", "Vinh", "Tuấn", "Hiếu", "Lộc", "Phát", "Tín", "Nhân"}
	givensF = []string{"Anh", "Bích", "Châu", "Diệu", "Hà", "Hằng", "Hoa", "Hồng", "Lan", "Linh", "Mai", "Ngân", "Nhung",
		"Phương", "Thảo", "Trang", "Tuyết", "Yến", "Vy", "Nhi", "Thư", "Uyên", "Loan", "Kiều"}
)

type commune struct{ edition, code, path, district string }

// person is one generated member before their name and ID are drawn.
type person struct {
	sex  household.Sex
	year int
	rel  string
}

// Generate loads a synthetic province by COPY, deterministically for a seed:
// households per commune with classifications drawn at the district's poverty
// rate, members with Vietnamese names, ages and CCCDs consistent with their
// birth year and sex (sealed with the registry's key), and a creation event
// in the audit trail for each household.
func Generate(ctx context.Context, url string, protect *household.IDProtector, o GenOptions) (GenResult, error) {
	start := time.Now()
	var res GenResult
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return res, fmt.Errorf("bench: generate: %w", err)
	}
	defer conn.Close(ctx)
	// ltree is an extension's type: pgx learns its OID to copy paths in binary.
	var ltreeOID uint32
	if err := conn.QueryRow(ctx, `SELECT 'ltree'::regtype::oid`).Scan(&ltreeOID); err != nil {
		return res, fmt.Errorf("bench: generate: %w", err)
	}
	conn.TypeMap().RegisterType(&pgtype.Type{Name: "ltree", OID: ltreeOID, Codec: pgtype.LtreeCodec{}})
	communes, err := loadCommunes(ctx, conn, o.Province)
	if err != nil {
		return res, err
	}
	if len(communes) == 0 {
		return res, fmt.Errorf("bench: generate: no communes in %s", o.Province)
	}
	rate := o.PoorRate
	if rate == nil {
		rate = func(string) float64 { return 0.02 }
	}
	// One transaction: a load cut short leaves nothing behind. As the tables'
	// owner, the secondary indexes of households and members are dropped for
	// the COPY and built again at the end (in the same transaction, so never
	// lost): a bulk build is several times faster than keeping a trigram
	// GiST and a GIN up to date row by row.
	tx, err := conn.Begin(ctx)
	if err != nil {
		return res, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit it does nothing
	// It writes the audit trail and the sync feed after other tables: as a
	// role other than the application's it must say so first (migration 00020).
	if _, err := tx.Exec(ctx, `SELECT ansinh_register_writer()`); err != nil {
		return res, err
	}
	// Index builds sort in memory rather than in temporary files (this
	// transaction only).
	if _, err := tx.Exec(ctx, `SET LOCAL maintenance_work_mem = '256MB'`); err != nil {
		return res, err
	}
	rebuild, err := dropSecondaryIndexes(ctx, tx, "households", "members")
	if err != nil {
		return res, err
	}
	mark := time.Now()
	g := &generator{r: rand.New(rand.NewPCG(o.Seed, o.Seed^0xda942042e4dd58b5)), o: o, rate: rate, year: time.Now().Year(),
		protect: protect, communes: communes}
	var hRows, mRows [][]any
	for i := range o.Households {
		h, ms, err := g.household(i)
		if err != nil {
			return res, err
		}
		hRows, mRows = append(hRows, h), append(mRows, ms...)
		if len(hRows) >= 5000 || i == o.Households-1 {
			if err := copyBatch(ctx, tx, hRows, mRows); err != nil {
				return res, err
			}
			res.Households += len(hRows)
			res.Members += len(mRows)
			hRows, mRows = hRows[:0], mRows[:0]
		}
	}
	res.phase("copy households and members", &mark)
	for _, def := range rebuild {
		if _, err := tx.Exec(ctx, def); err != nil {
			return res, fmt.Errorf("bench: rebuild index: %w", err)
		}
		res.phase(indexName(def), &mark)
	}
	if err := generateHistory(ctx, tx, o, g.year, &res, &mark); err != nil {
		return res, err
	}
	if err := settleLoaded(ctx, tx, &res, &mark); err != nil {
		return res, err
	}
	if err := tx.Commit(ctx); err != nil {
		return res, err
	}
	res.phase("commit", &mark)
	// VACUUM sets the visibility map, as autovacuum would on a settled
	// database, so that index-only scans (the duplicate scan's block) work.
	for _, q := range []string{`VACUUM (ANALYZE) households, members`, `ANALYZE assessments, enrollments, deliveries`} {
		if _, err := conn.Exec(ctx, q); err != nil && !strings.Contains(err.Error(), "permission") {
			return res, err
		}
	}
	res.phase("vacuum and analyze", &mark)
	res.Elapsed = time.Since(start)
	return res, nil
}

// settleLoaded leaves the loaded registry as a settled one: its duplicates
// settled long ago (its people, queued by the COPY's trigger, are not left
// for the scan) and its poverty rollup built (rather than by the server
// under test: the COPYs' triggers marked every key).
func settleLoaded(ctx context.Context, tx pgx.Tx, res *GenResult, mark *time.Time) error {
	if _, err := tx.Exec(ctx, `DELETE FROM duplicate_scans`); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `SELECT poverty_rollup_refresh(NULL, 2147483647, true)`); err != nil {
		return err
	}
	res.phase("poverty rollup", mark)
	return nil
}

// loadCommunes lists the province's communes with their district's name.
func loadCommunes(ctx context.Context, conn *pgx.Conn, province string) ([]commune, error) {
	rows, err := conn.Query(ctx, `SELECT c.edition, c.code, c.path::text, d.name FROM areas c
		JOIN areas d ON d.edition = c.edition AND d.code = c.parent_code
		WHERE c.edition = area_edition_in_use() AND c.level = 'commune' AND c.path <@ $1::ltree ORDER BY c.code`, province)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (commune, error) {
		var c commune
		err := row.Scan(&c.edition, &c.code, &c.path, &c.district)
		return c, err
	})
}

// generator draws households and their people from one random stream: the
// same seed, the same draws in the same order, the same province.
type generator struct {
	r        *rand.Rand
	o        GenOptions
	rate     func(district string) float64
	year     int
	protect  *household.IDProtector
	communes []commune
}

// household draws the i-th household: its row and its members' rows.
func (g *generator) household(i int) (hRow []any, mRows [][]any, err error) {
	r := g.r
	c := g.communes[r.IntN(len(g.communes))]
	id := uuid.Must(uuid.NewV7())
	class := "none"
	switch x := r.Float64(); {
	case x < g.rate(c.district):
		class = "poor"
	case x < 2.5*g.rate(c.district):
		class = "near_poor"
	case x < 2.5*g.rate(c.district)+0.1:
		class = "average"
	}
	// Established over 2012-2020, from the index (the draws stay as they
	// were): a province's registry grows over the years its trend covers.
	established := time.Date(2012, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, (i*37)%3000)
	hRow = []any{id, fmt.Sprintf("G-%s-%d", g.o.Tag, i), c.edition, c.code, c.path, fmt.Sprintf("Ấp %d", 1+r.IntN(9)),
		fmt.Sprintf("tổ %d", 1+r.IntN(12)), "rural", class, established}
	family := families[r.IntN(len(families))]
	for j, p := range g.people() {
		middle, given := middlesM[r.IntN(len(middlesM))], givensM[r.IntN(len(givensM))]
		if p.sex == household.Female {
			middle, given = middlesF[r.IntN(len(middlesF))], givensF[r.IntN(len(givensF))]
		}
		var kind, sealed, lookup any
		if g.year-p.year >= 14 {
			// Birth province 001-090 (never the demo's 091), unique per run and person.
			n := i*8 + j // at most 8 people a household
			idn := household.IDNumber{Kind: household.CCCD, Digits: CCCD(1+n%90, p.year, p.sex, (n/90)%1_000_000)}
			b, err := g.protect.Seal(idn)
			if err != nil {
				return nil, nil, err
			}
			kind, sealed, lookup = "cccd", b, g.protect.Lookup(idn)
		}
		age := g.year - p.year
		mRows = append(mRows, []any{uuid.Must(uuid.NewV7()), id, family + " " + middle + " " + given, int16(p.year), string(p.sex),
			kind, sealed, lookup, p.rel, age >= 6 && age <= 18, "present"})
	}
	return hRow, mRows, nil
}

// people draws a household's members: a head, most often a spouse, up to
// four children and sometimes a grandparent.
func (g *generator) people() []person {
	r, year := g.r, g.year
	headYear := year - 25 - r.IntN(50)
	people := []person{{household.Male, headYear, "head"}}
	if r.IntN(10) < 8 {
		people = append(people, person{household.Female, headYear + r.IntN(7) - 3, "spouse"})
	}
	for range r.IntN(5) {
		sex := household.Male
		if r.IntN(2) == 0 {
			sex = household.Female
		}
		people = append(people, person{sex, min(year, headYear+20+r.IntN(20)), "child"})
	}
	if r.IntN(4) == 0 { // a grandparent living with them
		sex := household.Female
		if r.IntN(3) == 0 {
			sex = household.Male
		}
		people = append(people, person{sex, max(headYear-22-r.IntN(10), year-95), "parent"})
	}
	return people
}

// indexName is the name in a CREATE INDEX statement.
func indexName(def string) string {
	if f := strings.Fields(def); len(f) > 2 && f[1] == "INDEX" {
		return "index " + f[2]
	}
	return def
}

// dropSecondaryIndexes drops the indexes of the tables that enforce nothing
// (not unique, not the primary key) when the connection owns the tables, and
// returns their definitions to build them again; otherwise it does nothing.
func dropSecondaryIndexes(ctx context.Context, tx pgx.Tx, tables ...string) ([]string, error) {
	var owner bool
	if err := tx.QueryRow(ctx, `SELECT bool_and(pg_has_role(current_user, c.relowner, 'USAGE')) FROM pg_class c
		WHERE c.oid = ANY($1::regclass[])`, tables).Scan(&owner); err != nil || !owner {
		return nil, err
	}
	rows, err := tx.Query(ctx, `SELECT n.nspname, c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i
		JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE i.indrelid = ANY($1::regclass[]) AND NOT i.indisunique AND NOT i.indisprimary ORDER BY 2`, tables)
	if err != nil {
		return nil, err
	}
	type index struct {
		name pgx.Identifier
		def  string
	}
	indexes, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (index, error) {
		var schema, name, def string
		err := row.Scan(&schema, &name, &def)
		return index{pgx.Identifier{schema, name}, def}, err
	})
	if err != nil {
		return nil, err
	}
	var names []pgx.Identifier
	var defs []string
	for _, ix := range indexes {
		names, defs = append(names, ix.name), append(defs, ix.def)
	}
	for _, n := range names {
		if _, err := tx.Exec(ctx, "DROP INDEX "+n.Sanitize()); err != nil {
			return nil, fmt.Errorf("bench: drop index %s: %w", n, err)
		}
	}
	return defs, nil
}

func copyBatch(ctx context.Context, conn pgx.Tx, hRows, mRows [][]any) error {
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"households"}, []string{"id", "code", "commune_edition", "commune_code", "area_path", "village",
		"address", "area_type", "classification", "established_on"}, pgx.CopyFromRows(hRows)); err != nil {
		return fmt.Errorf("bench: copy households: %w", err)
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"members"}, []string{"id", "household_id", "full_name", "birth_year", "sex",
		"id_kind", "id_sealed", "id_lookup", "relationship", "student", "status"}, pgx.CopyFromRows(mRows)); err != nil {
		return fmt.Errorf("bench: copy members: %w", err)
	}
	return nil
}

// uuid7SQL mints a time-ordered id in SQL like the UUIDv7 the API mints
// (millisecond clock, then random bits), so generated rows keep id order.
const uuid7SQL = `(lpad(to_hex(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || '7' ||
	substr(md5(random()::text), 1, 19))::uuid`

// classificationHistorySQL writes the recognized lists of the ten years
// before: each household's class a year drawn from its id (rates falling
// under the 2016-2020 standard, re-based in 2022), the last its class now;
// a row for each year it is on a list and the year it leaves, as the
// history import writes them.
const classificationHistorySQL = `WITH h AS (SELECT id, area_path, commune_code, established_on,
				CASE classification WHEN 'none' THEN 'average' ELSE classification END AS now, abs(hashtext(id::text || 'lists')) % 1000 AS x
			FROM households WHERE code LIKE $1),
		y (year, poor, near) AS (VALUES (2016, 90, 60), (2017, 72, 56), (2018, 55, 50), (2019, 38, 44), (2020, 22, 38), (2021, 19, 35),
			(2022, 40, 45), (2023, 36, 42), (2024, 32, 40)),
		yc AS (SELECT h.id, h.area_path, h.commune_code, y.year,
				CASE WHEN h.x < y.poor THEN 'poor' WHEN h.x < y.poor + y.near THEN 'near_poor' ELSE 'average' END AS cls
			FROM h JOIN y ON y.year < $2::int AND make_date(y.year, 12, 10) >= h.established_on
			UNION ALL SELECT h.id, h.area_path, h.commune_code, $2::int, h.now FROM h),
		c AS (SELECT yc.*, coalesce(lag(cls) OVER (PARTITION BY id ORDER BY year), 'none') AS prev FROM yc)
		INSERT INTO classification_changes (id, household_id, area_path, standard_code, from_class, to_class, effective_date, decision_number,
			lists, source, import_source, list_year)
		SELECT ` + uuid7SQL + `, c.id, c.area_path, CASE WHEN c.year < 2022 THEN 'QD59-2015' ELSE 'ND07-2021' END, c.prev, c.cls,
			make_date(c.year, 12, 10), c.commune_code || '/' || c.year || '/QĐ-UBND',
			CASE WHEN c.prev = 'none' THEN '{}'::text[] -- a first known class is on no list, as the import writes it
			ELSE array_remove(ARRAY[CASE WHEN c.cls = 'poor' AND c.prev <> 'poor' THEN 'newly_poor' END,
				CASE WHEN c.cls = 'near_poor' AND c.prev <> 'near_poor' THEN 'newly_near_poor' END,
				CASE WHEN c.prev = 'poor' AND c.cls <> 'poor' THEN 'escaped_poverty' END,
				CASE WHEN c.prev = 'near_poor' AND c.cls = 'average' THEN 'escaped_near_poverty' END], NULL) END,
			'history', 'bench', c.year
		FROM c WHERE c.cls IN ('poor', 'near_poor') OR c.prev IN ('poor', 'near_poor')`

// generateHistory writes, set-based in the database, what a province has
// behind its households: last year's periodic review of each commune,
// recognized, with an assessment of every classified household (income and
// deprivations consistent with its class); this year's health insurance
// enrollments of the members of poor and near-poor households, approved,
// each with its card delivered; and the audit events of all of it.
func generateHistory(ctx context.Context, conn pgx.Tx, o GenOptions, year int, res *GenResult, mark *time.Time) error {
	tag := "G-" + o.Tag + "-%"
	review := year - 1
	steps := []struct {
		name  string
		sql   string
		count *int
	}{
		{"reviews", `INSERT INTO reviews (id, kind, commune_edition, commune_code, area_path, year, reference_date, state, meeting_date, meeting_chair,
			meeting_attendees, posting_start, posting_end, decision_number, decision_date, decision_signer, note)
		SELECT ` + uuid7SQL + `, 'periodic', c.edition, c.code, c.path, $2::int, make_date($2::int, 9, 1), 'recognized', make_date($2::int, 11, 20),
			'Trưởng ấp (bench)', 40, make_date($2::int, 11, 21), make_date($2::int, 11, 28), c.code || '/QĐ-UBND', make_date($2::int, 12, 10),
			'Chủ tịch UBND (bench)', 'bench'
		FROM areas c WHERE c.edition = area_edition_in_use() AND c.level = 'commune'
			AND EXISTS (SELECT 1 FROM households h WHERE h.commune_edition = c.edition AND h.commune_code = c.code AND h.code LIKE $1)
		ON CONFLICT DO NOTHING`, &res.Reviews},
		// Incomes under the line for the poor and near-poor (3 to 6
		// deprivations for the poor, 0 to 2 otherwise), inside the average
		// band for the average class, drawn from the household's id.
		{"assessments", `WITH s AS (SELECT * FROM poverty_standards WHERE area_code IS NULL AND make_date($2::int, 9, 1) BETWEEN valid_from AND valid_to),
		h AS (SELECT h.id, h.commune_edition, h.commune_code, h.area_path, h.area_type, h.classification, abs(hashtext(h.id::text)) AS x,
				CASE WHEN h.area_type = 'urban' THEN s.income_line_urban ELSE s.income_line_rural END AS line,
				CASE WHEN h.area_type = 'urban' THEN s.average_max_urban ELSE s.average_max_rural END AS top, s.code AS std
			FROM households h, s WHERE h.code LIKE $1 AND h.classification <> 'none'),
		a AS (SELECT h.*, CASE h.classification WHEN 'poor' THEN 3 + h.x % 4 ELSE h.x % 3 END AS k,
				CASE WHEN h.classification = 'average' THEN h.line + 1000 + (h.x % ((h.top - h.line) / 1000 - 1)) * 1000
					ELSE h.line - (h.x % 600) * 1000 END AS income
			FROM h)
		INSERT INTO assessments (id, household_id, review_id, area_path, reference_date, standard_code, area_type, income_per_person,
			answers, deprivations, result, reasons, state, votes_agree, votes_attendees)
		SELECT ` + uuid7SQL + `, a.id, r.id, a.area_path, r.reference_date, a.std, a.area_type, a.income,
			(SELECT jsonb_agg(jsonb_build_object('indicator', i.code, 'deprived', i.position <= a.k, 'source', 'worker') ORDER BY i.position)
				FROM poverty_indicators i WHERE i.standard_code = a.std),
			a.k, a.classification,
			jsonb_build_array(jsonb_build_object('code', a.classification, 'detail', 'bench', 'income', a.income, 'line', a.line)),
			'recognized', 30 + a.x % 10, 40
		FROM a JOIN reviews r ON r.commune_edition = a.commune_edition AND r.commune_code = a.commune_code AND r.kind = 'periodic' AND r.year = $2::int
		ON CONFLICT DO NOTHING`, &res.Assessments},
		{"enrollments", `INSERT INTO enrollments (id, program_code, household_id, member_id, area_path, state, starts_on, ends_on, benefit, reason, evidence)
		SELECT ` + uuid7SQL + `, CASE h.classification WHEN 'poor' THEN 'bhyt_poor' ELSE 'bhyt_near_poor' END, h.id, m.id, h.area_path,
			'approved', make_date($2::int + 1, 1, 1), make_date($2::int + 1, 12, 31),
			jsonb_build_object('state_share_pct', CASE h.classification WHEN 'poor' THEN 100 ELSE 70 END),
			CASE h.classification WHEN 'poor' THEN 'is in a poor household' ELSE 'is in a near-poor household' END, 'bench'
		FROM households h JOIN members m ON m.household_id = h.id
		WHERE h.code LIKE $1 AND h.classification IN ('poor', 'near_poor') AND m.status = 'present'
		ON CONFLICT DO NOTHING`, &res.Enrollments},
		// This run's enrollments (by its tag) have no delivery yet. A NOT
		// EXISTS against deliveries here made it quadratic: the table was
		// analyzed empty, so the planner scanned it per row while this very
		// statement filled it (4+ minutes at 500k households).
		{"deliveries", `INSERT INTO deliveries (id, enrollment_id, kind, area_path, occurred_on, amount, expires_on, details)
		SELECT ` + uuid7SQL + `, e.id, 'health_insurance', e.area_path, e.starts_on + 14,
			(e.benefit->>'state_share_pct')::bigint * 1105650 / 100, e.ends_on,
			jsonb_build_object('card_number', 'HN491' || lpad((abs(hashtext(e.member_id::text)) % 10000000000)::text, 10, '0'),
				'valid_from', e.starts_on, 'valid_to', e.ends_on, 'issued_at', 'BHXH huyện (bench)',
				'premium', (e.benefit->>'state_share_pct')::bigint * 1105650 / 100)
		FROM enrollments e JOIN households h ON h.id = e.household_id
		WHERE h.code LIKE $1 AND e.evidence = 'bench' AND e.program_code IN ('bhyt_poor', 'bhyt_near_poor')`, &res.Deliveries},
		{"classification history", classificationHistorySQL, &res.YearsOnLists},
		// The audit trail: a creation event per household, a recognition per
		// review and an approval per enrollment.
		{"audit events", `INSERT INTO audit_events (id, action, entity_type, entity_id, area_path, doc)
		SELECT ` + uuid7SQL + `, x.action, x.entity_type, x.entity_id, x.area_path,
			json_build_object('action', x.action, 'actor', 'system:bench-generate', 'after', x.after)
		FROM (SELECT 'household.create' AS action, 'household' AS entity_type, h.id::text AS entity_id, h.area_path,
				jsonb_build_object('code', h.code, 'commune', h.commune_code, 'classification', h.classification) AS after
			FROM households h WHERE h.code LIKE $1
			UNION ALL
			SELECT 'review.recognize', 'review', r.id::text, r.area_path, jsonb_build_object('year', r.year, 'decision', r.decision_number)
			FROM reviews r WHERE r.note = 'bench' AND r.year = $2::int
			UNION ALL
			SELECT 'enrollment.approve', 'enrollment', e.id::text, e.area_path, jsonb_build_object('program', e.program_code, 'member', e.member_id)
			FROM enrollments e JOIN households h ON h.id = e.household_id WHERE h.code LIKE $1 AND e.evidence = 'bench') x`, &res.AuditEvents},
	}
	for _, st := range steps {
		// Statistics of what this transaction wrote so far, or the planner
		// takes the fresh tables for empty and joins them row by row.
		if _, err := conn.Exec(ctx, `ANALYZE households, members, reviews, assessments, enrollments, deliveries, classification_changes`); err != nil {
			return fmt.Errorf("bench: history: %w", err)
		}
		res.phase("analyze before "+st.name, mark)
		args := []any{tag}
		if strings.Contains(st.sql, "$2") {
			args = append(args, review)
		}
		ct, err := conn.Exec(ctx, st.sql, args...)
		if err != nil {
			return fmt.Errorf("bench: history: %w", err)
		}
		*st.count = int(ct.RowsAffected())
		res.phase(st.name, mark)
	}
	return nil
}

// CCCD is the 12 digits of a citizen identity card: the birth province
// (PPP), the century and sex (G: 0 and 1 for men and women born in the
// 1900s, 2 and 3 in the 2000s), the birth year's last two digits (YY) and a
// serial (NNNNNN), as IDNumber.CheckPerson expects them.
func CCCD(province, birthYear int, sex household.Sex, serial int) string {
	g := 2 * ((birthYear - 1900) / 100)
	if sex == household.Female {
		g++
	}
	return fmt.Sprintf("%03d%d%02d%06d", province, g, birthYear%100, serial)
}
