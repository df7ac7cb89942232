package household

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
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

// registration is the rows of new households and their members: the
// households as they are (their insert columns follow Household's tags), the
// members by column.
type registration struct {
	h []Household
	m struct {
		id, household, name, sex, relationship, status []string
		birth, expiry                                  []*time.Time
		year                                           []int32
		kind, education, occupation, employment, card  []*string
		school                                         []*string
		sealed, lookup                                 [][]byte
		ethnicity                                      []*int32
		disability, student                            []bool
	}
}

// columns lays out households (ids set, area paths resolved) and their
// members by column, ID numbers sealed; "" is NULL in the optional ones.
func (s store) columns(hs []Household) (*registration, error) {
	r := &registration{h: hs}
	m := &r.m
	for _, x := range hs {
		for _, y := range x.Members {
			var kind *string
			var sealed, lookup []byte
			if y.IDNumber != nil {
				k := string(y.IDNumber.Kind)
				kind = &k
				var err error
				if sealed, err = s.protect.Seal(*y.IDNumber); err != nil {
					return nil, err
				}
				lookup = s.protect.Lookup(*y.IDNumber)
			}
			var eth *int32
			if y.EthnicityCode != nil {
				e := int32(*y.EthnicityCode)
				eth = &e
			}
			m.id, m.household, m.name, m.sex = append(m.id, y.ID.String()), append(m.household, x.ID.String()), append(m.name, y.FullName), append(m.sex, string(y.Sex))
			m.relationship, m.status = append(m.relationship, y.Relationship), append(m.status, y.Status)
			m.birth, m.expiry, m.year = append(m.birth, y.BirthDate), append(m.expiry, y.InsuranceExpiry), append(m.year, int32(y.BirthYear))
			m.kind, m.education, m.occupation = append(m.kind, kind), append(m.education, optional(y.EducationLevel)), append(m.occupation, optional(y.Occupation))
			m.employment, m.card, m.school = append(m.employment, optional(y.EmploymentStatus)), append(m.card, optional(y.InsuranceCard)), append(m.school, optional(y.SchoolLevel))
			m.sealed, m.lookup, m.ethnicity = append(m.sealed, sealed), append(m.lookup, lookup), append(m.ethnicity, eth)
			m.disability, m.student = append(m.disability, y.Disability), append(m.student, y.Student)
		}
	}
	return r, nil
}

// insertHouseholds writes new households and their members (ids set, area
// paths resolved): one registration and a batch of an import alike. A batch
// goes in one statement per table bound to whole arrays; one household goes
// in with a parameter per value, through GORM, so that its statements are
// what the load harness captures and replays (with fresh ids).
func (s store) insertHouseholds(ctx context.Context, hs []Household) error {
	r, err := s.columns(hs)
	if err != nil {
		return err
	}
	if len(hs) == 1 {
		return s.insertRows(ctx, r)
	}
	return s.insertArrays(ctx, r)
}

// The households INSERT, derived from Household's tags (its insert
// columns, then created_by and updated_by): one row with a parameter per
// value, and rows from one array per column.
var insertHouseholdRow, insertHouseholdArrays = insertStatements("households", householdFields)

const insertMember = `INSERT INTO members (id, household_id, full_name, birth_date, birth_year, sex, id_kind, id_sealed,
		id_lookup, relationship, ethnicity_code, disability, education_level, occupation, employment_status, insurance_card,
		insurance_expiry, student, school_level, status)`

// insertStatements are the INSERT of the insert columns of fs into table,
// with a parameter per value (then the actor twice), and from one array
// parameter per column (then the actor).
func insertStatements[T any](table string, fs fields[T]) (row, arrays string) {
	var cols, params, selects, arrs []string
	for _, f := range fs {
		if f.insert {
			cols, params = append(cols, f.name), append(params, "?"+cast(f))
			selects = append(selects, "u."+f.name+cast(f))
			arrs = append(arrs, fmt.Sprintf("$%d::%s[]", len(arrs)+1, pgType(f.typ)))
		}
	}
	head := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ", created_by, updated_by)"
	actor := fmt.Sprintf("$%d::uuid", len(arrs)+1)
	return head + " VALUES (" + strings.Join(params, ", ") + ", ?, ?)",
		head + " SELECT " + strings.Join(selects, ", ") + ", " + actor + ", " + actor +
			" FROM unnest(" + strings.Join(arrs, ", ") + ") AS u (" + strings.Join(cols, ", ") + ")"
}

