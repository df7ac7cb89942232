package household

import (
	"time"

	"github.com/google/uuid"
)

// Household is a registered household with its members.
type Household struct {
	ID                     uuid.UUID
	Code                   string
	CommuneCode            string
	AreaPath               string
	Village                string
	Address                string
	AreaType               string // rural, urban
	Phone                  string
	EthnicMinority         bool
	Classification         string // none, poor, near_poor, average
	ClassificationDecision string
	// ClassificationEffective is the date the recognized classification
	// took effect (nil before any recognition).
	ClassificationEffective *time.Time
	Status                  string // active, archived
	ArchiveReason           string
	Version                 int
	CreatedAt, UpdatedAt    time.Time
	Members                 []Member
}

// Member is one person in a household.
type Member struct {
	ID               uuid.UUID
	HouseholdID      uuid.UUID
	FullName         string
	BirthDate        *time.Time // nil when only the year is known
	BirthYear        int
	Sex              Sex
	IDNumber         *IDNumber // decrypted in memory only
	Relationship     string
	EthnicityCode    *int
	Disability       bool
	EducationLevel   string
	Occupation       string
	EmploymentStatus string
	InsuranceCard    string
	InsuranceExpiry  *time.Time
	Student          bool
	SchoolLevel      string
	Status           string // present, moved_out, deceased
	StatusDate       *time.Time
	Version          int
}

// SchoolLevels are the levels of the Vietnamese school system a pupil may be
// at (program rules test them: tuition support differs by level).
var SchoolLevels = []string{"preschool", "primary", "lower_secondary", "upper_secondary", "vocational", "university"}

// Relationships to the head a member may have.
var Relationships = []string{"head", "spouse", "child", "parent", "grandchild", "grandparent", "sibling", "in_law", "other"}

// Head reports the present head, if any.
func (h Household) Head() (Member, bool) {
	for _, m := range h.Members {
		if m.Relationship == "head" && m.Status == "present" {
			return m, true
		}
	}
	return Member{}, false
}
