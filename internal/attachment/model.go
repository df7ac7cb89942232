// Package attachment keeps the evidence of field work: photos and documents
// attached to a household, a member, an assessment, a review, an enrollment
// or a delivery record. Files arrive in one request or through resumable
// (tus) uploads; their type is sniffed from the bytes, location metadata is
// removed unless the kind keeps it as evidence, and the bytes are stored
// behind a small Storage interface (filesystem or S3) under opaque keys.
// Downloads are scoped like their subject and access-logged; nothing is
// deleted, only archived with a reason.
package attachment

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/platform/apperr"
)

// Subject types an attachment may belong to.
const (
	SubjectHousehold  = "household"
	SubjectMember     = "member"
	SubjectAssessment = "assessment"
	SubjectReview     = "review"
	SubjectEnrollment = "enrollment"
	SubjectDelivery   = "delivery"
)

// SubjectTypes lists them.
var SubjectTypes = []string{SubjectHousehold, SubjectMember, SubjectAssessment, SubjectReview, SubjectEnrollment, SubjectDelivery}

// Kinds of evidence.
const (
	KindHousePhoto  = "house_photo"
	KindMinutes     = "minutes"
	KindDecision    = "decision"
	KindCertificate = "certificate"
	KindIDScan      = "id_scan"
	KindOther       = "other"
)

// Kinds lists them.
var Kinds = []string{KindHousePhoto, KindMinutes, KindDecision, KindCertificate, KindIDScan, KindOther}

// kindRule is what a kind accepts and keeps.
type kindRule struct {
	types []string
	// keepsLocation: the photo's EXIF location is evidence (where the house
	// stands); every other kind has its metadata removed.
	keepsLocation bool
}

var (
	imageTypes = []string{TypeJPEG, TypePNG, TypeWebP, TypeHEIC, TypeHEIF}
	anyType    = append(slices.Clone(imageTypes), TypePDF)
)

var kindRules = map[string]kindRule{
	KindHousePhoto:  {types: imageTypes, keepsLocation: true},
	KindMinutes:     {types: anyType},
	KindDecision:    {types: anyType},
	KindCertificate: {types: anyType},
	KindIDScan:      {types: anyType},
	KindOther:       {types: anyType},
}

// Statuses.
const (
	Active   = "active"
	Archived = "archived"
)

// Subject is what an attachment belongs to.
type Subject struct {
	Type string
	ID   uuid.UUID
}

// Point is a GPS position the client recorded (WGS 84 degrees).
type Point struct {
	Lat, Lon float64
}

// Attachment is one stored file and what is known of it.
type Attachment struct {
	ID               uuid.UUID
	Subject          Subject
	AreaPath         string
	Kind             string
	Caption          string
	TakenAt          *time.Time
	GPS              *Point
	FileName         string
	Size             int64
	SHA256           string
	ContentType      string
	StorageKey       string
	ThumbnailKey     string
	MetadataStripped bool
	Status           string
	ArchiveReason    string
	ArchivedAt       *time.Time
	ArchivedBy       *uuid.UUID
	Version          int
	UploadedBy       *uuid.UUID
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Archive hides the attachment for a reason, noting who did it; an archived
// attachment stays so (errArchived). Nothing is deleted.
func (a *Attachment) Archive(reason string, by *uuid.UUID) error {
	if a.Status == Archived {
		return errArchived
	}
	a.Status, a.ArchiveReason, a.ArchivedBy = Archived, reason, by
	return nil
}

// parseArchiveReason trims why an attachment is archived: required, at most
// 1000 characters.
func parseArchiveReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	var fe apperr.FieldList
	switch {
	case reason == "":
		fe.Add("reason", "required", "say why the attachment is archived")
	case utf8.RuneCountInString(reason) > 1000:
		fe.Add("reason", "too_long", "at most 1000 characters")
	}
	return reason, fe.Err()
}

// Details are what the client says of a file when attaching it.
type Details struct {
	Subject  Subject
	Kind     string
	FileName string
	Caption  string
	TakenAt  *time.Time
	GPS      *Point
}

// Filter narrows a list.
type Filter struct {
	Subject         *Subject
	Kind            string
	IncludeArchived bool
}
