package household

import (
	"context"
	"database/sql"
	"errors"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// store is the registry's SQL. Scope is applied in every query.
type store struct {
	db      *db.DB
	protect *IDProtector
}

// The households table's statements, derived once from Household's tags
// (store_fields.go): the column list every read selects and scanHousehold
// scans, and the UPDATE of writeHousehold.
var (
	householdColumns = selectList("households", householdFields)
	householdUpdate  = updateStatement("households", householdFields, "updated_by = ?, updated_at = now()")
)

func scanHousehold(row db.Scanner) (Household, error) {
	var h Household
	err := row.Scan(householdFields.dest(&h)...)
	return h, err
}

// household reads one household in scope (lock for update when asked).
func (s store) household(ctx context.Context, scope access.Scope, id uuid.UUID, forUpdate bool) (Household, error) {
	q := scope.Filter(s.db.Conn(ctx).Table("households"), "households.area_path").Select(householdColumns).Where("households.id = ?", id)
	if forUpdate {
		if err := s.lock(ctx, id); err != nil {
			return Household{}, err
		}
	}
	h, err := scanHousehold(q.Row())
	if errors.Is(err, sql.ErrNoRows) {
		return Household{}, errHouseholdNotFound
	}
	if err != nil {
		return Household{}, err
	}
	h.Members, err = s.members(ctx, h.ID)
	return h, err
}

// lock takes the row locks of households, in the order given.
func (s store) lock(ctx context.Context, ids ...uuid.UUID) error {
	for _, id := range ids {
		if err := s.db.Conn(ctx).Exec(`SELECT 1 FROM households WHERE id = ? FOR UPDATE`, id).Error; err != nil {
			return err
		}
	}
	return nil
}

// update is the read-modify-write of one household in scope, in a
// transaction (the caller's, if one is open): it locks the row, checks the
// version (a negative version skips the check, for system changes such as a
// recognized classification) before fn sees the household, lets fn change
// it, writes the household's own fields with the next version, and reads the
// result. fn writes the changes of members it makes with the store's member
// methods; an error from fn writes nothing.
func (s store) update(ctx context.Context, scope access.Scope, id uuid.UUID, version int, fn func(*Household) error) (before, after Household, err error) {
	err = s.db.WithTx(ctx, func(ctx context.Context) error {
		if before, err = s.household(ctx, scope, id, true); err != nil {
			return err
		}
		if version >= 0 && before.Version != version {
			return errStale(version, before.Version)
		}
		h := before
		h.Members = append([]Member(nil), before.Members...)
		if err := fn(&h); err != nil {
			return err
		}
		if err := s.writeHousehold(ctx, h); err != nil {
			return err
		}
		after, err = s.household(ctx, access.Everywhere(), id, false)
		return err
	})
	return before, after, err
}

// writeHousehold writes a household's own fields and moves it to its next version.
func (s store) writeHousehold(ctx context.Context, h Household) error {
	return s.db.Conn(ctx).Exec(householdUpdate, columnValues(householdFields, &h, updated, access.ActorID(ctx), h.ID)...).Error
}

// bump moves a household to its next version after a change to its members.
func (s store) bump(ctx context.Context, id uuid.UUID) error {
	return s.db.Conn(ctx).Exec(`UPDATE households SET version = version + 1, updated_by = ?, updated_at = now() WHERE id = ?`,
		access.ActorID(ctx), id).Error
}

// households reads several households in scope with their members, by id
// (those not found in scope are absent).
func (s store) households(ctx context.Context, scope access.Scope, ids []uuid.UUID) (map[uuid.UUID]Household, error) {
	out := map[uuid.UUID]Household{}
	if len(ids) == 0 {
		return out, nil
	}
	conn := s.db.Conn(ctx)
	found, err := s.withMembers(scope.Filter(conn.Table("households"), "households.area_path").Select(householdColumns).
		Where("households.id = ANY(?::uuid[])", db.UUIDArray(ids)), conn)
	for _, h := range found {
		out[h.ID] = h
	}
	return out, err
}

// withMembers scans the households q yields, in its order, and fills in
// their members with one more query on conn (the same server as q: a page
// read from a replica takes its members from there too).
func (s store) withMembers(q, conn *gorm.DB) ([]Household, error) {
	out, err := db.Collect(q, scanHousehold)
	if err != nil {
		return nil, err
	}
	ids := make([]uuid.UUID, len(out))
	for i := range out {
		ids[i] = out[i].ID
	}
	members, err := s.membersOf(conn, ids)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Members = members[out[i].ID]
	}
	return out, nil
}

// The members table's statements, derived once from Member's tags, with
// the sealed ID number's own columns after the tagged ones.
var (
	sealedColumns = []string{"id_kind text", "id_sealed bytea", "id_lookup bytea"}
	memberColumns = selectList("members", memberFields) + ", members.id_sealed"
	memberUpdate  = updateStatement("members", memberFields, "updated_at = now()", sealedColumns...)
	memberInsert  = insertStatements("members", memberFields, sealedColumns...)
)

