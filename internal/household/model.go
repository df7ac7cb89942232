package household

import (
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/platform/apperr"
)

// Household is a registered household with its members. Its tags declare
// each column once (see fields.go): the store's SQL, the audit view and the
// PATCH body follow them; validation is in check (validate.go).
type Household struct {
	ID                     uuid.UUID `db:"id,insert" audit:"-"`
	Code                   string    `db:"code,insert"`
	CommuneCode            string    `db:"commune_code,insert" audit:"commune"`
	CommuneEdition         string    `db:"commune_edition,insert" audit:"commune_edition"` // of the list of units
	AreaPath               string    `db:"area_path,insert,ltree" audit:"-"`
	Village                string    `db:"village,insert,patch"`
	Address                string    `db:"address,insert,patch"`
	AreaType               string    `db:"area_type,insert,patch"` // rural, urban
	Phone                  string    `db:"phone,insert,patch,null"`
	EthnicMinority         bool      `db:"ethnic_minority,insert,patch"`
	Classification         string    `db:"classification,update"` // none, poor, near_poor, average
	ClassificationDecision string    `db:"classification_decision,update,null"`
	// ClassificationEffective is the date the recognized classification
	// took effect (nil before any recognition).
	ClassificationEffective *time.Time `db:"classification_effective,update"`
	Status                  string     `db:"status,update"` // active, archived
	ArchiveReason           string     `db:"archive_reason,update,null"`
	// Valid time: the day the household came into existence and the day it
	// ended (archived), as events, whenever they were typed.
	EstablishedOn *time.Time `db:"established_on,insert"`
	EndedOn       *time.Time `db:"ended_on,update"`
	Version       int        `db:"version"`
	CreatedAt     time.Time  `db:"created_at" audit:"-"`
	UpdatedAt     time.Time  `db:"updated_at" audit:"-"`
	Members       []Member
}

// Member is one person in a household. Its tags declare each column once
// (see fields.go); the ID number is sealed in three columns of its own
// (id_kind, id_sealed, id_lookup: store.seal). The audit trail keeps a
// summary of the person (its ID number masked).
type Member struct {
	ID               uuid.UUID  `db:"id,insert"`
	HouseholdID      uuid.UUID  `db:"household_id,insert" audit:"-"`
	FullName         string     `db:"full_name,insert,update"`
	BirthDate        *time.Time `db:"birth_date,insert,update" audit:"-"` // nil when only the year is known
	BirthYear        int        `db:"birth_year,insert,update"`
	Sex              Sex        `db:"sex,insert,update"`
	IDNumber         *IDNumber  // decrypted in memory only
	Relationship     string     `db:"relationship,insert,update"`
	EthnicityCode    *int       `db:"ethnicity_code,insert,update" audit:"-"`
	Disability       bool       `db:"disability,insert,update" audit:"-"`
	EducationLevel   string     `db:"education_level,insert,update,null" audit:"-"`
	Occupation       string     `db:"occupation,insert,update,null" audit:"-"`
	EmploymentStatus string     `db:"employment_status,insert,update,null" audit:"-"`
	InsuranceCard    string     `db:"insurance_card,insert,update,null" audit:"-"`
	InsuranceExpiry  *time.Time `db:"insurance_expiry,insert,update" audit:"-"`
	Student          bool       `db:"student,insert,update" audit:"-"`
	SchoolLevel      string     `db:"school_level,insert,update,null" audit:"-"`
	ArrivedOn        *time.Time `db:"arrived_on,insert" audit:"arrived_on"` // nil: since the household was established
	Status           string     `db:"status,insert"`                        // present, moved_out, deceased
	StatusDate       *time.Time `db:"status_date,insert" audit:"-"`
	Version          int        `db:"version" audit:"-"`
}

// SchoolLevels are the levels of the Vietnamese school system a pupil may be
// at (program rules test them: tuition support differs by level).
var SchoolLevels = []string{"preschool", "primary", "lower_secondary", "upper_secondary", "vocational", "university"}

