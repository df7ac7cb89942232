package household

import (
	"context"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// communes are the paths of the codes that are communes.
func (s store) communes(ctx context.Context, codes []string) (map[string]string, error) {
	return s.db.StringMap(ctx, `SELECT code, path::text FROM areas WHERE level = 'commune' AND code IN ?`, codes)
}

// registered are the households of these (commune, code) pairs that exist,
// as "commune/code".
func (s store) registered(ctx context.Context, communeCodes, householdCodes []string) (map[string]bool, error) {
	exists := map[string]bool{}
	// Joined to the arrays, so that the (commune_code, code) index answers.
	err := db.Each(s.db.Conn(ctx).Raw(`SELECT h.commune_code || '/' || h.code FROM households h
		JOIN unnest(?::text[], ?::text[]) AS u (commune, code) ON h.commune_code = u.commune AND h.code = u.code`,
		db.TextArray(communeCodes), db.TextArray(householdCodes)), func(row db.Scanner) error {
		var e string
		err := row.Scan(&e)
		exists[e] = true
		return err
	})
	return exists, err
}

// held are the lookup hashes among these that present people hold.
func (s store) held(ctx context.Context, lookups [][]byte) (map[string]bool, error) {
	held := map[string]bool{}
	if len(lookups) == 0 {
		return held, nil
	}
	literals := make([]string, len(lookups))
	for i, l := range lookups {
		literals[i] = `\x` + hex.EncodeToString(l)
	}
	err := db.Each(s.db.Conn(ctx).Raw(`SELECT m.id_lookup FROM members m JOIN unnest(?::bytea[]) AS u (lookup)
			ON m.id_lookup = u.lookup AND m.status = 'present'`, db.TextArray(literals)), func(row db.Scanner) error {
		var f []byte
		err := row.Scan(&f)
		held[string(f)] = true
		return err
	})
	return held, err
}

// insertError tells which statement of a registration failed.
type insertError struct {
	table string // households or members
	err   error
}

func (e *insertError) Error() string { return "insert " + e.table + ": " + e.err.Error() }
func (e *insertError) Unwrap() error { return e.err }

// insertHouseholds writes new households and their members (ids set, area
// paths resolved) with one array-bound statement per table, however many
// there are: one registration and a batch of an import alike. Each column
// is one array parameter (GORM would spread a slice into a list); "" stands
// for NULL in the optional ones.
func (s store) insertHouseholds(ctx context.Context, hs []Household) error {
	var h struct {
		id                                                               []uuid.UUID
		code, commune, path, village, address, areaType, phone, minority []string
	}
	var m struct {
		id, household                                   []uuid.UUID
		name, sex, relationship, status, birth, year    []string
		kind, sealed, lookup, ethnicity, disability     []string
		education, occupation, employment, card, expiry []string
		student, school                                 []string
	}
	for _, x := range hs {
		h.id, h.code, h.commune, h.path = append(h.id, x.ID), append(h.code, x.Code), append(h.commune, x.CommuneCode), append(h.path, x.AreaPath)
		h.village, h.address, h.areaType = append(h.village, x.Village), append(h.address, x.Address), append(h.areaType, x.AreaType)
		h.phone, h.minority = append(h.phone, x.Phone), append(h.minority, strconv.FormatBool(x.EthnicMinority))
		for _, y := range x.Members {
			var kind, sealed, lookup, eth string
			if y.IDNumber != nil {
				b, err := s.protect.Seal(*y.IDNumber)
				if err != nil {
					return err
				}
				kind, sealed, lookup = string(y.IDNumber.Kind), `\x`+hex.EncodeToString(b), `\x`+hex.EncodeToString(s.protect.Lookup(*y.IDNumber))
			}
			if y.EthnicityCode != nil {
				eth = strconv.Itoa(*y.EthnicityCode)
			}
			m.id, m.household, m.name, m.sex = append(m.id, y.ID), append(m.household, x.ID), append(m.name, y.FullName), append(m.sex, string(y.Sex))
			m.relationship, m.status = append(m.relationship, y.Relationship), append(m.status, y.Status)
			m.birth, m.expiry, m.year = append(m.birth, dateText(y.BirthDate)), append(m.expiry, dateText(y.InsuranceExpiry)), append(m.year, strconv.Itoa(y.BirthYear))
			m.kind, m.sealed, m.lookup, m.ethnicity = append(m.kind, kind), append(m.sealed, sealed), append(m.lookup, lookup), append(m.ethnicity, eth)
			m.education, m.occupation = append(m.education, y.EducationLevel), append(m.occupation, y.Occupation)
			m.employment, m.card, m.school = append(m.employment, y.EmploymentStatus), append(m.card, y.InsuranceCard), append(m.school, y.SchoolLevel)
			m.disability, m.student = append(m.disability, strconv.FormatBool(y.Disability)), append(m.student, strconv.FormatBool(y.Student))
		}
	}
	t := db.TextArray
	if err := s.db.Conn(ctx).Exec(`INSERT INTO households (id, code, commune_code, area_path, village, address, area_type, phone,
		ethnic_minority, created_by, updated_by)
		SELECT u.id, u.code, u.commune, u.path::ltree, u.village, u.address, u.area_type, NULLIF(u.phone, ''), u.minority, ?::uuid, ?::uuid
		FROM unnest(?::uuid[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::bool[])
		AS u (id, code, commune, path, village, address, area_type, phone, minority)`,
		access.ActorID(ctx), access.ActorID(ctx), db.UUIDArray(h.id), t(h.code), t(h.commune), t(h.path), t(h.village), t(h.address),
		t(h.areaType), t(h.phone), t(h.minority)).Error; err != nil {
		return &insertError{"households", err}
	}
	if len(m.id) == 0 {
		return nil
	}
	if err := s.db.Conn(ctx).Exec(`INSERT INTO members (id, household_id, full_name, birth_date, birth_year, sex, id_kind, id_sealed,
		id_lookup, relationship, ethnicity_code, disability, education_level, occupation, employment_status, insurance_card,
		insurance_expiry, student, school_level, status)
		SELECT u.id, u.household, u.name, NULLIF(u.birth, '')::date, u.year, u.sex, NULLIF(u.kind, ''), NULLIF(u.sealed, '')::bytea,
			NULLIF(u.lookup, '')::bytea, u.relationship, NULLIF(u.ethnicity, '')::int2, u.disability, NULLIF(u.education, ''),
			NULLIF(u.occupation, ''), NULLIF(u.employment, ''), NULLIF(u.card, ''), NULLIF(u.expiry, '')::date, u.student,
			NULLIF(u.school, ''), u.status
		FROM unnest(?::uuid[], ?::uuid[], ?::text[], ?::text[], ?::int2[], ?::text[], ?::text[], ?::text[], ?::text[],
			?::text[], ?::text[], ?::bool[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::bool[], ?::text[], ?::text[])
		AS u (id, household, name, birth, year, sex, kind, sealed, lookup, relationship, ethnicity, disability, education,
			occupation, employment, card, expiry, student, school, status)`,
		db.UUIDArray(m.id), db.UUIDArray(m.household), t(m.name), t(m.birth), t(m.year), t(m.sex), t(m.kind), t(m.sealed),
		t(m.lookup), t(m.relationship), t(m.ethnicity), t(m.disability), t(m.education), t(m.occupation), t(m.employment),
		t(m.card), t(m.expiry), t(m.student), t(m.school), t(m.status)).Error; err != nil {
		return &insertError{"members", err}
	}
	return nil
}

// dateText is a date as an array element ("" for none).
func dateText(d *time.Time) string {
	if d == nil {
		return ""
	}
	return d.Format(time.DateOnly)
}

// conflicting is the index of the member a failed members insert names in
// its unique violation (by member id or by ID number), or -1.
func (s store) conflicting(err error, members []Member) int {
	var pg *pgconn.PgError
	if !errors.As(err, &pg) {
		return -1
	}
	for i, m := range members {
		if strings.Contains(pg.Detail, "("+m.ID.String()+")") ||
			m.IDNumber != nil && strings.Contains(pg.Detail, `\x`+hex.EncodeToString(s.protect.Lookup(*m.IDNumber))) {
			return i
		}
	}
	return -1
}

// noteInserted puts new households on the sync feed with one statement.
func (s store) noteInserted(ctx context.Context, hs []Household) error {
	ids, paths := make([]uuid.UUID, len(hs)), make([]string, len(hs))
	for i, h := range hs {
		ids[i], paths[i] = h.ID, h.AreaPath
	}
	return s.db.Conn(ctx).Exec(`INSERT INTO registry_changes (household_id, area_path, op)
		SELECT u.id, u.path::ltree, 'upsert' FROM unnest(?::uuid[], ?::text[]) AS u (id, path)`,
		db.UUIDArray(ids), db.TextArray(paths)).Error
}