// columnArrays are the values of the insert columns of fs in xs, one array
// per column: a uuid as text, "" as nil in a null column.
func columnArrays[T any](fs fields[T], xs []T) []any {
	var out []any
	for _, f := range fs {
		if !f.insert {
			continue
		}
		elem := f.typ
		switch {
		case f.typ == reflect.TypeFor[uuid.UUID]():
			elem = reflect.TypeFor[string]()
		case f.nul:
			elem = reflect.TypeFor[*string]()
		}
		arr := reflect.MakeSlice(reflect.SliceOf(elem), len(xs), len(xs))
		for i := range xs {
			v := reflect.ValueOf(&xs[i]).Elem().Field(f.index)
			switch x := v.Interface().(type) {
			case uuid.UUID:
				arr.Index(i).SetString(x.String())
			case string:
				if f.nul {
					arr.Index(i).Set(reflect.ValueOf(optional(x)))
				} else {
					arr.Index(i).SetString(x)
				}
			default:
				arr.Index(i).Set(v)
			}
		}
		out = append(out, arr.Interface())
	}
	return out
}

// insertRows writes the rows with a parameter per value.
func (s store) insertRows(ctx context.Context, r *registration) error {
	m := &r.m
	actor := access.ActorID(ctx)
	conn := s.db.Conn(ctx)
	for i := range r.h {
		insert := func(f field) bool { return f.insert }
		if err := conn.Exec(insertHouseholdRow, columnValues(householdFields, &r.h[i], insert, actor, actor)...).Error; err != nil {
			return &insertError{"households", err}
		}
	}
	if len(m.id) == 0 {
		return nil
	}
	rows := make([]string, len(m.id))
	args := make([]any, 0, 20*len(m.id))
	for i := range m.id {
		rows[i] = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
		args = append(args, m.id[i], m.household[i], m.name[i], m.birth[i], m.year[i], m.sex[i], m.kind[i], nilBytes(m.sealed[i]),
			nilBytes(m.lookup[i]), m.relationship[i], m.ethnicity[i], m.disability[i], m.education[i], m.occupation[i], m.employment[i],
			m.card[i], m.expiry[i], m.student[i], m.school[i], m.status[i])
	}
	if err := conn.Exec(insertMember+` VALUES `+strings.Join(rows, ", "), args...).Error; err != nil {
		return &insertError{"members", err}
	}
	return nil
}

// nilBytes is b, or an untyped nil (NULL) for none.
func nilBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// insertArrays writes the rows with one statement per table, each column
// one array parameter.
func (s store) insertArrays(ctx context.Context, r *registration) error {
	m := &r.m
	var actorText *string
	if actor := access.ActorID(ctx); actor != nil {
		a := actor.String()
		actorText = &a
	}
	// The pool's own statement path: GORM would expand the slices into lists.
	pool := s.db.Conn(ctx).Statement.ConnPool
	if _, err := pool.ExecContext(ctx, insertHouseholdArrays, append(columnArrays(householdFields, r.h), actorText)...); err != nil {
		return &insertError{"households", err}
	}
	if len(m.id) == 0 {
		return nil
	}
	if _, err := pool.ExecContext(ctx, insertMember+`
		SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::date[], $5::int2[], $6::text[], $7::text[], $8::bytea[], $9::bytea[],
			$10::text[], $11::int2[], $12::bool[], $13::text[], $14::text[], $15::text[], $16::text[], $17::date[], $18::bool[],
			$19::text[], $20::text[])`,
		m.id, m.household, m.name, m.birth, m.year, m.sex, m.kind, m.sealed, m.lookup, m.relationship, m.ethnicity, m.disability,
		m.education, m.occupation, m.employment, m.card, m.expiry, m.student, m.school, m.status); err != nil {
		return &insertError{"members", err}
	}
	return nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
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
