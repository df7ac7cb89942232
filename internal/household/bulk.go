package household

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// ToMember is MemberIn.toMember for callers outside the package (the bulk
// importer reads the same member fields from files).
func (in MemberIn) ToMember(prefix string, fe *apperr.FieldList) Member {
	return in.toMember(prefix, fe)
}

// Validate normalises and checks a household and its members with the rules
// of registration: exactly one present head.
func Validate(h *Household, now time.Time) error { return validateHousehold(h, true, now) }

// LookupKey is the keyed hash an ID number is found by (bulk imports use it
// to spot a number twice in one file).
func (s *Service) LookupKey(id IDNumber) []byte { return s.store.protect.Lookup(id) }

// BulkResult is what one batch of an import found and did.
type BulkResult struct {
	Created  []uuid.UUID // new households, in the batch's order of those created
	Existing []int       // indexes of households already registered (commune and code): skipped
	// Conflicts are problems only the database can see, by household index:
	// an ID number another present person holds, or a commune outside scope.
	Conflicts map[int]apperr.FieldList
	Members   int
}

// communes are the paths of the codes that are communes.
func (s *Service) communes(ctx context.Context, codes []string) (map[string]string, error) {
	return s.db.StringMap(ctx, `SELECT code, path::text FROM areas WHERE level = 'commune' AND code IN ?`, codes)
}

// CheckBatch finds what the database knows of validated households before
// they are written: those already registered (by commune and code), ID
// numbers held by present people (or twice in the batch), communes that are
// not communes or lie outside scope.
func (s *Service) CheckBatch(ctx context.Context, scope access.Scope, hs []Household) (BulkResult, error) {
	res := BulkResult{Conflicts: map[int]apperr.FieldList{}}
	if len(hs) == 0 {
		return res, nil
	}
	var communeCodes, householdCodes []string
	for _, h := range hs {
		communeCodes, householdCodes = append(communeCodes, h.CommuneCode), append(householdCodes, h.Code)
	}
	paths, err := s.communes(ctx, communeCodes)
	if err != nil {
		return res, err
	}
	// Joined to the arrays, so that the (commune_code, code) index answers.
	pool := s.db.Conn(ctx).Statement.ConnPool
	exists := map[string]bool{}
	rows, err := pool.QueryContext(ctx, `SELECT h.commune_code || '/' || h.code FROM households h
		JOIN unnest($1::text[], $2::text[]) AS u (commune, code) ON h.commune_code = u.commune AND h.code = u.code`,
		communeCodes, householdCodes)
	if err != nil {
		return res, err
	}
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			rows.Close()
			return res, err
		}
		exists[e] = true
	}
	rows.Close()
	var lookups [][]byte
	for _, h := range hs {
		for _, m := range h.Members {
			if m.IDNumber != nil {
				lookups = append(lookups, s.store.protect.Lookup(*m.IDNumber))
			}
		}
	}
	held := map[string]bool{}
	if len(lookups) > 0 {
		rows, err := pool.QueryContext(ctx, `SELECT m.id_lookup FROM members m JOIN unnest($1::bytea[]) AS u (lookup)
			ON m.id_lookup = u.lookup AND m.status = 'present'`, lookups)
		if err != nil {
			return res, err
		}
		for rows.Next() {
			var f []byte
			if err := rows.Scan(&f); err != nil {
				rows.Close()
				return res, err
			}
			held[string(f)] = true
		}
		rows.Close()
	}
	seen := map[string]int{}
	for i, h := range hs {
		// Scope first: whether a household exists elsewhere is not the importer's to learn.
		var fe apperr.FieldList
		path, ok := paths[h.CommuneCode]
		switch {
		case !ok:
			fe.Add("commune_code", "invalid", "must be the code of a commune")
		case !scope.Contains(path):
			fe.Add("commune_code", "outside_scope", "commune %s is outside your areas", h.CommuneCode)
		case exists[h.CommuneCode+"/"+h.Code]:
			res.Existing = append(res.Existing, i)
			continue
		}
		for j, m := range h.Members {
			if m.IDNumber == nil {
				continue
			}
			key := string(s.store.protect.Lookup(*m.IDNumber))
			field := fmt.Sprintf("members[%d].id_number", j)
			if held[key] {
				fe.Add(field, "registered", "this ID number is already registered to a present person")
			} else if k, dup := seen[key]; dup && k != i {
				fe.Add(field, "duplicate", "the same ID number appears in another household of the file")
			}
			seen[key] = i
		}
		if len(fe) > 0 {
			res.Conflicts[i] = fe
		}
	}
	return res, nil
}

