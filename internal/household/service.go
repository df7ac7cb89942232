package household

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// readLogger records reads of personal data (the audit access log).
type readLogger interface {
	Read(ctx context.Context, subjectType, areaPath string, ids ...uuid.UUID)
}

// Service applies the registry's rules, in transactions with their audit events.
type Service struct {
	db    *db.DB
	store store
	reads readLogger
	now   func() time.Time
	feeds map[string]FeedLoader
}

// NewService makes the registry service.
func NewService(pool *db.DB, protect *IDProtector, reads readLogger) *Service {
	return &Service{db: pool, store: store{db: pool, protect: protect}, reads: reads, now: time.Now,
		feeds: map[string]FeedLoader{}}
}

// Create registers a household with its members (exactly one present head).
func (s *Service) Create(ctx context.Context, scope access.Scope, h Household) (Household, error) {
	if err := validateHousehold(&h, true, s.now()); err != nil {
		return Household{}, err
	}
	if h.ID == uuid.Nil {
		h.ID = uuid.Must(uuid.NewV7())
	}
	var created Household
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		var level, path string
		if err := s.db.Conn(ctx).Raw(`SELECT level, path::text FROM areas WHERE code = ?`, h.CommuneCode).Row().Scan(&level, &path); err != nil || level != "commune" {
			return errNotCommune
		}
		if !scope.Contains(path) {
			return errCommuneOutside
		}
		if err := s.checkIDs(ctx, scope, h.Members); err != nil {
			return err
		}
		actor := actorID(ctx)
		err := s.db.Conn(ctx).Exec(`INSERT INTO households (id, code, commune_code, area_path, village, address, area_type, phone,
			ethnic_minority, created_by, updated_by) VALUES (?, ?, ?, ?::ltree, ?, ?, ?, ?, ?, ?, ?)`,
			h.ID, h.Code, h.CommuneCode, path, h.Village, h.Address, h.AreaType, nullable(h.Phone), h.EthnicMinority, actor, actor).Error
		if apperr.Is(db.MapError(err), apperr.Conflict) {
			return apperr.New(apperr.Conflict, "household_exists", "a household with this id, or with code %s in commune %s, exists", h.Code, h.CommuneCode)
		}
		if err != nil {
			return err
		}
		for i := range h.Members {
			m := &h.Members[i]
			if m.ID == uuid.Nil {
				m.ID = uuid.Must(uuid.NewV7())
			}
			m.HouseholdID = h.ID
			if err := s.store.insertMember(ctx, *m); err != nil {
				if apperr.Is(db.MapError(err), apperr.Conflict) { // a concurrent registration of the same ID or member id
					return idRegistered(fmt.Sprintf("members[%d].id_number", i), false, "", "")
				}
				return err
			}
			if err := s.findDuplicates(ctx, m.ID); err != nil {
				return err
			}
		}
		if created, err = s.store.household(ctx, access.Everywhere(), h.ID, false); err != nil {
			return err
		}
		if err := s.noteChange(ctx, created, "upsert"); err != nil {
			return err
		}
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "household.create", EntityType: "household",
			EntityID: h.ID.String(), AreaPath: created.AreaPath, After: auditState(created)})
	})
	return created, err
}

// checkIDs refuses ID numbers another present person holds.
func (s *Service) checkIDs(ctx context.Context, scope access.Scope, members []Member) error {
	seen := map[string]int{}
	for i, m := range members {
		if m.IDNumber == nil {
			continue
		}
		field := fmt.Sprintf("members[%d].id_number", i)
		if j, dup := seen[m.IDNumber.Digits]; dup {
			return apperr.Fields([]apperr.FieldError{{Field: field, Code: "duplicate", Message: fmt.Sprintf("is the same as members[%d]", j)}})
		}
		seen[m.IDNumber.Digits] = i
		memberID, householdID, area, found, err := s.store.holder(ctx, *m.IDNumber)
		if err != nil {
			return err
		}
		if found && memberID != m.ID {
			return idRegistered(field, scope.Contains(area), householdID.String(), memberID.String())
		}
	}
	return nil
}