// Relationships to the head a member may have.
var Relationships = []string{"head", "spouse", "child", "parent", "grandchild", "grandparent", "sibling", "in_law", "other"}

// AgeOn is the member's age in whole years on date; with only the birth
// year known, the difference of the years.
func (m Member) AgeOn(date time.Time) int {
	if m.BirthDate == nil {
		return date.Year() - m.BirthYear
	}
	b := *m.BirthDate
	age := date.Year() - b.Year()
	if date.Month() < b.Month() || date.Month() == b.Month() && date.Day() < b.Day() {
		age--
	}
	return age
}

// present reports whether the member still lives in the household.
func (m Member) present() bool { return m.Status == "present" }

// Head reports the present head, if any.
func (h Household) Head() (Member, bool) {
	for _, m := range h.Members {
		if m.Relationship == "head" && m.present() {
			return m, true
		}
	}
	return Member{}, false
}

// presentMember is the present member with this id.
func (h Household) presentMember(id uuid.UUID) (Member, error) {
	for _, m := range h.Members {
		if m.ID == id && m.present() {
			return m, nil
		}
	}
	return Member{}, errMemberNotFound(id)
}

// presentCount is how many members live in the household.
func (h Household) presentCount() int {
	n := 0
	for _, m := range h.Members {
		if m.present() {
			n++
		}
	}
	return n
}

// active refuses changes to an archived household.
func (h Household) active() error {
	if h.Status == "archived" {
		return errArchived
	}
	return nil
}

// Patch changes a household's own fields: those named (by column, each a
// field tagged patch) take their values in To; the others are left alone.
type Patch struct {
	To     Household
	Fields []string
}

// apply sets the patched fields and checks the result.
func (h *Household) apply(p Patch, now time.Time) error {
	if err := householdFields.copyPatched(h, &p.To, p.Fields); err != nil {
		return err
	}
	return h.check(false, now)
}

// archive retires the household with a reason on the day it ended
// (nothing is deleted): not before it was established, not after today.
func (h *Household) archive(reason string, ended, today time.Time) error {
	switch {
	case ended.After(today):
		return apperr.Fields([]apperr.FieldError{{Field: "ended_on", Code: "future", Message: "must not be after today"}})
	case h.EstablishedOn != nil && ended.Before(*h.EstablishedOn):
		return apperr.Fields([]apperr.FieldError{{Field: "ended_on", Code: "before_established",
			Message: "must not be before the household was established (" + h.EstablishedOn.Format(time.DateOnly) + ")"}})
	}
	h.Status, h.ArchiveReason, h.EndedOn = "archived", reason, &ended
	return nil
}

// archiveReason is a reason to archive, trimmed and checked.
func archiveReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 500 {
		return "", apperr.Fields([]apperr.FieldError{{Field: "reason", Code: "required", Message: "say why (at most 500 characters)"}})
	}
	return reason, nil
}

// classify sets the classification a recognized decision gives from its
// effective date; errUnchanged when it changes nothing, or when a decision
// in force is newer.
func (h *Household) classify(to, decision string, effective time.Time) error {
	if h.Classification == to || h.ClassificationEffective != nil && effective.Before(*h.ClassificationEffective) {
		return errUnchanged
	}
	h.Classification, h.ClassificationDecision, h.ClassificationEffective = to, decision, &effective
	return nil
}

// admit checks that m may join the household: one head at most.
func (h Household) admit(m Member) error {
	if m.Relationship == "head" {
		if _, has := h.Head(); has {
			return apperr.Fields([]apperr.FieldError{{Field: "relationship", Code: "head", Message: "the household already has a head"}})
		}
	}
	return nil
}

// MemberEvent is a death or a move out, with its date (and destination).
type MemberEvent struct {
	Status      string // deceased, moved_out
	Date        time.Time
	Destination string
}

