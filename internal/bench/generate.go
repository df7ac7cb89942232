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
	Elapsed                          time.Duration
}

// RowsPerSecond is the load rate over every row written.
func (r GenResult) RowsPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Households+r.Members+r.AuditEvents) / r.Elapsed.Seconds()
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

type commune struct{ code, path, district string }

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
	rows, err := conn.Query(ctx, `SELECT c.code, c.path::text, d.name FROM areas c JOIN areas d ON d.code = c.parent_code
		WHERE c.level = 'commune' AND c.path <@ $1::ltree ORDER BY c.code`, o.Province)
	if err != nil {
		return res, err
	}
	var communes []commune
	for rows.Next() {
		var c commune
		if err := rows.Scan(&c.code, &c.path, &c.district); err != nil {
			rows.Close()
			return res, err
		}
		communes = append(communes, c)
	}
	rows.Close()
	if len(communes) == 0 {
		return res, fmt.Errorf("bench: generate: no communes in %s", o.Province)
	}
	rate := o.PoorRate
	if rate == nil {
		rate = func(string) float64 { return 0.02 }
	}
	r := rand.New(rand.NewPCG(o.Seed, o.Seed^0xda942042e4dd58b5))
	year := time.Now().Year()
	var hRows, mRows [][]any
	for i := range o.Households {
		c := communes[r.IntN(len(communes))]
		id := uuid.Must(uuid.NewV7())
		class := "none"
		switch x := r.Float64(); {
		case x < rate(c.district):
			class = "poor"
		case x < 2.5*rate(c.district):
			class = "near_poor"
		case x < 2.5*rate(c.district)+0.1:
			class = "average"
		}
		hRows = append(hRows, []any{id, fmt.Sprintf("G-%s-%d", o.Tag, i), c.code, c.path, fmt.Sprintf("Ấp %d", 1+r.IntN(9)),
			fmt.Sprintf("tổ %d", 1+r.IntN(12)), "rural", class})
		family := families[r.IntN(len(families))]
		headYear := year - 25 - r.IntN(50)
		people := []struct {
			sex  household.Sex
			year int
			rel  string
		}{{household.Male, headYear, "head"}}
		if r.IntN(10) < 8 {
			people = append(people, struct {
				sex  household.Sex
				year int
				rel  string
			}{household.Female, headYear + r.IntN(7) - 3, "spouse"})
		}
		for range r.IntN(4) {
			sex := household.Male
			if r.IntN(2) == 0 {
				sex = household.Female
			}
			people = append(people, struct {
				sex  household.Sex
				year int
				rel  string
			}{sex, min(year, headYear+20+r.IntN(20)), "child"})
		}
		for j, p := range people {
			middle, given := middlesM[r.IntN(len(middlesM))], givensM[r.IntN(len(givensM))]
			if p.sex == household.Female {
				middle, given = middlesF[r.IntN(len(middlesF))], givensF[r.IntN(len(givensF))]
			}
			var kind, sealed, lookup any
			if year-p.year >= 14 {
				// PPP (birth province 001-090, never the demo's 091) G YY NNNNNN, unique per run and person.
				g := 2 * ((p.year - 1900) / 100)
				if p.sex == household.Female {
					g++
				}
				n := i*8 + j // at most 5 people a household
				idn := household.IDNumber{Kind: household.CCCD, Digits: fmt.Sprintf("%03d%d%02d%06d", 1+n%90, g, p.year%100, (n/90)%1_000_000)}
				b, err := protect.Seal(idn)
				if err != nil {
					return res, err
				}
				kind, sealed, lookup = "cccd", b, protect.Lookup(idn)
			}
			age := year - p.year
			mRows = append(mRows, []any{uuid.Must(uuid.NewV7()), id, family + " " + middle + " " + given, int16(p.year), string(p.sex),
				kind, sealed, lookup, p.rel, age >= 6 && age <= 18, "present"})
		}
		if len(hRows) >= 5000 || i == o.Households-1 {
			if err := copyBatch(ctx, conn, hRows, mRows); err != nil {
				return res, err
			}
			res.Households += len(hRows)
			res.Members += len(mRows)
			hRows, mRows = hRows[:0], mRows[:0]
		}
	}
	tag, err := conn.Exec(ctx, `INSERT INTO audit_events (id, action, entity_type, entity_id, area_path, doc)
		SELECT gen_random_uuid(), 'household.create', 'household', h.id::text, h.area_path,
			json_build_object('action', 'household.create', 'actor', 'system:bench-generate', 'after',
				json_build_object('code', h.code, 'commune', h.commune_code, 'classification', h.classification))
		FROM households h WHERE h.code LIKE $1`, "G-"+o.Tag+"-%")
	if err != nil {
		return res, fmt.Errorf("bench: audit history: %w", err)
	}
	res.AuditEvents = int(tag.RowsAffected())
	if _, err := conn.Exec(ctx, `ANALYZE households; ANALYZE members`); err != nil && !strings.Contains(err.Error(), "permission") {
		return res, err
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

func copyBatch(ctx context.Context, conn *pgx.Conn, hRows, mRows [][]any) error {
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"households"}, []string{"id", "code", "commune_code", "area_path", "village",
		"address", "area_type", "classification"}, pgx.CopyFromRows(hRows)); err != nil {
		return fmt.Errorf("bench: copy households: %w", err)
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"members"}, []string{"id", "household_id", "full_name", "birth_year", "sex",
		"id_kind", "id_sealed", "id_lookup", "relationship", "student", "status"}, pgx.CopyFromRows(mRows)); err != nil {
		return fmt.Errorf("bench: copy members: %w", err)
	}
	return nil
}