// Get reads a household in scope and logs the read of its people's data.
func (s *Service) Get(ctx context.Context, scope access.Scope, id uuid.UUID) (Household, error) {
	h, err := s.store.household(ctx, scope, id, false)
	if err != nil {
		return Household{}, db.MapError(err)
	}
	s.noteRead(ctx, h)
	return h, nil
}

// noteRead logs that the caller was shown these households and their people:
// one entry per area for the households and one for the members.
func (s *Service) noteRead(ctx context.Context, hs ...Household) {
	households := map[string][]uuid.UUID{}
	members := map[string][]uuid.UUID{}
	for _, h := range hs {
		households[h.AreaPath] = append(households[h.AreaPath], h.ID)
		for _, m := range h.Members {
			members[h.AreaPath] = append(members[h.AreaPath], m.ID)
		}
	}
	for area, ids := range households {
		s.reads.Read(ctx, "household", area, ids...)
	}
	for area, ids := range members {
		s.reads.Read(ctx, "member", area, ids...)
	}
}

// Filter narrows a household list.
type Filter struct {
	CommuneCode    string
	Village        string
	Classification string
	Status         string
	Query          string // a member's name, diacritics optional
	EthnicMinority *bool
	// AgeMin/AgeMax keep households with a present member of that age (years
	// on today's date in Vietnam, by birth year); -1 for no bound.
	AgeMin, AgeMax int
}

// List is a page of households in scope: in id order after the cursor, or,
// with a name query, the best matches first.
func (s *Service) List(ctx context.Context, scope access.Scope, f Filter, after uuid.UUID, limit int) ([]Household, error) {
	q := s.db.Read(ctx).Table("households").Select(householdColumns)
	if f.CommuneCode != "" {
		// The scope is checked on the commune, once: with the households'
		// own paths in the condition the planner misjudged the rows and
		// sorted a whole commune (700 ms at 3,700 households) instead of
		// walking the (commune, id) index for a page.
		cond, args := scope.SQL("a.path")
		q = q.Where("households.commune_code = ?", f.CommuneCode).
			Where("EXISTS (SELECT 1 FROM areas a WHERE a.code = ? AND "+cond+")", append([]any{f.CommuneCode}, args...)...)
	} else {
		q = inScope(q, scope)
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
		year := today(s.now()).Year()
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
	out, err := s.listPage(ctx, q.Order("households.id"), limit)
	if err == nil {
		s.noteRead(ctx, out...)
	}
	return out, err
}

// searchByName is List with a name query: the households whose members'
// names are nearest the query, best first, in two tiers. First the people
// whose given name (the last word, as Vietnamese names are said) begins like
// the query's, looked up by (commune, given name) and ranked by similarity of
// the whole name: a search for "nguyen van an" finds the people called An
// without weighing everyone else. Only when they do not fill the page, the
// nearest names of all, from the (area path, name trigram) index nearest
// first. In both, the household filters apply to the candidates; should they
// leave fewer than limit while the candidates were cut off, it asks for more.
func (s *Service) searchByName(ctx context.Context, scope access.Scope, commune, key string, q *gorm.DB, limit int, filtered bool) ([]Household, error) {
	areaCond, areaArgs := scope.SQL("a.path")
	memberCond, memberArgs := scope.SQL("m.area_path")
	if commune != "" {
		areaCond += " AND a.code = ?"
		areaArgs = append(areaArgs, commune)
		memberCond += " AND m.area_path <@ (SELECT path FROM areas WHERE code = ?)"
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
				s.noteRead(ctx, out...)
				return out, nil
			}
			if hits[0].Seen < candidates || candidates >= maxNameCandidates { // this tier has no more
				break
			}
		}
	}
	s.noteRead(ctx, out...)
	return out, nil
}

// maxNameCandidates bounds how many members one name search may weigh.
const maxNameCandidates = 100_000

// listPage runs a household read and fills in members (one query for all,
// on the same server); the caller logs the read of what it finally shows.
func (s *Service) listPage(ctx context.Context, q *gorm.DB, limit int) ([]Household, error) {
	out, err := s.store.withMembers(q.Limit(limit), s.db.Read(ctx))
	return out, db.MapError(err)
}

