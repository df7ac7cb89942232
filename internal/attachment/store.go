package attachment

import (
	"context"
	"database/sql"
	"errors"

	"github.com/google/uuid"
	"gorm.io/gorm/clause"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
)

type store struct{ db *db.DB }

var lockForUpdate = clause.Locking{Strength: "UPDATE"}

// subjectAreas find a subject's area, by type: a member lives where its
// household does; the others carry their area.
var subjectAreas = map[string]string{
	SubjectHousehold:  `SELECT area_path::text FROM households WHERE id = ?`,
	SubjectMember:     `SELECT h.area_path::text FROM members m JOIN households h ON h.id = m.household_id WHERE m.id = ?`,
	SubjectAssessment: `SELECT area_path::text FROM assessments WHERE id = ?`,
	SubjectReview:     `SELECT area_path::text FROM reviews WHERE id = ?`,
	SubjectEnrollment: `SELECT area_path::text FROM enrollments WHERE id = ?`,
	SubjectDelivery:   `SELECT area_path::text FROM deliveries WHERE id = ?`,
}

// subjectArea is the area path of a subject; errSubjectNotFound when there is none.
func (s store) subjectArea(ctx context.Context, sub Subject) (string, error) {
	q, ok := subjectAreas[sub.Type]
	if !ok {
		return "", errSubjectNotFound
	}
	var path string
	err := s.db.Conn(ctx).Raw(q, sub.ID).Row().Scan(&path)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errSubjectNotFound
	}
	return path, err
}

const columns = `id, subject_type, subject_id, area_path::text, kind, caption, taken_at, gps_lat, gps_lon, file_name, size_bytes,
	sha256, content_type, storage_key, coalesce(thumbnail_key, ''), metadata_stripped, status, coalesce(archive_reason, ''),
	archived_at, archived_by, version, uploaded_by, created_at, updated_at`

func scan(row db.Scanner) (Attachment, error) {
	var a Attachment
	var lat, lon sql.NullFloat64
	err := row.Scan(&a.ID, &a.Subject.Type, &a.Subject.ID, &a.AreaPath, &a.Kind, &a.Caption, &a.TakenAt, &lat, &lon, &a.FileName,
		&a.Size, &a.SHA256, &a.ContentType, &a.StorageKey, &a.ThumbnailKey, &a.MetadataStripped, &a.Status, &a.ArchiveReason,
		&a.ArchivedAt, &a.ArchivedBy, &a.Version, &a.UploadedBy, &a.CreatedAt, &a.UpdatedAt)
	if lat.Valid && lon.Valid {
		a.GPS = &Point{Lat: lat.Float64, Lon: lon.Float64}
	}
	return a, err
}

// get reads one attachment in scope (out of scope is not found).
func (s store) get(ctx context.Context, scope access.Scope, id uuid.UUID, lock bool) (Attachment, error) {
	q := scope.Filter(s.db.Conn(ctx).Table("attachments").Select(columns).Where("id = ?", id), "area_path")
	if lock {
		q = q.Clauses(lockForUpdate)
	}
	a, err := scan(q.Row())
	if errors.Is(err, sql.ErrNoRows) {
		return Attachment{}, errNotFound
	}
	return a, err
}

// activeCopy is the active attachment of a subject with these bytes, if any.
func (s store) activeCopy(ctx context.Context, sub Subject, sha string) (Attachment, bool, error) {
	a, err := scan(s.db.Conn(ctx).Raw(`SELECT `+columns+` FROM attachments WHERE subject_type = ? AND subject_id = ? AND sha256 = ?
		AND status = 'active'`, sub.Type, sub.ID, sha).Row())
	if errors.Is(err, sql.ErrNoRows) {
		return Attachment{}, false, nil
	}
	return a, err == nil, err
}

func (s store) insert(ctx context.Context, a Attachment) error {
	var lat, lon *float64
	if a.GPS != nil {
		lat, lon = &a.GPS.Lat, &a.GPS.Lon
	}
	var thumb *string
	if a.ThumbnailKey != "" {
		thumb = &a.ThumbnailKey
	}
	return s.db.Conn(ctx).Exec(`INSERT INTO attachments (id, subject_type, subject_id, area_path, kind, caption, taken_at, gps_lat, gps_lon,
		file_name, size_bytes, sha256, content_type, storage_key, thumbnail_key, metadata_stripped, uploaded_by)
		VALUES (?, ?, ?, ?::ltree, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Subject.Type, a.Subject.ID, a.AreaPath, a.Kind, a.Caption, a.TakenAt, lat, lon, a.FileName, a.Size, a.SHA256,
		a.ContentType, a.StorageKey, thumb, a.MetadataStripped, a.UploadedBy).Error
}

// referenced are those of keys that an attachment refers to, as its file
// or its thumbnail, archived or not.
func (s store) referenced(ctx context.Context, keys []string) (map[string]bool, error) {
	out := map[string]bool{}
	err := db.Each(s.db.Conn(ctx).Raw(`SELECT k FROM unnest(?::text[]) k WHERE EXISTS
		(SELECT 1 FROM attachments a WHERE a.storage_key = k OR a.thumbnail_key = k)`, db.TextArray(keys)),
		func(row db.Scanner) error {
			var k string
			err := row.Scan(&k)
			out[k] = true
			return err
		})
	return out, err
}

// update changes one attachment in scope at version, under its row lock:
// the version is checked before change runs, then what change set is
// written with the next version (archived_at is the moment the status
// became archived). It returns the attachment before and after.
func (s store) update(ctx context.Context, scope access.Scope, id uuid.UUID, version int,
	change func(*Attachment) error) (before, after Attachment, err error) {
	err = s.db.WithTx(ctx, func(ctx context.Context) error {
		if before, err = s.get(ctx, scope, id, true); err != nil {
			return err
		}
		if before.Version != version {
			return &apperr.Error{Kind: apperr.PreconditionFailed, Code: "precondition_failed", State: before.Status,
				Message: "the attachment was changed since you read it: read it again"}
		}
		a := before
		if err := change(&a); err != nil {
			return err
		}
		var reason *string
		if a.ArchiveReason != "" {
			reason = &a.ArchiveReason
		}
		if err := s.db.Conn(ctx).Exec(`UPDATE attachments SET status = @status, archive_reason = @reason, archived_by = @by,
			archived_at = CASE WHEN status <> 'archived' AND @status = 'archived' THEN now() ELSE archived_at END,
			version = version + 1, updated_at = now() WHERE id = @id`,
			map[string]any{"status": a.Status, "reason": reason, "by": a.ArchivedBy, "id": id}).Error; err != nil {
			return err
		}
		after, err = s.get(ctx, access.Everywhere(), id, false)
		return err
	})
	return before, after, err
}

// list reads attachments in scope in id order after the cursor.
func (s store) list(ctx context.Context, scope access.Scope, f Filter, after uuid.UUID, limit int) ([]Attachment, error) {
	q := scope.Filter(s.db.Conn(ctx).Table("attachments").Select(columns), "area_path")
	if f.Subject != nil {
		q = q.Where("subject_type = ? AND subject_id = ?", f.Subject.Type, f.Subject.ID)
	}
	if f.Kind != "" {
		q = q.Where("kind = ?", f.Kind)
	}
	if !f.IncludeArchived {
		q = q.Where("status = 'active'")
	}
	if after != uuid.Nil {
		q = q.Where("id > ?", after)
	}
	return db.Collect(q.Order("id").Limit(limit), scan)
}
