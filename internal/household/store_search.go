package household

import (
	"context"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// list is a page of households in scope: in id order after the cursor, or,
// with a name query, the best matches first. year is this year in Vietnam
// (members' ages are counted by birth year).
func (s store) list(ctx context.Context, scope access.Scope, f Filter, year int, after uuid.UUID, limit int) ([]Household, error) {
	q := s.db.Read(ctx).Table("households").Select(householdColumns)
	if f.CommuneCode != "" {
		// The scope is checked on the commune, once: with the households'
		// own paths in the condition the planner misjudged the rows and
		// sorted a whole commune (700 ms at 3,700 households) instead of
		// walking the (commune, id) index for a page.
		cond, args := scope.SQL("a.path")
		q = q.Where("households.commune_edition = area_edition_in_use() AND households.commune_code = ?", f.CommuneCode).
			Where("EXISTS (SELECT 1 FROM areas a WHERE a.edition = area_edition_in_use() AND a.code = ? AND "+cond+")",
				append([]any{f.CommuneCode}, args...)...)
	} else {
		q = scope.Filter(q, "households.area_path")
	}
	// filtered: a condition beyond the scope and commune (which name search
	// applies to the members already) may drop candidates' households.
	filtered := false
	where := func(cond string, args ...any) {
		q, filtered = q.Where(cond, args...), true
	}
	if f.Village != "" {
		where("f_search_key(households.village) = f_search_key(?)", f.Village)
	}
	if f.Classification != "" {
		where("households.classification = ?", f.Classification)
	}
	if f.Status != "" {
		where("households.status = ?", f.Status)
	}
	if f.EthnicMinority != nil {
		where("households.ethnic_minority = ?", *f.EthnicMinority)
	}
	if f.AgeMin >= 0 || f.AgeMax >= 0 {
		lo, hi := 0, 10000
		if f.AgeMax >= 0 {
			lo = year - f.AgeMax
		}
		if f.AgeMin >= 0 {
			hi = year - f.AgeMin
		}
		where(`EXISTS (SELECT 1 FROM members a WHERE a.household_id = households.id AND a.status = 'present'
			AND a.birth_year BETWEEN ? AND ?)`, lo, hi)
	}
	if key := strings.TrimSpace(f.Query); key != "" {
		return s.searchByName(ctx, scope, f.CommuneCode, key, q, limit, filtered)
	}
	if after != uuid.Nil {
		q = q.Where("households.id > ?", after)
	}
	return s.listPage(ctx, q.Order("households.id"), limit)
}

// searchByName is list with a name query: the households whose members'
// names are nearest the query, best first, in two tiers. First the people
// whose given name (the last word, as Vietnamese names are said) begins like
// the query's, looked up by (commune, given name) and ranked by similarity of
// the whole name: a search for "nguyen van an" finds the people called An
// without weighing everyone else. Only when they do not fill the page, the
// nearest names of all, from the (area path, name trigram) index nearest
// first. In both, the household filters apply to the candidates; should they
// leave fewer than limit while the candidates were cut off, it asks for more.
func (s store) searchByName(ctx context.Context, scope access.Scope, commune, key string, q *gorm.DB, limit int, filtered bool) ([]Household, error) {
	areaCond, areaArgs := scope.SQL("a.path")
	memberCond, memberArgs := scope.SQL("m.area_path")
	if commune != "" {
		areaCond += " AND a.edition = area_edition_in_use() AND a.code = ?"
		areaArgs = append(areaArgs, commune)
		memberCond += " AND m.area_path <@ (SELECT path FROM areas WHERE edition = area_edition_in_use() AND code = ?)"
		memberArgs = append(memberArgs, commune)
	}
	given := func(candidates int) (string, []any) {
		return `WITH q AS (SELECT f_search_key(?) AS key, substring(f_search_key(?) FROM '[^ ]*$') AS given)
			SELECT household_id, max(score) AS score, sum(count(*)) OVER () AS seen FROM (
				SELECT household_id, score FROM (
					SELECT m.household_id, similarity(m.name_key, q.key) AS score FROM q, members m
					WHERE m.area_path IN (SELECT a.path FROM areas a WHERE a.level = 'commune' AND ` + areaCond + `)
						AND m.given_key ~>=~ q.given AND m.given_key ~<~ (q.given || '~') AND q.given <> '') s
				-- the threshold of %, with the similarity computed once per person
				WHERE score >= current_setting('pg_trgm.similarity_threshold')::real
				ORDER BY score DESC LIMIT ?) hits
			GROUP BY household_id ORDER BY max(score) DESC, household_id`,
			append(append([]any{key, key}, areaArgs...), candidates)
	}
	nearest := func(candidates int) (string, []any) {
		return `SELECT household_id, max(score) AS score, sum(count(*)) OVER () AS seen FROM (
				SELECT m.household_id, 1 - (m.name_key <-> f_search_key(?)) AS score FROM members m
				WHERE ` + memberCond + ` AND m.name_key % f_search_key(?) ORDER BY m.name_key <-> f_search_key(?) LIMIT ?) hits
			GROUP BY household_id ORDER BY max(score) DESC, household_id`,
			append(append([]any{key}, memberArgs...), key, key, candidates)
	}
	var out []Household
	for _, tier := range []func(int) (string, []any){given, nearest} {
		// Without household filters nearly every candidate's household is
		// on the page (a few share one), so twice the page is enough to
		// start with; filters may drop most, so they start wider.
		first := limit * 2
		if filtered {
			first = limit * 8
		}
		for candidates := first; ; candidates = min(candidates*8, maxNameCandidates) {
			var hits []struct {
				HouseholdID uuid.UUID
				Score       float64
				Seen        int // candidate members, all households together
			}
			sql, args := tier(candidates)
			if err := s.db.Read(ctx).Raw(sql, args...).Scan(&hits).Error; err != nil {
				return nil, db.MapError(err)
			}
			if len(hits) == 0 {
				break
			}
			ids := make([]uuid.UUID, len(hits))
			for i, h := range hits {
				ids[i] = h.HouseholdID
			}
			// The filters keep the candidates' order (their position in the array).
			arr := db.UUIDArray(ids)
			var err error
			out, err = s.listPage(ctx, q.Session(&gorm.Session{}).Where("households.id = ANY(?::uuid[])", arr).
				Order(clause.OrderBy{Expression: clause.Expr{SQL: "array_position(?::uuid[], households.id)", Vars: []any{arr}}}), limit)
			if err != nil {
				return nil, err
			}
			if len(out) >= limit {
				return out, nil
			}
			if hits[0].Seen < candidates || candidates >= maxNameCandidates { // this tier has no more
				break
			}
		}
	}
	return out, nil
}

// maxNameCandidates bounds how many members one name search may weigh.
const maxNameCandidates = 100_000

// listPage runs a household read and fills in members (one query for all,
// on the same server).
func (s store) listPage(ctx context.Context, q *gorm.DB, limit int) ([]Household, error) {
	out, err := s.withMembers(q.Limit(limit), s.db.Read(ctx))
	return out, db.MapError(err)
}

// memberHits searches people in scope: by id after the cursor, or the best
// name matches first with a query (within the scope's households). year is
// this year in Vietnam.
func (s store) memberHits(ctx context.Context, scope access.Scope, f MemberFilter, year int, after uuid.UUID, limit int) ([]MemberHit, error) {
	cond, args := scope.SQL("m.area_path")
	q := `SELECT m.id, m.household_id, h.code, h.commune_code, h.area_path::text
		FROM members m JOIN households h ON h.id = m.household_id WHERE ` + cond
	if f.CommuneCode != "" {
		q += ` AND h.commune_edition = area_edition_in_use() AND h.commune_code = ?`
		args = append(args, f.CommuneCode)
	}
	if f.Sex != "" {
		q += ` AND m.sex = ?`
		args = append(args, f.Sex)
	}
	if f.Status != "" {
		q += ` AND m.status = ?`
		args = append(args, f.Status)
	}
	if f.AgeMax >= 0 {
		q += ` AND m.birth_year >= ?`
		args = append(args, year-f.AgeMax)
	}
	if f.AgeMin >= 0 {
		q += ` AND m.birth_year <= ?`
		args = append(args, year-f.AgeMin)
	}
	if key := strings.TrimSpace(f.Query); key != "" {
		q += ` AND m.name_key % f_search_key(?) ORDER BY m.name_key <-> f_search_key(?), m.id`
		args = append(args, key, key)
	} else {
		if after != uuid.Nil {
			q += ` AND m.id > ?`
			args = append(args, after)
		}
		q += ` ORDER BY m.id`
	}
	q += ` LIMIT ?`
	args = append(args, limit)
	type ref struct {
		member uuid.UUID
		hit    MemberHit
	}
	refs, err := db.Collect(s.db.Conn(ctx).Raw(q, args...), func(row db.Scanner) (ref, error) {
		var r ref
		err := row.Scan(&r.member, &r.hit.HouseholdID, &r.hit.HouseholdCode, &r.hit.CommuneCode, &r.hit.AreaPath)
		return r, err
	})
	if err != nil {
		return nil, err
	}
	householdIDs := make([]uuid.UUID, len(refs))
	for i, r := range refs {
		householdIDs[i] = r.hit.HouseholdID
	}
	// The members themselves (ID numbers decrypted) in one query, in the order found.
	byHousehold, err := s.membersOf(s.db.Conn(ctx), householdIDs)
	if err != nil {
		return nil, db.MapError(err)
	}
	out := make([]MemberHit, 0, len(refs))
	for _, r := range refs {
		for _, m := range byHousehold[r.hit.HouseholdID] {
			if m.ID == r.member {
				hit := r.hit
				hit.Member = m
				out = append(out, hit)
			}
		}
	}
	return out, nil
}