// Patch changes a household's own fields; nil leaves a field alone.
type Patch struct {
	Village, Address, AreaType, Phone *string
	EthnicMinority                    *bool
}

// Update changes a household if it is still at version.
func (s *Service) Update(ctx context.Context, scope access.Scope, id uuid.UUID, version int, p Patch) (Household, error) {
	return s.change(ctx, scope, id, version, "household.update", "", func(ctx context.Context, h *Household) error {
		if p.Village != nil {
			h.Village = *p.Village
		}
		if p.Address != nil {
			h.Address = *p.Address
		}
		if p.AreaType != nil {
			h.AreaType = *p.AreaType
		}
		if p.Phone != nil {
			h.Phone = *p.Phone
		}
		if p.EthnicMinority != nil {
			h.EthnicMinority = *p.EthnicMinority
		}
		if err := validateHousehold(h, false, s.now()); err != nil {
			return err
		}
		return s.db.Conn(ctx).Exec(`UPDATE households SET village = ?, address = ?, area_type = ?, phone = ?, ethnic_minority = ?,
			version = version + 1, updated_by = ?, updated_at = now() WHERE id = ?`,
			h.Village, h.Address, h.AreaType, nullable(h.Phone), h.EthnicMinority, actorID(ctx), h.ID).Error
	})
}

// Archive retires a household with a reason (nothing is deleted).
func (s *Service) Archive(ctx context.Context, scope access.Scope, id uuid.UUID, version int, reason string) (Household, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 500 {
		return Household{}, apperr.Fields([]apperr.FieldError{{Field: "reason", Code: "required", Message: "say why (at most 500 characters)"}})
	}
	return s.change(ctx, scope, id, version, "household.archive", reason, func(ctx context.Context, h *Household) error {
		return s.db.Conn(ctx).Exec(`UPDATE households SET status = 'archived', archive_reason = ?, version = version + 1,
			updated_by = ?, updated_at = now() WHERE id = ?`, reason, actorID(ctx), h.ID).Error
	})
}

// AddMember adds a person to a household (a birth or someone moving in).
func (s *Service) AddMember(ctx context.Context, scope access.Scope, id uuid.UUID, version int, m Member) (Household, error) {
	var fe apperr.FieldList
	validateMember(&m, "", s.now(), &fe)
	if err := apperr.Fields(fe); err != nil {
		return Household{}, err
	}
	return s.change(ctx, scope, id, version, "household.add_member", "", func(ctx context.Context, h *Household) error {
		if m.Relationship == "head" {
			if _, has := h.Head(); has {
				return apperr.Fields([]apperr.FieldError{{Field: "relationship", Code: "head", Message: "the household already has a head"}})
			}
		}
		if err := s.checkIDs(ctx, scope, []Member{m}); err != nil {
			if e, ok := apperr.As(err); ok {
				for i := range e.Fields {
					e.Fields[i].Field = "id_number"
				}
			}
			return err
		}
		if m.ID == uuid.Nil {
			m.ID = uuid.Must(uuid.NewV7())
		}
		m.HouseholdID = h.ID
		if err := s.store.insertMember(ctx, m); err != nil {
			return err
		}
		if err := s.findDuplicates(ctx, m.ID); err != nil {
			return err
		}
		return s.bump(ctx, h.ID)
	})
}

// change is the read-modify-write of one household in scope: lock, check the
// version (a negative version skips the check, for system changes such as a
// recognized classification), apply, record the event with the state before and after. apply
// gets the transaction's context: it must use that one, not its caller's.
func (s *Service) change(ctx context.Context, scope access.Scope, id uuid.UUID, version int, action, reason string,
	apply func(ctx context.Context, h *Household) error) (Household, error) {
	var after Household
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		before, err := s.store.household(ctx, scope, id, true)
		if err != nil {
			return err
		}
		if version >= 0 && before.Version != version {
			return apperr.New(apperr.PreconditionFailed, "precondition_failed",
				"the household was changed since you read it (version %d, now %d): read it again", version, before.Version)
		}
		if before.Status == "archived" {
			return errArchived
		}
		h := before
		h.Members = append([]Member(nil), before.Members...)
		if err := apply(ctx, &h); err != nil {
			return err
		}
		if after, err = s.store.household(ctx, access.Everywhere(), id, false); err != nil {
			return err
		}
		op := "upsert"
		if after.Status == "archived" {
			op = "archive"
		}
		if err := s.noteChange(ctx, after, op); err != nil {
			return err
		}
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: action, EntityType: "household", EntityID: id.String(),
			AreaPath: after.AreaPath, Reason: reason, Before: auditState(before), After: auditState(after)})
	})
	return after, db.MapError(err)
}