// InsertBatch writes checked households (none existing, none in conflict) in
// the caller's transaction with a few array-bound statements per table, puts
// them on the sync feed, and records one audit event for the batch naming
// every household. Members get UUIDv7 ids; households keep theirs if set.
func (s *Service) InsertBatch(ctx context.Context, source string, hs []Household) ([]uuid.UUID, int, error) {
	if len(hs) == 0 {
		return nil, 0, nil
	}
	codes := make([]string, len(hs))
	for i, h := range hs {
		codes[i] = h.CommuneCode
	}
	paths, err := s.communes(ctx, codes)
	if err != nil {
		return nil, 0, err
	}
	actor := actorID(ctx)
	var actorText *string
	if actor != nil {
		a := actor.String()
		actorText = &a
	}
	var h struct {
		id, code, commune, path, village, address, areaType []string
		phone                                               []*string
		minority                                            []bool
	}
	var m struct {
		id, household, name, sex, relationship, status []string
		birth, expiry                                  []*time.Time
		year                                           []int32
		kind, education, occupation, employment, card  []*string
		school                                         []*string
		sealed, lookup                                 [][]byte
		ethnicity                                      []*int32
		disability, student                            []bool
	}
	ids := make([]uuid.UUID, len(hs))
	audited := make([]map[string]any, 0, len(hs))
	for i := range hs {
		x := &hs[i]
		if x.ID == uuid.Nil {
			x.ID = uuid.Must(uuid.NewV7())
		}
		x.AreaPath = paths[x.CommuneCode]
		ids[i] = x.ID
		h.id, h.code, h.commune, h.path = append(h.id, x.ID.String()), append(h.code, x.Code), append(h.commune, x.CommuneCode), append(h.path, x.AreaPath)
		h.village, h.address, h.areaType = append(h.village, x.Village), append(h.address, x.Address), append(h.areaType, x.AreaType)
		h.phone, h.minority = append(h.phone, optional(x.Phone)), append(h.minority, x.EthnicMinority)
		for _, y := range x.Members {
			if y.ID == uuid.Nil {
				y.ID = uuid.Must(uuid.NewV7())
			}
			var kind *string
			var sealed, lookup []byte
			if y.IDNumber != nil {
				k := string(y.IDNumber.Kind)
				kind = &k
				if sealed, err = s.store.protect.Seal(*y.IDNumber); err != nil {
					return nil, 0, err
				}
				lookup = s.store.protect.Lookup(*y.IDNumber)
			}
			var eth *int32
			if y.EthnicityCode != nil {
				e := int32(*y.EthnicityCode)
				eth = &e
			}
			m.id, m.household, m.name, m.sex = append(m.id, y.ID.String()), append(m.household, x.ID.String()), append(m.name, y.FullName), append(m.sex, string(y.Sex))
			m.relationship, m.status = append(m.relationship, y.Relationship), append(m.status, "present")
			m.birth, m.expiry, m.year = append(m.birth, y.BirthDate), append(m.expiry, y.InsuranceExpiry), append(m.year, int32(y.BirthYear))
			m.kind, m.education, m.occupation = append(m.kind, kind), append(m.education, optional(y.EducationLevel)), append(m.occupation, optional(y.Occupation))
			m.employment, m.card, m.school = append(m.employment, optional(y.EmploymentStatus)), append(m.card, optional(y.InsuranceCard)), append(m.school, optional(y.SchoolLevel))
			m.sealed, m.lookup, m.ethnicity = append(m.sealed, sealed), append(m.lookup, lookup), append(m.ethnicity, eth)
			m.disability, m.student = append(m.disability, y.Disability), append(m.student, y.Student)
		}
		audited = append(audited, map[string]any{"id": x.ID, "code": x.Code, "commune": x.CommuneCode, "members": len(x.Members)})
	}
	// The pool's own statement path: GORM would expand the slices into lists.
	pool := s.db.Conn(ctx).Statement.ConnPool
	if _, err := pool.ExecContext(ctx, `INSERT INTO households (id, code, commune_code, area_path, village, address, area_type, phone,
		ethnic_minority, created_by, updated_by)
		SELECT u.id, u.code, u.commune, u.path::ltree, u.village, u.address, u.area_type, u.phone, u.minority, $10::uuid, $10::uuid
		FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bool[])
		AS u (id, code, commune, path, village, address, area_type, phone, minority)`,
		h.id, h.code, h.commune, h.path, h.village, h.address, h.areaType, h.phone, h.minority, actorText); err != nil {
		return nil, 0, fmt.Errorf("import households: %w", err)
	}
	if _, err := pool.ExecContext(ctx, `INSERT INTO members (id, household_id, full_name, birth_date, birth_year, sex, id_kind, id_sealed,
		id_lookup, relationship, ethnicity_code, disability, education_level, occupation, employment_status, insurance_card,
		insurance_expiry, student, school_level, status)
		SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::date[], $5::int2[], $6::text[], $7::text[], $8::bytea[], $9::bytea[],
			$10::text[], $11::int2[], $12::bool[], $13::text[], $14::text[], $15::text[], $16::text[], $17::date[], $18::bool[],
			$19::text[], $20::text[])`,
		m.id, m.household, m.name, m.birth, m.year, m.sex, m.kind, m.sealed, m.lookup, m.relationship, m.ethnicity, m.disability,
		m.education, m.occupation, m.employment, m.card, m.expiry, m.student, m.school, m.status); err != nil {
		return nil, 0, fmt.Errorf("import members: %w", err)
	}
	if _, err := pool.ExecContext(ctx, `INSERT INTO registry_changes (household_id, area_path, op)
		SELECT u.id, u.path::ltree, 'upsert' FROM unnest($1::uuid[], $2::text[]) AS u (id, path)`, h.id, h.path); err != nil {
		return nil, 0, fmt.Errorf("import sync feed: %w", err)
	}
	err = audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "household.import", EntityType: "import", EntityID: source,
		AreaPath: commonPath(h.path), After: map[string]any{"households": audited}})
	return ids, len(m.id), db.MapError(err)
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// commonPath is the deepest area containing every path.
func commonPath(paths []string) string {
	if len(paths) == 0 {
		return ""
	}
	common := strings.Split(paths[0], ".")
	for _, p := range paths[1:] {
		parts := strings.Split(p, ".")
		n := 0
		for n < len(common) && n < len(parts) && common[n] == parts[n] {
			n++
		}
		common = common[:n]
	}
	return strings.Join(common, ".")
}