// check refuses an event that is not a death or a move out on a past date.
func (ev MemberEvent) check(now time.Time) error {
	var fe apperr.FieldList
	if ev.Status != "deceased" && ev.Status != "moved_out" {
		fe.Add("status", "invalid", "must be deceased or moved_out")
	}
	if ev.Date.IsZero() || ev.Date.After(today(now)) {
		fe.Add("date", "invalid", "is required and must not be in the future")
	}
	if len(ev.Destination) > 300 {
		fe.Add("destination", "too_long", "must be at most 300 characters")
	}
	return apperr.Fields(fe)
}

// action is the audit action of the event.
func (ev MemberEvent) action() string {
	if ev.Status == "moved_out" {
		return "member.move_out"
	}
	return "member.death"
}

// leave records that a present member died or moved out. The head cannot
// leave this way while others remain.
func (h *Household) leave(memberID uuid.UUID, ev MemberEvent) (Member, error) {
	m, err := h.presentMember(memberID)
	if err != nil {
		return Member{}, err
	}
	if m.Relationship == "head" && h.presentCount() > 1 {
		return Member{}, errHeadMustChangeFirst
	}
	if m.BirthDate != nil && ev.Date.Before(*m.BirthDate) || ev.Date.Year() < m.BirthYear {
		return Member{}, apperr.Fields([]apperr.FieldError{{Field: "date", Code: "invalid", Message: "is before the member's birth"}})
	}
	date := ev.Date
	m.Status, m.StatusDate = ev.Status, &date
	return m, nil
}

// nextHead checks that a present member, not the head yet, may become the head.
func (h Household) nextHead(memberID uuid.UUID) error {
	next, err := h.presentMember(memberID)
	if err != nil {
		return err
	}
	if next.Relationship == "head" {
		return apperr.New(apperr.Conflict, "already_head", "this member is already the head")
	}
	return nil
}

// transfer is which present members leave a household for another, and how
// many stay (none: the household merges into the other).
func (h Household) transfer(memberIDs []uuid.UUID) (moving []Member, remaining int, err error) {
	leaving := map[uuid.UUID]bool{}
	for _, id := range memberIDs {
		m, err := h.presentMember(id)
		if err != nil {
			return nil, 0, err
		}
		if !leaving[m.ID] {
			leaving[m.ID] = true
			moving = append(moving, m)
		}
	}
	headMoves := false
	for _, m := range h.Members {
		switch {
		case !m.present():
		case leaving[m.ID]:
			headMoves = headMoves || m.Relationship == "head"
		default:
			remaining++
		}
	}
	if headMoves && remaining > 0 {
		return nil, 0, errHeadMustChangeFirst
	}
	// In the receiving household the newcomers are not its head.
	for i := range moving {
		if moving[i].Relationship == "head" {
			moving[i].Relationship = "other"
		}
	}
	return moving, remaining, nil
}

// splitArgs checks a split's members: 1-50, the new head among them.
func splitArgs(memberIDs []uuid.UUID, headID uuid.UUID) error {
	var fe apperr.FieldList
	if len(memberIDs) == 0 || len(memberIDs) > 50 {
		fe.Add("member_ids", "required", "name 1-50 members")
	}
	if !slices.Contains(memberIDs, headID) {
		fe.Add("head_member_id", "invalid", "must be one of member_ids")
	}
	return apperr.Fields(fe)
}

// split checks that the members may leave to found a household of their
// own (the head stays) and gives their relationships in it.
func (h Household) split(memberIDs []uuid.UUID, headID uuid.UUID) ([]Member, error) {
	var out []Member
	for _, id := range memberIDs {
		m, err := h.presentMember(id)
		if err != nil {
			return nil, err
		}
		if m.Relationship == "head" {
			return nil, apperr.New(apperr.Conflict, "head_stays", "the household's head stays; split off other members")
		}
		m.Relationship = "other"
		if id == headID {
			m.Relationship = "head"
		}
		out = append(out, m)
	}
	return out, nil
}