// auditState is a household as the audit trail keeps it: ID numbers masked
// (the trail is read by auditors; the full numbers stay encrypted).
func auditState(h Household) map[string]any {
	members := make([]map[string]any, 0, len(h.Members))
	for _, m := range h.Members {
		mm := map[string]any{"id": m.ID, "full_name": m.FullName, "birth_year": m.BirthYear, "sex": m.Sex,
			"relationship": m.Relationship, "status": m.Status}
		if m.IDNumber != nil {
			mm["id_number"] = m.IDNumber.Masked()
		}
		members = append(members, mm)
	}
	return map[string]any{"code": h.Code, "commune": h.CommuneCode, "village": h.Village, "address": h.Address,
		"area_type": h.AreaType, "phone": h.Phone, "ethnic_minority": h.EthnicMinority, "classification": h.Classification,
		"classification_decision": h.ClassificationDecision, "classification_effective": h.ClassificationEffective,
		"status": h.Status, "archive_reason": h.ArchiveReason, "version": h.Version, "members": members}
}

func actorID(ctx context.Context) *uuid.UUID {
	a, _ := access.ActorFrom(ctx)
	if a.UserID == uuid.Nil {
		return nil
	}
	return &a.UserID
}

// MemberEvent is a death or a move out, with its date (and destination).
type MemberEvent struct {
	Status      string // deceased, moved_out
	Date        time.Time
	Destination string
}

// RecordMemberEvent marks a present member deceased or moved out. The head
// cannot leave this way while others remain: change the head first.
func (s *Service) RecordMemberEvent(ctx context.Context, scope access.Scope, id uuid.UUID, version int, memberID uuid.UUID, ev MemberEvent) (Household, error) {
	var fe apperr.FieldList
	if ev.Status != "deceased" && ev.Status != "moved_out" {
		fe.Add("status", "invalid", "must be deceased or moved_out")
	}
	if ev.Date.IsZero() || ev.Date.After(today(s.now())) {
		fe.Add("date", "invalid", "is required and must not be in the future")
	}
	if len(ev.Destination) > 300 {
		fe.Add("destination", "too_long", "must be at most 300 characters")
	}
	if err := apperr.Fields(fe); err != nil {
		return Household{}, err
	}
	action := "member.death"
	if ev.Status == "moved_out" {
		action = "member.move_out"
	}
	return s.change(ctx, scope, id, version, action, strings.TrimSpace(ev.Destination), func(ctx context.Context, h *Household) error {
		m, ok := presentMember(*h, memberID)
		if !ok {
			return apperr.New(apperr.NotFound, "member_not_found", "no present member %s in this household", memberID)
		}
		present := 0
		for _, o := range h.Members {
			if o.Status == "present" {
				present++
			}
		}
		if m.Relationship == "head" && present > 1 {
			return apperr.New(apperr.Conflict, "head_must_change_first", "choose a new head before the head leaves the household")
		}
		if m.BirthDate != nil && ev.Date.Before(*m.BirthDate) || ev.Date.Year() < m.BirthYear {
			return apperr.Fields([]apperr.FieldError{{Field: "date", Code: "invalid", Message: "is before the member's birth"}})
		}
		if err := s.db.Conn(ctx).Exec(`UPDATE members SET status = ?, status_date = ?, version = version + 1, updated_at = now()
			WHERE id = ?`, ev.Status, ev.Date, memberID).Error; err != nil {
			return err
		}
		return s.bump(ctx, h.ID)
	})
}

