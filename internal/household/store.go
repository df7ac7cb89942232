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

func inScope(q *gorm.DB, scope access.Scope) *gorm.DB {
	if scope.IsEverywhere() {
		return q
	}
	cond, args := scope.SQL("households.area_path")
	return q.Where(cond, args...)
}

const householdColumns = `households.id, households.code, households.commune_code, households.area_path::text,
	households.village, households.address, households.area_type, coalesce(households.phone, ''), households.ethnic_minority,
	households.classification, coalesce(households.classification_decision, ''), households.classification_effective, households.status,
	coalesce(households.archive_reason, ''), households.version, households.created_at, households.updated_at`

func scanHousehold(row interface{ Scan(...any) error }) (Household, error) {
	var h Household
	err := row.Scan(&h.ID, &h.Code, &h.CommuneCode, &h.AreaPath, &h.Village, &h.Address, &h.AreaType, &h.Phone,
		&h.EthnicMinority, &h.Classification, &h.ClassificationDecision, &h.ClassificationEffective, &h.Status, &h.ArchiveReason, &h.Version,
		&h.CreatedAt, &h.UpdatedAt)
	return h, err
}

// household reads one household in scope (lock for update when asked).
func (s store) household(ctx context.Context, scope access.Scope, id uuid.UUID, forUpdate bool) (Household, error) {
	q := inScope(s.db.Conn(ctx).Table("households"), scope).Select(householdColumns).Where("households.id = ?", id)
	if forUpdate {
		if err := s.db.Conn(ctx).Exec(`SELECT 1 FROM households WHERE id = ? FOR UPDATE`, id).Error; err != nil {
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

// households reads several households in scope with their members, by id
// (those not found in scope are absent).
func (s store) households(ctx context.Context, scope access.Scope, ids []uuid.UUID) (map[uuid.UUID]Household, error) {
	out := map[uuid.UUID]Household{}
	if len(ids) == 0 {
		return out, nil
	}
	conn := s.db.Conn(ctx)
	found, err := s.withMembers(inScope(conn.Table("households"), scope).Select(householdColumns).
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
	rows, err := q.Rows()
	if err != nil {
		return nil, err
	}
	var out []Household
	for rows.Next() {
		h, err := scanHousehold(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
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

const memberColumns = `id, household_id, full_name, birth_date, birth_year, sex, id_sealed, relationship, ethnicity_code,
	disability, coalesce(education_level, ''), coalesce(occupation, ''), coalesce(employment_status, ''),
	coalesce(insurance_card, ''), insurance_expiry, student, coalesce(school_level, ''), status, status_date, version`

func (s store) members(ctx context.Context, householdID uuid.UUID) ([]Member, error) {
	byHousehold, err := s.membersOf(s.db.Conn(ctx), []uuid.UUID{householdID})
	return byHousehold[householdID], err
}

// membersOf reads on conn the members of several households in one query,
// the head first in each.
func (s store) membersOf(conn *gorm.DB, householdIDs []uuid.UUID) (map[uuid.UUID][]Member, error) {
	out := map[uuid.UUID][]Member{}
	if len(householdIDs) == 0 {
		return out, nil
	}
	rows, err := conn.Raw(`SELECT `+memberColumns+` FROM members WHERE household_id = ANY(?::uuid[])
		ORDER BY household_id, (relationship = 'head') DESC, birth_year, id`, db.UUIDArray(householdIDs)).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var m Member
		var sex string
		var sealed []byte
		var eth sql.NullInt64
		if err := rows.Scan(&m.ID, &m.HouseholdID, &m.FullName, &m.BirthDate, &m.BirthYear, &sex, &sealed, &m.Relationship,
			&eth, &m.Disability, &m.EducationLevel, &m.Occupation, &m.EmploymentStatus, &m.InsuranceCard,
			&m.InsuranceExpiry, &m.Student, &m.SchoolLevel, &m.Status, &m.StatusDate, &m.Version); err != nil {
			return nil, err
		}
		m.Sex = Sex(sex)
		if eth.Valid {
			v := int(eth.Int64)
			m.EthnicityCode = &v
		}
		if sealed != nil {
			id, err := s.protect.Open(sealed)
			if err != nil {
				return nil, err
			}
			m.IDNumber = &id
		}
		out[m.HouseholdID] = append(out[m.HouseholdID], m)
	}
	return out, rows.Err()
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s store) insertMember(ctx context.Context, m Member) error {
	var kind, sealed, lookup any
	if m.IDNumber != nil {
		b, err := s.protect.Seal(*m.IDNumber)
		if err != nil {
			return err
		}
		kind, sealed, lookup = string(m.IDNumber.Kind), b, s.protect.Lookup(*m.IDNumber)
	}
	return s.db.Conn(ctx).Exec(`INSERT INTO members (id, household_id, full_name, birth_date, birth_year, sex, id_kind, id_sealed,
		id_lookup, relationship, ethnicity_code, disability, education_level, occupation, employment_status, insurance_card,
		insurance_expiry, student, school_level, status, status_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.HouseholdID, m.FullName, m.BirthDate, m.BirthYear, string(m.Sex), kind, sealed, lookup, m.Relationship,
		m.EthnicityCode, m.Disability, nullable(m.EducationLevel), nullable(m.Occupation), nullable(m.EmploymentStatus),
		nullable(m.InsuranceCard), m.InsuranceExpiry, m.Student, nullable(m.SchoolLevel), m.Status, m.StatusDate).Error
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

func (s store) updateMember(ctx context.Context, m Member) error {
	var kind, sealed, lookup any
	if m.IDNumber != nil {
		b, err := s.protect.Seal(*m.IDNumber)
		if err != nil {
			return err
		}
		kind, sealed, lookup = string(m.IDNumber.Kind), b, s.protect.Lookup(*m.IDNumber)
	}
	return s.db.Conn(ctx).Exec(`UPDATE members SET full_name = ?, birth_date = ?, birth_year = ?, sex = ?, id_kind = ?, id_sealed = ?,
		id_lookup = ?, relationship = ?, ethnicity_code = ?, disability = ?, education_level = ?, occupation = ?,
		employment_status = ?, insurance_card = ?, insurance_expiry = ?, student = ?, school_level = ?, version = version + 1,
		updated_at = now() WHERE id = ?`,
		m.FullName, m.BirthDate, m.BirthYear, string(m.Sex), kind, sealed, lookup, m.Relationship, m.EthnicityCode, m.Disability,
		nullable(m.EducationLevel), nullable(m.Occupation), nullable(m.EmploymentStatus), nullable(m.InsuranceCard),
		m.InsuranceExpiry, m.Student, nullable(m.SchoolLevel), m.ID).Error
}
