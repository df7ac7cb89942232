package attachment

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// accessLog notes who was shown which personal data (audit.AccessLogger).
type accessLog interface {
	Read(ctx context.Context, subjectType, areaPath string, ids ...uuid.UUID)
}

// Options configure the service.
type Options struct {
	// MaxBytes is the largest file of a kind.
	MaxBytes func(kind string) int64
	// TempDir holds files being cleaned before they are stored ("" is the
	// system's temporary directory).
	TempDir string
	Logger  *slog.Logger
}

// Service attaches, lists, serves and archives evidence files: each change in
// one transaction with its audit event, each download access-logged.
type Service struct {
	db       *db.DB
	store    store
	storage  Storage
	reads    accessLog
	maxBytes func(string) int64
	tempDir  string
	log      *slog.Logger
	now      func() time.Time
}

// NewService makes the service.
func NewService(pool *db.DB, storage Storage, reads accessLog, o Options) *Service {
	return &Service{db: pool, store: store{db: pool}, storage: storage, reads: reads, maxBytes: o.MaxBytes, tempDir: o.TempDir,
		log: o.Logger, now: time.Now}
}

// MaxBytes is the largest file of a kind.
func (s *Service) MaxBytes(kind string) int64 { return s.maxBytes(kind) }

// cleanFileName keeps the last path element of a client's file name, without
// control characters or quotes, at most 200 bytes; "" when nothing is left.
func cleanFileName(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '"' || r == utf8.RuneError {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(strings.Trim(name, "."))
	for len(name) > 200 {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	return name
}

// Check validates what a client says of a file it is about to send, and
// that the subject lies in scope, before any byte is stored; it returns the
// details cleaned and the subject's area. Resumable uploads call it when the
// upload is created, attaching calls it again.
func (s *Service) Check(ctx context.Context, scope access.Scope, d Details, size int64) (Details, string, error) {
	var fe apperr.FieldList
	if !slices.Contains(SubjectTypes, d.Subject.Type) {
		fe.Add("subject_type", "invalid", "must be one of %s", strings.Join(SubjectTypes, ", "))
	}
	if d.Subject.ID == uuid.Nil {
		fe.Add("subject_id", "required", "name the subject (a UUID)")
	}
	if _, ok := kindRules[d.Kind]; !ok {
		fe.Add("kind", "invalid", "must be one of %s", strings.Join(Kinds, ", "))
	}
	d.FileName = cleanFileName(d.FileName)
	if d.FileName == "" {
		d.FileName = "attachment"
	}
	d.Caption = strings.TrimSpace(d.Caption)
	if utf8.RuneCountInString(d.Caption) > 1000 {
		fe.Add("caption", "too_long", "at most 1000 characters")
	}
	if d.TakenAt != nil {
		t := d.TakenAt.UTC()
		if t.After(s.now().Add(24*time.Hour)) || t.Year() < 1990 {
			fe.Add("taken_at", "invalid", "must be a time from 1990 to now")
		}
		d.TakenAt = &t
	}
	if d.GPS != nil && (math.IsNaN(d.GPS.Lat) || math.IsNaN(d.GPS.Lon) || math.Abs(d.GPS.Lat) > 90 || math.Abs(d.GPS.Lon) > 180) {
		fe.Add("gps", "invalid", "latitude -90..90 and longitude -180..180 (WGS 84 degrees)")
	}
	if err := fe.Err(); err != nil {
		return d, "", err
	}
	if size <= 0 {
		return d, "", errEmpty
	}
	if max := s.maxBytes(d.Kind); size > max {
		return d, "", errTooLarge(d.Kind, max)
	}
	area, err := s.store.subjectArea(ctx, d.Subject)
	if err != nil {
		return d, "", db.MapError(err)
	}
	if !scope.Contains(area) {
		return d, "", errSubjectNotFound
	}
	return d, area, nil
}

// Attach stores a file for a subject in scope: its type is read from its
// bytes and must be one the kind accepts; photos of kinds that do not keep
// their location have their metadata removed first, so that the stored bytes
// and their SHA-256 are the cleaned file's. A file the subject already has
// (same SHA-256) is not stored twice: the existing attachment is returned
// with created false.
func (s *Service) Attach(ctx context.Context, scope access.Scope, d Details, src io.ReaderAt, size int64) (Attachment, bool, error) {
	d, area, err := s.Check(ctx, scope, d, size)
	if err != nil {
		return Attachment{}, false, err
	}
	f, err := s.clean(d.Kind, src, size)
	if err != nil {
		return Attachment{}, false, err
	}
	defer f.close()
	h := sha256.New()
	if _, err := io.Copy(h, f.reader()); err != nil {
		return Attachment{}, false, err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if existing, ok, err := s.store.activeCopy(ctx, d.Subject, sum); err != nil || ok {
		return existing, false, db.MapError(err)
	}
	thumb, err := f.thumbnail()
	if err != nil {
		return Attachment{}, false, err
	}
	a := Attachment{ID: uuid.Must(uuid.NewV7()), Subject: d.Subject, AreaPath: area, Kind: d.Kind, Caption: d.Caption,
		TakenAt: d.TakenAt, GPS: d.GPS, FileName: d.FileName, Size: f.size, SHA256: sum, ContentType: f.contentType,
		StorageKey: newKey(), MetadataStripped: f.stripped, Status: Active, Version: 1, UploadedBy: access.ActorID(ctx)}
	return s.save(ctx, a, f.reader(), thumb)
}

// cleaned is the file to store: the client's bytes, or their copy with the
// metadata removed.
type cleaned struct {
	body        io.ReaderAt
	size        int64
	contentType string
	stripped    bool
	tmp         *os.File // the cleaned copy, removed by close
}

func (f cleaned) reader() *io.SectionReader { return io.NewSectionReader(f.body, 0, f.size) }

func (f cleaned) close() {
	if f.tmp != nil {
		f.tmp.Close()
		os.Remove(f.tmp.Name())
	}
}

// clean sniffs the file's type, refuses one the kind does not accept, and
// removes the metadata of a photo whose kind does not keep its location.
func (s *Service) clean(kind string, src io.ReaderAt, size int64) (cleaned, error) {
	head := make([]byte, min(size, sniffLen))
	if _, err := src.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return cleaned{}, err
	}
	ct := sniff(head)
	rule := kindRules[kind]
	if !slices.Contains(rule.types, ct) {
		return cleaned{}, errTypeNotAllowed(kind, describe(head, ct))
	}
	f := cleaned{body: src, size: size, contentType: ct}
	if rule.keepsLocation || !isImage(ct) {
		return f, nil
	}
	strip := stripper(ct)
	if strip == nil {
		return cleaned{}, errCannotStrip(kind, ct)
	}
	tmp, err := tempFile(s.tempDir, "ansinh-attachment-*")
	if err != nil {
		return cleaned{}, err
	}
	f.tmp = tmp
	if err := strip(tmp, io.NewSectionReader(src, 0, size)); err != nil {
		f.close()
		if errors.Is(err, errMalformed) {
			return cleaned{}, errUnreadable
		}
		return cleaned{}, err
	}
	st, err := tmp.Stat()
	if err != nil {
		f.close()
		return cleaned{}, err
	}
	f.body, f.size, f.stripped = tmp, st.Size(), true
	return f, nil
}

// thumbnail is a photo's small JPEG, upright; nil for a document or a photo
// type that has none.
func (f cleaned) thumbnail() ([]byte, error) {
	if !isImage(f.contentType) {
		return nil, nil
	}
	orientation := 0
	if f.contentType == TypeJPEG {
		first := make([]byte, min(f.size, 128<<10))
		if _, err := f.body.ReadAt(first, 0); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		orientation = jpegOrientation(first)
	}
	thumb, err := thumbnail(f.contentType, f.reader(), orientation)
	switch {
	case errors.Is(err, errMalformed):
		return nil, errUnreadable
	case errors.Is(err, errThumbUnavailable):
		return nil, nil
	}
	return thumb, err
}

// save puts the file and its thumbnail in the storage, then records the
// attachment with its audit event; the objects are removed again when the
// row is not written. The same file attached at the same moment by another
// request answers that request's attachment.
func (s *Service) save(ctx context.Context, a Attachment, body io.Reader, thumb []byte) (Attachment, bool, error) {
	if err := s.storage.Put(ctx, a.StorageKey, body, a.Size, a.ContentType); err != nil {
		s.forget(a.StorageKey)
		return Attachment{}, false, apperr.Wrap(err, apperr.Unavailable, "storage_unavailable", "the file store did not take the file; retry")
	}
	if thumb != nil {
		a.ThumbnailKey = a.StorageKey + ".thumb.jpg"
		if err := s.storage.Put(ctx, a.ThumbnailKey, bytes.NewReader(thumb), int64(len(thumb)), TypeJPEG); err != nil {
			s.forget(a.StorageKey, a.ThumbnailKey)
			return Attachment{}, false, apperr.Wrap(err, apperr.Unavailable, "storage_unavailable", "the file store did not take the file; retry")
		}
	}
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		if err := s.store.insert(ctx, a); err != nil {
			return err
		}
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "attachment.create", EntityType: "attachment",
			EntityID: a.ID.String(), AreaPath: a.AreaPath, After: state(a)})
	})
	if err != nil {
		// Nothing refers to the stored objects: remove them.
		s.forget(a.StorageKey, a.ThumbnailKey)
		if apperr.Is(db.MapError(err), apperr.Conflict) { // the same file attached at the same moment
			if existing, ok, err2 := s.store.activeCopy(ctx, a.Subject, a.SHA256); err2 == nil && ok {
				return existing, false, nil
			}
		}
		return Attachment{}, false, db.MapError(err)
	}
	// Inside a request's transaction (an Idempotency-Key) the row commits
	// later, with the stored answer: if that rolls back, so do the objects.
	db.OnRollback(ctx, func() { s.forget(a.StorageKey, a.ThumbnailKey) })
	out, err := s.store.get(ctx, access.Everywhere(), a.ID, false)
	return out, true, db.MapError(err)
}