// ChangeHead makes another present member the head; the old head becomes
// relationship "other" (the worker then corrects relationships as needed).
func (s *Service) ChangeHead(ctx context.Context, scope access.Scope, id uuid.UUID, version int, memberID uuid.UUID) (Household, error) {
	return s.change(ctx, scope, id, version, "household.change_head", "", func(ctx context.Context, h *Household) error {
		next, ok := presentMember(*h, memberID)
		if !ok {
			return apperr.New(apperr.NotFound, "member_not_found", "no present member %s in this household", memberID)
		}
		if next.Relationship == "head" {
			return apperr.New(apperr.Conflict, "already_head", "this member is already the head")
		}
		conn := s.db.Conn(ctx)
		if err := conn.Exec(`UPDATE members SET relationship = 'other', version = version + 1, updated_at = now()
			WHERE household_id = ? AND relationship = 'head' AND status = 'present'`, h.ID).Error; err != nil {
			return err
		}
		if err := conn.Exec(`UPDATE members SET relationship = 'head', version = version + 1, updated_at = now() WHERE id = ?`,
			memberID).Error; err != nil {
			return err
		}
		return s.bump(ctx, h.ID)
	})
}

func presentMember(h Household, id uuid.UUID) (Member, bool) {
	for _, m := range h.Members {
		if m.ID == id && m.Status == "present" {
			return m, true
		}
	}
	return Member{}, false
}

// bump moves a household to its next version after a change to its members.
func (s *Service) bump(ctx context.Context, id uuid.UUID) error {
	return s.db.Conn(ctx).Exec(`UPDATE households SET version = version + 1, updated_by = ?, updated_at = now() WHERE id = ?`,
		actorID(ctx), id).Error
}

// Transfer moves present members from one household to another in the
// caller's scope, keeping each person's identity and history (a move in from
// the receiving side). With all members moved, the source is archived: that
// is a merge. Both households are locked in id order, so two transfers in
// opposite directions cannot deadlock.
func (s *Service) Transfer(ctx context.Context, scope access.Scope, fromID uuid.UUID, fromVersion int, toID uuid.UUID, memberIDs []uuid.UUID) (Household, error) {
	if fromID == toID {
		return Household{}, apperr.Fields([]apperr.FieldError{{Field: "to_household_id", Code: "invalid", Message: "must be another household"}})
	}
	if len(memberIDs) == 0 {
		return Household{}, apperr.Fields([]apperr.FieldError{{Field: "member_ids", Code: "required", Message: "name at least one member"}})
	}
	var result Household
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		first, second := fromID, toID
		if second.String() < first.String() {
			first, second = second, first
		}
		for _, id := range []uuid.UUID{first, second} {
			if err := s.db.Conn(ctx).Exec(`SELECT 1 FROM households WHERE id = ? FOR UPDATE`, id).Error; err != nil {
				return err
			}
		}
		from, err := s.store.household(ctx, scope, fromID, false)
		if err != nil {
			return err
		}
		to, err := s.store.household(ctx, scope, toID, false)
		if err != nil {
			return apperr.Fields([]apperr.FieldError{{Field: "to_household_id", Code: "not_found", Message: "no such household in your area"}})
		}
		if from.Version != fromVersion {
			return apperr.New(apperr.PreconditionFailed, "precondition_failed", "the household was changed since you read it (version %d, now %d)", fromVersion, from.Version)
		}
		if from.Status == "archived" || to.Status == "archived" {
			return errArchived
		}
		moving := map[uuid.UUID]bool{}
		for _, id := range memberIDs {
			m, ok := presentMember(from, id)
			if !ok {
				return apperr.New(apperr.NotFound, "member_not_found", "no present member %s in this household", id)
			}
			moving[m.ID] = true
		}
		remaining := 0
		headMoves := false
		for _, m := range from.Members {
			if m.Status != "present" {
				continue
			}
			if moving[m.ID] {
				headMoves = headMoves || m.Relationship == "head"
			} else {
				remaining++
			}
		}
		if headMoves && remaining > 0 {
			return apperr.New(apperr.Conflict, "head_must_change_first", "choose a new head before the head leaves the household")
		}
		// In the receiving household the newcomers are not its head.
		for id := range moving {
			if err := s.db.Conn(ctx).Exec(`UPDATE members SET household_id = ?, relationship = CASE WHEN relationship = 'head'
				THEN 'other' ELSE relationship END, version = version + 1, updated_at = now() WHERE id = ?`, toID, id).Error; err != nil {
				return err
			}
		}
		for _, id := range []uuid.UUID{fromID, toID} {
			if err := s.bump(ctx, id); err != nil {
				return err
			}
		}
		if remaining == 0 {
			if err := s.db.Conn(ctx).Exec(`UPDATE households SET status = 'archived', archive_reason = ? WHERE id = ?`,
				"merged into household "+toID.String(), fromID).Error; err != nil {
				return err
			}
		}
		fromAfter, err := s.store.household(ctx, access.Everywhere(), fromID, false)
		if err != nil {
			return err
		}
		if result, err = s.store.household(ctx, access.Everywhere(), toID, false); err != nil {
			return err
		}
		action := "household.transfer_out"
		if remaining == 0 {
			action = "household.merge"
		}
		for _, ev := range []struct {
			action        string
			before, after Household
		}{{action, from, fromAfter}, {"household.transfer_in", to, result}} {
			op := "upsert"
			if ev.after.Status == "archived" {
				op = "archive"
			}
			if err := s.noteChange(ctx, ev.after, op); err != nil {
				return err
			}
			if err := audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: ev.action, EntityType: "household",
				EntityID: ev.after.ID.String(), AreaPath: ev.after.AreaPath, Before: auditState(ev.before), After: auditState(ev.after)}); err != nil {
				return err
			}
		}
		return nil
	})
	return result, db.MapError(err)
}

