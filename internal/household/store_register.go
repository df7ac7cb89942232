package household

import (
	"context"
	"encoding/hex"
	"errors"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// commune is a commune a household is filed under.
type commune struct{ edition, path string }

// communes are the codes that are communes in the edition in use, with
// their paths.
func (s store) communes(ctx context.Context, codes []string) (map[string]commune, error) {
	out := map[string]commune{}
	// Each distinct code once, in one array parameter: an import's batch
	// named a commune per household, and the statement of 1,000 parameters
	// took 96 ms (22% of an import's time in the database).
	codes = slices.Compact(slices.Sorted(slices.Values(codes)))
	err := db.Each(s.db.Conn(ctx).Raw(`SELECT code, edition, path::text FROM areas
		WHERE edition = area_edition_in_use() AND level = 'commune' AND code = ANY(?::text[])`, db.TextArray(codes)), func(row db.Scanner) error {
		var code string
		var c commune
		err := row.Scan(&code, &c.edition, &c.path)
		out[code] = c
		return err
	})
	return out, err
}

// registered are the households of these (commune, code) pairs that exist
// in the edition in use, as "commune/code". It runs in the caller's
// transaction (an import's batch).
func (s store) registered(ctx context.Context, communeCodes, householdCodes []string) (map[string]bool, error) {
	exists := map[string]bool{}
	conn := s.db.Conn(ctx)
	// Planned for this batch and the table as it is now, not from the plan
	// the connection cached: an import into a young registry grows
	// households faster than autovacuum analyzes it, and the plan cached
	// while it was nearly empty read the whole table for each pair (140 ms
	// growing to 880 ms a batch, until the next analyze replanned it). Only
	// this statement: custom plans for the rest of the transaction (the
	// foreign keys' checks, row by row) made the members' insert slower.
	if err := conn.Exec(`SET LOCAL plan_cache_mode = force_custom_plan`).Error; err != nil {
		return nil, err
	}
	// Joined to the arrays, so that the (commune_code, code) index answers.
	err := db.Each(conn.Raw(`SELECT h.commune_code || '/' || h.code FROM households h
		JOIN unnest(?::text[], ?::text[]) AS u (commune, code)
		  ON h.commune_edition = area_edition_in_use() AND h.commune_code = u.commune AND h.code = u.code`,
		db.TextArray(communeCodes), db.TextArray(householdCodes)), func(row db.Scanner) error {
		var e string
		err := row.Scan(&e)
		exists[e] = true
		return err
	})
	if err != nil {
		return nil, err
	}
	return exists, conn.Exec(`SET LOCAL plan_cache_mode = auto`).Error
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

// registration is the rows of new households and their members, whose
// insert columns follow Household's and Member's tags: the members of every
// household in order, each with its ID number sealed.
type registration struct {
	h   []Household
	m   []Member
	ids []sealedID
}

// columns lays out households (ids set, area paths resolved) and their
// members, ID numbers sealed.
func (s store) columns(hs []Household) (*registration, error) {
	r := &registration{h: hs}
	for _, x := range hs {
		for _, y := range x.Members {
			id, err := s.seal(y.IDNumber)
			if err != nil {
				return nil, err
			}
			y.HouseholdID = x.ID
			r.m, r.ids = append(r.m, y), append(r.ids, id)
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
	if len(hs) == 1 {
		_, err := s.insertOne(ctx, hs[0])
		return err
	}
	r, err := s.columns(hs)
	if err != nil {
		return err
	}
	return s.insertArrays(ctx, r)
}

// The households INSERT, derived from Household's tags (its insert
// columns, then created_by and updated_by).
var householdInsert = insertStatements("households", householdFields, "created_by uuid", "updated_by uuid")

// insertOne writes one household and its members with a parameter per
// value, and returns them as stored, members in membersOf's order: the rows
// come back from the INSERTs themselves (RETURNING), two statements fewer
// than reading them again (no trigger changes a row after it is written).
func (s store) insertOne(ctx context.Context, h Household) (Household, error) {
	r, err := s.columns([]Household{h})
	if err != nil {
		return Household{}, err
	}
	actor := access.ActorID(ctx)
	conn := s.db.Conn(ctx)
	stored, err := scanHousehold(conn.Raw(householdInsert.one()+" RETURNING "+householdColumns,
		columnValues(householdFields, &r.h[0], inserted, actor, actor)...).Row())
	if err != nil {
		return Household{}, &insertError{"households", err}
	}
	if len(r.m) == 0 {
		return stored, nil
	}
	rows := make([]string, len(r.m))
	args := make([]any, 0, len(r.m)*strings.Count(memberInsert.row, "?"))
	for i := range r.m {
		rows[i] = memberInsert.row
		args = append(args, columnValues(memberFields, &r.m[i], inserted, r.ids[i].values()...)...)
	}
	// The CTE is named members so that memberColumns (members.id, ...)
	// reads the inserted rows, ordered as membersOf orders them; the INSERT
	// within it still writes the table.
	stored.Members, err = db.Collect(conn.Raw(`WITH members AS (`+memberInsert.head+" VALUES "+strings.Join(rows, ", ")+
		` RETURNING *) SELECT `+memberColumns+` FROM members ORDER BY `+memberOrder, args...), s.scanMember)
	if err != nil {
		return Household{}, &insertError{"members", err}
	}
	return stored, nil
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
	var actorText *string
	if actor := access.ActorID(ctx); actor != nil {
		a := actor.String()
		actorText = &a
	}
	actors := make([]*string, len(r.h))
	for i := range actors {
		actors[i] = actorText
	}
	// The pool's own statement path: GORM would expand the slices into lists.
	pool := s.db.Conn(ctx).Statement.ConnPool
	if _, err := pool.ExecContext(ctx, householdInsert.arrays, append(columnArrays(householdFields, r.h), actors, actors)...); err != nil {
		return &insertError{"households", err}
	}
	if len(r.m) == 0 {
		return nil
	}
	kinds, sealed, lookups := make([]*string, len(r.ids)), make([][]byte, len(r.ids)), make([][]byte, len(r.ids))
	for i, id := range r.ids {
		kinds[i], sealed[i], lookups[i] = id.kind, id.sealed, id.lookup
	}
	if _, err := pool.ExecContext(ctx, memberInsert.arrays, append(columnArrays(memberFields, r.m), kinds, sealed, lookups)...); err != nil {
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