// tempFile makes a temporary file in dir (created when missing; "" is the
// system's temporary directory).
func tempFile(dir, pattern string) (*os.File, error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, err
		}
	}
	return os.CreateTemp(dir, pattern)
}

// forget removes objects no row refers to, past the request's own end.
func (s *Service) forget(keys ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, k := range keys {
		if k != "" {
			_ = s.storage.Delete(ctx, k)
		}
	}
}

// describe names what a refused file is, for the problem's detail.
func describe(head []byte, ct string) string {
	if ct != "" {
		return ct
	}
	m := sniffName(head)
	if m == "" {
		return "not a recognised file type"
	}
	return m
}

func state(a Attachment) map[string]any {
	m := map[string]any{"subject_type": a.Subject.Type, "subject_id": a.Subject.ID, "kind": a.Kind, "caption": a.Caption,
		"file_name": a.FileName, "size": a.Size, "sha256": a.SHA256, "content_type": a.ContentType,
		"metadata_stripped": a.MetadataStripped, "status": a.Status, "version": a.Version}
	if a.TakenAt != nil {
		m["taken_at"] = a.TakenAt.UTC().Format(time.RFC3339)
	}
	if a.GPS != nil {
		m["gps"] = map[string]float64{"lat": a.GPS.Lat, "lon": a.GPS.Lon}
	}
	if a.ArchiveReason != "" {
		m["archive_reason"] = a.ArchiveReason
	}
	return m
}