// Split makes a new household in the same commune from some members of an
// existing one (a grown child's family setting up its own home). The members
// keep their identity and history; headID, one of them, heads the new one.
// The old head stays with the old household.
func (s *Service) Split(ctx context.Context, scope access.Scope, fromID uuid.UUID, version int, nh Household, memberIDs []uuid.UUID, headID uuid.UUID) (Household, error) {
	var fe apperr.FieldList
	if len(memberIDs) == 0 || len(memberIDs) > 50 {
		fe.Add("member_ids", "required", "name 1-50 members")
	}
	if !slices.Contains(memberIDs, headID) {
		fe.Add("head_member_id", "invalid", "must be one of member_ids")
	}
	if err := apperr.Fields(fe); err != nil {
		return Household{}, err
	}
	var created Household
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		from, err := s.store.household(ctx, scope, fromID, true)
		if err != nil {
			return err
		}
		if from.Version != version {
			return apperr.New(apperr.PreconditionFailed, "precondition_failed", "the household was changed since you read it (version %d, now %d)", version, from.Version)
		}
		if from.Status == "archived" {
			return errArchived
		}
		for _, id := range memberIDs {
			m, ok := presentMember(from, id)
			if !ok {
				return apperr.New(apperr.NotFound, "member_not_found", "no present member %s in this household", id)
			}
			if m.Relationship == "head" {
				return apperr.New(apperr.Conflict, "head_stays", "the household's head stays; split off other members")
			}
		}
		nh.CommuneCode, nh.AreaPath = from.CommuneCode, from.AreaPath
		if err := validateHousehold(&nh, false, s.now()); err != nil {
			return err
		}
		nh.ID = uuid.Must(uuid.NewV7())
		actor := actorID(ctx)
		err = s.db.Conn(ctx).Exec(`INSERT INTO households (id, code, commune_code, area_path, village, address, area_type, phone,
			ethnic_minority, created_by, updated_by) VALUES (?, ?, ?, ?::ltree, ?, ?, ?, ?, ?, ?, ?)`,
			nh.ID, nh.Code, nh.CommuneCode, nh.AreaPath, nh.Village, nh.Address, nh.AreaType, nullable(nh.Phone), nh.EthnicMinority,
			actor, actor).Error
		if apperr.Is(db.MapError(err), apperr.Conflict) {
			return apperr.New(apperr.Conflict, "household_exists", "a household with code %s exists in commune %s", nh.Code, nh.CommuneCode)
		}
		if err != nil {
			return err
		}
		for _, id := range memberIDs {
			rel := "other"
			if id == headID {
				rel = "head"
			}
			if err := s.db.Conn(ctx).Exec(`UPDATE members SET household_id = ?, relationship = ?, version = version + 1,
				updated_at = now() WHERE id = ?`, nh.ID, rel, id).Error; err != nil {
				return err
			}
		}
		if err := s.bump(ctx, fromID); err != nil {
			return err
		}
		fromAfter, err := s.store.household(ctx, access.Everywhere(), fromID, false)
		if err != nil {
			return err
		}
		if created, err = s.store.household(ctx, access.Everywhere(), nh.ID, false); err != nil {
			return err
		}
		for _, ev := range []struct {
			action        string
			before, after Household
		}{{"household.split", from, fromAfter}, {"household.create", Household{}, created}} {
			if err := s.noteChange(ctx, ev.after, "upsert"); err != nil {
				return err
			}
			var before any
			if ev.before.ID != uuid.Nil {
				before = auditState(ev.before)
			}
			if err := audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: ev.action, EntityType: "household",
				EntityID: ev.after.ID.String(), AreaPath: ev.after.AreaPath, Reason: "split from " + fromID.String(),
				Before: before, After: auditState(ev.after)}); err != nil {
				return err
			}
		}
		return nil
	})
	return created, db.MapError(err)
}