func (s store) members(ctx context.Context, householdID uuid.UUID) ([]Member, error) {
	byHousehold, err := s.membersOf(s.db.Conn(ctx), []uuid.UUID{householdID})
	return byHousehold[householdID], err
}

// memberOrder orders a household's members: the head first, then by birth
// year, then by id.
const memberOrder = `(relationship = 'head') DESC, birth_year, id`

// membersOf reads on conn the members of several households in one query,
// the head first in each.
func (s store) membersOf(conn *gorm.DB, householdIDs []uuid.UUID) (map[uuid.UUID][]Member, error) {
	out := map[uuid.UUID][]Member{}
	if len(householdIDs) == 0 {
		return out, nil
	}
	err := db.Each(conn.Raw(`SELECT `+memberColumns+` FROM members WHERE household_id = ANY(?::uuid[])
		ORDER BY household_id, `+memberOrder, db.UUIDArray(householdIDs)), func(row db.Scanner) error {
		m, err := s.scanMember(row)
		if err != nil {
			return err
		}
		out[m.HouseholdID] = append(out[m.HouseholdID], m)
		return nil
	})
	return out, err
}

func (s store) scanMember(row db.Scanner) (Member, error) {
	var m Member
	var sealed []byte
	if err := row.Scan(memberFields.dest(&m, &sealed)...); err != nil {
		return Member{}, err
	}
	if sealed != nil {
		id, err := s.protect.Open(sealed)
		if err != nil {
			return Member{}, err
		}
		m.IDNumber = &id
	}
	return m, nil
}

// sealedID is what the members table keeps of an ID number: its kind, the
// sealed number and its lookup hash (all nil without one).
type sealedID struct {
	kind           *string
	sealed, lookup []byte
}

// seal seals an ID number for the members table.
func (s store) seal(id *IDNumber) (sealedID, error) {
	if id == nil {
		return sealedID{}, nil
	}
	b, err := s.protect.Seal(*id)
	if err != nil {
		return sealedID{}, err
	}
	kind := string(id.Kind)
	return sealedID{kind: &kind, sealed: b, lookup: s.protect.Lookup(*id)}, nil
}

// values are the sealed columns' parameters (untyped nils for none).
func (x sealedID) values() []any {
	var kind any
	if x.kind != nil {
		kind = *x.kind
	}
	return []any{kind, nilBytes(x.sealed), nilBytes(x.lookup)}
}

// insertMember adds a member to a household.
func (s store) insertMember(ctx context.Context, m Member) error {
	id, err := s.seal(m.IDNumber)
	if err != nil {
		return err
	}
	return s.db.Conn(ctx).Exec(memberInsert.one(), columnValues(memberFields, &m, inserted, id.values()...)...).Error
}

// updateMember writes a member's corrected record.
func (s store) updateMember(ctx context.Context, m Member) error {
	id, err := s.seal(m.IDNumber)
	if err != nil {
		return err
	}
	return s.db.Conn(ctx).Exec(memberUpdate, columnValues(memberFields, &m, updated, append(id.values(), m.ID)...)...).Error
}

// setMemberStatus writes that a member died or moved out.
func (s store) setMemberStatus(ctx context.Context, m Member) error {
	return s.db.Conn(ctx).Exec(`UPDATE members SET status = ?, status_date = ?, version = version + 1, updated_at = now()
		WHERE id = ?`, m.Status, m.StatusDate, m.ID).Error
}

// setHead makes a member the head of a household; the present head becomes
// relationship "other" first (one present head at most, always).
func (s store) setHead(ctx context.Context, householdID, memberID uuid.UUID) error {
	conn := s.db.Conn(ctx)
	if err := conn.Exec(`UPDATE members SET relationship = 'other', version = version + 1, updated_at = now()
		WHERE household_id = ? AND relationship = 'head' AND status = 'present'`, householdID).Error; err != nil {
		return err
	}
	return conn.Exec(`UPDATE members SET relationship = 'head', version = version + 1, updated_at = now() WHERE id = ?`,
		memberID).Error
}

// moveMember puts a member in another household with a relationship there.
func (s store) moveMember(ctx context.Context, m Member, householdID uuid.UUID) error {
	return s.db.Conn(ctx).Exec(`UPDATE members SET household_id = ?, relationship = ?, version = version + 1,
		updated_at = now() WHERE id = ?`, householdID, m.Relationship, m.ID).Error
}

// holder finds the present member holding an ID number, with their household's area.
func (s store) holder(ctx context.Context, id IDNumber) (memberID, householdID uuid.UUID, areaPath string, found bool, err error) {
	err = s.db.Conn(ctx).Raw(`SELECT m.id, m.household_id, h.area_path::text FROM members m JOIN households h ON h.id = m.household_id
		WHERE m.id_lookup = ? AND m.status = 'present'`, s.protect.Lookup(id)).Row().Scan(&memberID, &householdID, &areaPath)
	if errors.Is(err, sql.ErrNoRows) {
		return uuid.Nil, uuid.Nil, "", false, nil
	}
	return memberID, householdID, areaPath, err == nil, err
}