// Get reads one attachment in scope (archived ones too).
func (s *Service) Get(ctx context.Context, scope access.Scope, id uuid.UUID) (Attachment, error) {
	a, err := s.store.get(ctx, scope, id, false)
	return a, db.MapError(err)
}

// List reads attachments in scope in id order after the cursor; archived
// ones only when the filter asks.
func (s *Service) List(ctx context.Context, scope access.Scope, f Filter, after uuid.UUID, limit int) ([]Attachment, error) {
	if f.Subject != nil && !slices.Contains(SubjectTypes, f.Subject.Type) {
		return nil, apperr.Fields([]apperr.FieldError{{Field: "subject_type", Code: "invalid",
			Message: "must be one of " + strings.Join(SubjectTypes, ", ")}})
	}
	if f.Kind != "" && !slices.Contains(Kinds, f.Kind) {
		return nil, apperr.Fields([]apperr.FieldError{{Field: "kind", Code: "invalid", Message: "must be one of " + strings.Join(Kinds, ", ")}})
	}
	out, err := s.store.list(ctx, scope, f, after, limit)
	return out, db.MapError(err)
}

// Open gives an attachment in scope with its bytes (or its thumbnail's), and
// notes in the read-access log that the actor saw them: the attachment and
// the person or household it is evidence about.
func (s *Service) Open(ctx context.Context, scope access.Scope, id uuid.UUID, thumb bool) (Attachment, io.ReadCloser, error) {
	a, err := s.store.get(ctx, scope, id, false)
	if err != nil {
		return a, nil, db.MapError(err)
	}
	key := a.StorageKey
	if thumb {
		if a.ThumbnailKey == "" {
			return a, nil, errNoThumbnail
		}
		key = a.ThumbnailKey
	}
	rc, err := s.storage.Get(ctx, key)
	if err != nil {
		return a, nil, apperr.Wrap(err, apperr.Unavailable, "storage_unavailable", "the file store did not answer; retry")
	}
	s.reads.Read(ctx, "attachment", a.AreaPath, a.ID)
	s.reads.Read(ctx, a.Subject.Type, a.AreaPath, a.Subject.ID)
	return a, rc, nil
}

// Archive hides an attachment in scope, at version, for a reason; nothing is
// deleted.
func (s *Service) Archive(ctx context.Context, scope access.Scope, id uuid.UUID, version int, reason string) (Attachment, error) {
	reason, err := parseArchiveReason(reason)
	if err != nil {
		return Attachment{}, err
	}
	var out Attachment
	err = s.db.WithTx(ctx, func(ctx context.Context) error {
		before, after, err := s.store.update(ctx, scope, id, version, func(a *Attachment) error {
			return a.Archive(reason, access.ActorID(ctx))
		})
		if err != nil {
			return err
		}
		out = after
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "attachment.archive", EntityType: "attachment",
			EntityID: id.String(), AreaPath: out.AreaPath, Reason: reason, Before: state(before), After: state(out)})
	})
	return out, db.MapError(err)
}

// DownloadName is the file name a download is offered under: the client's
// name with the extension of the detected type (never the client's own
// extension, so a photo named .html stays a photo).
func DownloadName(a Attachment) string {
	base := strings.TrimSuffix(a.FileName, filepath.Ext(a.FileName))
	if base == "" {
		base = "attachment"
	}
	return base + extensions[a.ContentType]
}
