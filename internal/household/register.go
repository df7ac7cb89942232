package household

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/vn"
)

// Registration: one household through the API (Create) or a batch of an
// import (CheckBatch, then InsertBatch) go the same way: households parsed
// and checked by NewHousehold, their communes resolved, ids given, and one
// write (store.insertHouseholds) of households and members.

// Create registers a household as NewHousehold made it (exactly one present
// head), with its members.
func (s *Service) Create(ctx context.Context, scope access.Scope, h Household) (Household, error) {
	var created Household
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		paths, err := s.store.communes(ctx, []string{h.CommuneCode})
		if err != nil {
			return err
		}
		c, ok := paths[h.CommuneCode]
		if !ok {
			return errNotCommune
		}
		if !scope.Contains(c.path) {
			return errCommuneOutside
		}
		if err := s.checkIDs(ctx, scope, h.Members); err != nil {
			return err
		}
		hs := []Household{h}
		s.prepare(hs, paths)
		if created, err = s.store.insertOne(ctx, hs[0]); err != nil {
			return registrationConflict(err, hs[0], s.store.conflicting(err, hs[0].Members))
		}
		return s.recordChange(ctx, "household.create", "", Household{}, created)
	})
	return created, db.MapError(err)
}

// registrationConflict is the 409 for a registration the database refused
// as a duplicate: the household (its id, or its code in the commune), or a
// member (a concurrent registration of the same ID number or member id).
func registrationConflict(err error, h Household, member int) error {
	var ie *insertError
	if !errors.As(err, &ie) || !apperr.Is(db.MapError(err), apperr.Conflict) {
		return err
	}
	if ie.table == "households" {
		return apperr.New(apperr.Conflict, "household_exists", "a household with this id, or with code %s in commune %s, exists", h.Code, h.CommuneCode)
	}
	return idRegistered(fmt.Sprintf("members[%d].id_number", max(member, 0)), false, "", "")
}

// insert prepares new households (prepare) and writes them.
func (s *Service) insert(ctx context.Context, hs []Household, communes map[string]commune) error {
	s.prepare(hs, communes)
	return s.store.insertHouseholds(ctx, hs)
}

// prepare gives new households and their members their ids (households
// keep theirs if set, members get UUIDv7s unless set) and their communes'
// editions and paths.
func (s *Service) prepare(hs []Household, communes map[string]commune) {
	for i := range hs {
		h := &hs[i]
		if h.ID == uuid.Nil {
			h.ID = uuid.Must(uuid.NewV7())
		}
		c := communes[h.CommuneCode]
		h.CommuneEdition, h.AreaPath = c.edition, c.path
		if h.EstablishedOn == nil { // not said: it is there from today
			today := vn.Today(s.now())
			h.EstablishedOn = &today
		}
		h.Members = append([]Member(nil), h.Members...)
		for j := range h.Members {
			m := &h.Members[j]
			if m.ID == uuid.Nil {
				m.ID = uuid.Must(uuid.NewV7())
			}
			m.HouseholdID, m.Status = h.ID, "present"
		}
	}
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

// CheckBatch finds what the database knows of households NewHousehold made
// before they are written: those already registered (by commune and code), ID
// numbers held by present people (or twice in the batch), communes that are
// not communes or lie outside scope.
func (s *Service) CheckBatch(ctx context.Context, scope access.Scope, hs []Household) (BulkResult, error) {
	res := BulkResult{Conflicts: map[int]apperr.FieldList{}}
	if len(hs) == 0 {
		return res, nil
	}
	var communeCodes, householdCodes []string
	var lookups [][]byte
	for _, h := range hs {
		communeCodes, householdCodes = append(communeCodes, h.CommuneCode), append(householdCodes, h.Code)
		for _, m := range h.Members {
			if m.IDNumber != nil {
				lookups = append(lookups, s.store.protect.Lookup(*m.IDNumber))
			}
		}
	}
	paths, err := s.store.communes(ctx, communeCodes)
	if err != nil {
		return res, err
	}
	exists, err := s.store.registered(ctx, communeCodes, householdCodes)
	if err != nil {
		return res, err
	}
	held, err := s.store.held(ctx, lookups)
	if err != nil {
		return res, err
	}
	seen := map[string]int{}
	for i, h := range hs {
		// Scope first: whether a household exists elsewhere is not the importer's to learn.
		var fe apperr.FieldList
		c, ok := paths[h.CommuneCode]
		switch {
		case !ok:
			fe.Add("commune_code", "invalid", "must be the code of a commune")
		case !scope.Contains(c.path):
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

// communeCodes is the commune of each household, in order.
func communeCodes(hs []Household) []string {
	codes := make([]string, len(hs))
	for i, h := range hs {
		codes[i] = h.CommuneCode
	}
	return codes
}

// InsertBatch writes checked households (none existing, none in conflict) in
// the caller's transaction with a few array-bound statements per table, puts
// them on the sync feed, and records one audit event for the batch naming
// every household. Members get UUIDv7 ids; households keep theirs if set.
func (s *Service) InsertBatch(ctx context.Context, source string, hs []Household) ([]uuid.UUID, int, error) {
	if len(hs) == 0 {
		return nil, 0, nil
	}
	paths, err := s.store.communes(ctx, communeCodes(hs))
	if err != nil {
		return nil, 0, err
	}
	if err := s.insert(ctx, hs, paths); err != nil {
		return nil, 0, fmt.Errorf("import: %w", err)
	}
	if err := s.store.noteInserted(ctx, hs); err != nil {
		return nil, 0, fmt.Errorf("import sync feed: %w", err)
	}
	ids := make([]uuid.UUID, len(hs))
	areas := make([]string, len(hs))
	members := 0
	audited := make([]map[string]any, 0, len(hs))
	for i, h := range hs {
		ids[i], areas[i], members = h.ID, h.AreaPath, members+len(h.Members)
		audited = append(audited, map[string]any{"id": h.ID, "code": h.Code, "commune": h.CommuneCode, "members": len(h.Members)})
	}
	err = audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "household.import", EntityType: "import", EntityID: source,
		AreaPath: audit.CommonPath(areas), After: map[string]any{"households": audited}})
	return ids, members, db.MapError(err)
}