// MemberFilter narrows a member search.
type MemberFilter struct {
	CommuneCode    string
	Sex            string
	Status         string
	Query          string
	AgeMin, AgeMax int // -1: no bound
}

// MemberHit is a member with where they live.
type MemberHit struct {
	Member
	HouseholdCode string
	CommuneCode   string
	AreaPath      string
}

// Members searches people in scope: by id after the cursor, or the best name
// matches first with a query (within the scope's households).
func (s *Service) Members(ctx context.Context, scope access.Scope, f MemberFilter, after uuid.UUID, limit int) ([]MemberHit, error) {
	cond, args := scope.SQL("m.area_path")
	q := `SELECT m.id, m.household_id, h.code, h.commune_code, h.area_path::text
		FROM members m JOIN households h ON h.id = m.household_id WHERE ` + cond
	if f.CommuneCode != "" {
		q += ` AND h.commune_code = ?`
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
	year := today(s.now()).Year()
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
	rows, err := s.db.Conn(ctx).Raw(q, args...).Rows()
	if err != nil {
		return nil, db.MapError(err)
	}
	type ref struct {
		member uuid.UUID
		hit    MemberHit
	}
	var refs []ref
	var householdIDs []uuid.UUID
	for rows.Next() {
		var r ref
		if err := rows.Scan(&r.member, &r.hit.HouseholdID, &r.hit.HouseholdCode, &r.hit.CommuneCode, &r.hit.AreaPath); err != nil {
			rows.Close()
			return nil, err
		}
		refs = append(refs, r)
		householdIDs = append(householdIDs, r.hit.HouseholdID)
	}
	rows.Close()
	// The members themselves (ID numbers decrypted) in one query, in the order found.
	byHousehold, err := s.store.membersOf(s.db.Conn(ctx), householdIDs)
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
	shown := map[string][]uuid.UUID{}
	for _, m := range out {
		shown[m.AreaPath] = append(shown[m.AreaPath], m.ID)
	}
	for area, ids := range shown {
		s.reads.Read(ctx, "member", area, ids...)
	}
	return out, nil
}

// MemberPatch changes a member's own fields; nil leaves a field alone.
// IDNumber "" removes the number.
type MemberPatch struct {
	FullName, BirthDate, Sex, IDNumber, Relationship            *string
	EducationLevel, Occupation, EmploymentStatus, InsuranceCard *string
	SchoolLevel, InsuranceExpiry                                *string
	EthnicityCode                                               *int
	Disability, Student                                         *bool
}

// UpdateMember corrects a present member's record (household If-Match). The
// head's relationship changes only through ChangeHead.
func (s *Service) UpdateMember(ctx context.Context, scope access.Scope, id uuid.UUID, version int, memberID uuid.UUID, p MemberPatch) (Household, error) {
	return s.change(ctx, scope, id, version, "member.update", "", func(ctx context.Context, h *Household) error {
		m, ok := presentMember(*h, memberID)
		if !ok {
			return apperr.New(apperr.NotFound, "member_not_found", "no present member %s in this household", memberID)
		}
		var fe apperr.FieldList
		set := func(dst *string, v *string) {
			if v != nil {
				*dst = strings.TrimSpace(*v)
			}
		}
		set(&m.FullName, p.FullName)
		set(&m.EducationLevel, p.EducationLevel)
		set(&m.Occupation, p.Occupation)
		set(&m.EmploymentStatus, p.EmploymentStatus)
		set(&m.InsuranceCard, p.InsuranceCard)
		set(&m.SchoolLevel, p.SchoolLevel)
		if p.Sex != nil {
			m.Sex = Sex(*p.Sex)
		}
		if p.Relationship != nil {
			if (m.Relationship == "head") != (*p.Relationship == "head") {
				fe.Add("relationship", "head", "change the head with POST /households/{id}/head")
			}
			m.Relationship = *p.Relationship
		}
		if p.BirthDate != nil {
			d, y, err := ParseBirth(*p.BirthDate)
			if err != nil {
				fe.Add("birth_date", "invalid", "%s", err.Error())
			} else {
				m.BirthDate, m.BirthYear = d, y
			}
		}
		if p.InsuranceExpiry != nil {
			m.InsuranceExpiry = nil
			if *p.InsuranceExpiry != "" {
				t, err := time.Parse(time.DateOnly, *p.InsuranceExpiry)
				if err != nil {
					fe.Add("insurance_expiry", "invalid", "must be YYYY-MM-DD")
				} else {
					m.InsuranceExpiry = &t
				}
			}
		}
		if p.EthnicityCode != nil {
			m.EthnicityCode = p.EthnicityCode
		}
		if p.Disability != nil {
			m.Disability = *p.Disability
		}
		if p.Student != nil {
			m.Student = *p.Student
		}
		if p.IDNumber != nil {
			m.IDNumber = nil
			if *p.IDNumber != "" {
				idn, err := ParseID(*p.IDNumber)
				if err != nil {
					fe.Add("id_number", "format", "%s", err.Error())
				} else {
					m.IDNumber = &idn
				}
			}
		}
		validateMember(&m, "", s.now(), &fe)
		if err := apperr.Fields(dedupe(fe)); err != nil {
			return err
		}
		if err := s.checkIDs(ctx, scope, []Member{m}); err != nil {
			if e, ok := apperr.As(err); ok {
				for i := range e.Fields {
					e.Fields[i].Field = "id_number"
				}
			}
			return err
		}
		if err := s.store.updateMember(ctx, m); err != nil {
			return err
		}
		if err := s.findDuplicates(ctx, m.ID); err != nil {
			return err
		}
		return s.bump(ctx, h.ID)
	})
}

// dedupe keeps the first problem reported for each field.
func dedupe(fe apperr.FieldList) apperr.FieldList {
	seen := map[string]bool{}
	var out apperr.FieldList
	for _, f := range fe {
		if !seen[f.Field] {
			seen[f.Field] = true
			out = append(out, f)
		}
	}
	return out
}

// Classify sets a household's classification from a recognized decision,
// effective on a date, in the caller's transaction; it reports the
// classification before. An archived household is left alone (changed false).
func (s *Service) Classify(ctx context.Context, id uuid.UUID, to, decision string, effective time.Time) (from string, changed bool, err error) {
	_, err = s.change(ctx, access.Everywhere(), id, -1, "household.classify", decision, func(ctx context.Context, h *Household) error {
		from = h.Classification
		// A decision older than the one in force does not override it.
		if from == to || h.ClassificationEffective != nil && effective.Before(*h.ClassificationEffective) {
			return errUnchanged
		}
		changed = true
		return s.db.Conn(ctx).Exec(`UPDATE households SET classification = ?, classification_decision = ?,
			classification_effective = ?, version = version + 1, updated_by = ?, updated_at = now() WHERE id = ?`,
			to, decision, effective, actorID(ctx), h.ID).Error
	})
	if errors.Is(err, errUnchanged) || errors.Is(err, errArchived) {
		return from, false, nil
	}
	return from, changed, err
}

// errUnchanged ends a change that has nothing to do, before it writes anything.
var errUnchanged = errors.New("household: unchanged")
