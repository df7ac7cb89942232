package attachment

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/tus/tusd/v2/pkg/filelocker"
	"github.com/tus/tusd/v2/pkg/filestore"
	tusd "github.com/tus/tusd/v2/pkg/handler"
	"github.com/tus/tusd/v2/pkg/prometheuscollector"
	xslog "golang.org/x/exp/slog"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// Upload-Metadata keys a client sends when it creates an upload (tus).
const (
	MetaSubjectType = "subject_type"
	MetaSubjectID   = "subject_id"
	MetaKind        = "kind"
	MetaFileName    = "filename"
	metaOwner       = "owner" // set by the server, never taken from the client
)

// Uploads are resumable uploads (the tus protocol, served by tusd): a file
// arrives in as many PATCH requests as the network needs, each resuming at
// the offset the server reports, into a directory of partial files; Finish
// then attaches the whole file like a one-request upload. An upload declares
// its subject, kind and size when created, and is refused then, before any
// byte is stored, when the size is over the kind's limit or the subject is
// outside the caller's areas. Only its creator may resume, query or finish it.
type Uploads struct {
	svc      *Service
	store    filestore.FileStore
	handler  *tusd.UnroutedHandler
	dir      string
	basePath string
	// perUser caps a user's unfinished uploads (0: no cap).
	perUser int
}

// NewUploads serves resumable uploads at basePath ("/api/v1/uploads/"),
// keeping partial files in dir; a body that stalls for readTimeout ends its
// request (0: tusd's 60 s).
func NewUploads(svc *Service, dir, basePath string, maxSize int64, readTimeout time.Duration) (*Uploads, error) {
	u := &Uploads{svc: svc, store: filestore.New(dir), dir: dir, basePath: basePath}
	composer := tusd.NewStoreComposer()
	u.store.UseIn(composer)
	filelocker.New(dir).UseIn(composer)
	h, err := tusd.NewUnroutedHandler(tusd.Config{
		StoreComposer:           composer,
		BasePath:                basePath,
		MaxSize:                 maxSize,
		DisableDownload:         true, // finished files are read through the attachments API only
		DisableConcatenation:    true,
		PreUploadCreateCallback: u.preCreate,
		Cors:                    &tusd.CorsConfig{Disable: true},
		NetworkTimeout:          readTimeout,
		Logger:                  xslog.New(discard{}),
	})
	if err != nil {
		return nil, fmt.Errorf("attachment uploads: %w", err)
	}
	u.handler = h
	return u, nil
}

// LimitPerUser caps a user's unfinished uploads: a creation past it answers
// 429 too_many_jobs. Uploads are files in the directory every replica
// shares, so the count holds across replicas; two creations at the very same
// moment may both pass it (the upload rate limit bounds how many can).
func (u *Uploads) LimitPerUser(n int) { u.perUser = n }

// Collector exposes tusd's counters (requests, errors, bytes received,
// uploads created, finished, terminated) to Prometheus.
func (u *Uploads) Collector() prometheus.Collector { return prometheuscollector.New(u.handler.Metrics) }

// discard is a handler that drops tusd's own request log (the access log has it).
type discard struct{}

func (discard) Enabled(context.Context, xslog.Level) bool  { return false }
func (discard) Handle(context.Context, xslog.Record) error { return nil }
func (d discard) WithAttrs([]xslog.Attr) xslog.Handler     { return d }
func (d discard) WithGroup(string) xslog.Handler           { return d }

// Handler is tusd's protocol handler for a method: POST creates, HEAD
// reports the offset, PATCH appends, DELETE abandons, OPTIONS describes.
func (u *Uploads) Handler(method string) http.Handler {
	var h http.HandlerFunc
	switch method {
	case http.MethodPost:
		h = u.handler.PostFile
	case http.MethodHead:
		h = u.handler.HeadFile
	case http.MethodPatch:
		h = u.handler.PatchFile
	case http.MethodDelete:
		h = u.handler.DelFile
	default:
		h = func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }
		return u.handler.Middleware(h)
	}
	if method == http.MethodPost {
		return u.handler.Middleware(h)
	}
	// tusd reads the upload's id from the whole path: give it only the id.
	return u.handler.Middleware(http.StripPrefix(u.basePath, h))
}

type intentKey struct{}

// intent is a creation request that Prepare has checked.
type intent struct {
	details Details
	size    int64
	owner   string
}

// Prepare checks a creation request's Upload-Length and Upload-Metadata (its
// subject in scope, kind and size) and returns the context to create it in;
// the error is the problem to answer.
func (u *Uploads) Prepare(ctx context.Context, scope access.Scope, header http.Header) (context.Context, error) {
	if header.Get("Upload-Defer-Length") != "" || header.Get("Upload-Concat") != "" {
		return ctx, apperr.Fields([]apperr.FieldError{{Field: "Upload-Length", Code: "required",
			Message: "declare the file's size in Upload-Length (deferred lengths and concatenation are not supported)"}})
	}
	size, err := strconv.ParseInt(header.Get("Upload-Length"), 10, 64)
	if err != nil || size < 0 {
		return ctx, apperr.Fields([]apperr.FieldError{{Field: "Upload-Length", Code: "required", Message: "the file's size in bytes"}})
	}
	meta := tusd.ParseMetadataHeader(header.Get("Upload-Metadata"))
	d := Details{Subject: Subject{Type: meta[MetaSubjectType]}, Kind: meta[MetaKind], FileName: meta[MetaFileName]}
	if id, err := uuid.Parse(meta[MetaSubjectID]); err == nil {
		d.Subject.ID = id
	}
	d, _, err = u.svc.Check(ctx, scope, d, size)
	if err != nil {
		return ctx, metadataFields(err)
	}
	if err := u.underCap(ctx); err != nil {
		return ctx, err
	}
	return context.WithValue(ctx, intentKey{}, intent{details: d, size: size, owner: access.Owner(ctx)}), nil
}

// underCap refuses a new upload when the caller has as many unfinished
// ones as the cap.
func (u *Uploads) underCap(ctx context.Context) error {
	if u.perUser <= 0 {
		return nil
	}
	entries, err := os.ReadDir(u.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	n := 0
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".info")
		if !ok || !validID(id) {
			continue
		}
		if _, _, err := u.info(ctx, id); err == nil { // another's, or gone meanwhile: not counted
			n++
		}
	}
	if n >= u.perUser {
		return errTooManyUploads(n)
	}
	return nil
}

// metadataFields names the Upload-Metadata keys in field errors.
func metadataFields(err error) error {
	e, ok := apperr.As(err)
	if !ok || len(e.Fields) == 0 {
		return err
	}
	fields := make([]apperr.FieldError, len(e.Fields))
	for i, f := range e.Fields {
		f.Field = "Upload-Metadata." + f.Field
		fields[i] = f
	}
	return apperr.Fields(fields)
}

// preCreate runs inside tusd before the upload is created: it takes the
// checked intent (nothing is created without one), names the upload with a
// UUIDv7 and replaces the client's metadata with the cleaned one and its owner.
func (u *Uploads) preCreate(hook tusd.HookEvent) (tusd.HTTPResponse, tusd.FileInfoChanges, error) {
	in, ok := hook.Context.Value(intentKey{}).(intent)
	if !ok || hook.Upload.SizeIsDeferred || hook.Upload.Size != in.size {
		return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, tusd.ErrUploadRejectedByServer
	}
	if err := os.MkdirAll(u.dir, 0o750); err != nil {
		return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, err
	}
	return tusd.HTTPResponse{}, tusd.FileInfoChanges{
		ID: strings.ReplaceAll(uuid.Must(uuid.NewV7()).String(), "-", ""),
		MetaData: tusd.MetaData{
			MetaSubjectType: in.details.Subject.Type,
			MetaSubjectID:   in.details.Subject.ID.String(),
			MetaKind:        in.details.Kind,
			MetaFileName:    in.details.FileName,
			metaOwner:       in.owner,
		},
	}, nil
}

// validID is what upload ids look like (a UUID's hex digits).
func validID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// info reads an upload of the actor in ctx; errUploadNotFound for another's.
func (u *Uploads) info(ctx context.Context, id string) (tusd.Upload, tusd.FileInfo, error) {
	if !validID(id) {
		return nil, tusd.FileInfo{}, errUploadNotFound
	}
	up, err := u.store.GetUpload(ctx, id)
	if err != nil {
		if errors.Is(err, tusd.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
			return nil, tusd.FileInfo{}, errUploadNotFound
		}
		return nil, tusd.FileInfo{}, err
	}
	info, err := up.GetInfo(ctx)
	if err != nil {
		return nil, tusd.FileInfo{}, err
	}
	if info.MetaData[metaOwner] != access.Owner(ctx) {
		return nil, tusd.FileInfo{}, errUploadNotFound
	}
	return up, info, nil
}

// Owned checks that the upload exists and is the caller's.
func (u *Uploads) Owned(ctx context.Context, id string) error {
	_, _, err := u.info(ctx, id)
	return err
}

// Finish attaches a complete upload of the caller's to the subject it
// declared, with the caption, time and place given now, then removes the
// partial file. A file the subject has already is not stored twice.
func (u *Uploads) Finish(ctx context.Context, scope access.Scope, id string, extra Details) (Attachment, bool, error) {
	up, info, err := u.info(ctx, id)
	if err != nil {
		return Attachment{}, false, err
	}
	if info.SizeIsDeferred || info.Offset != info.Size {
		return Attachment{}, false, errUploadIncomplete
	}
	subject, err := uuid.Parse(info.MetaData[MetaSubjectID])
	if err != nil {
		return Attachment{}, false, errUploadNotFound
	}
	d := Details{Subject: Subject{Type: info.MetaData[MetaSubjectType], ID: subject}, Kind: info.MetaData[MetaKind],
		FileName: info.MetaData[MetaFileName], Caption: extra.Caption, TakenAt: extra.TakenAt, GPS: extra.GPS}
	f, err := os.Open(info.Storage[filestore.StorageKeyPath])
	if err != nil {
		return Attachment{}, false, err
	}
	defer f.Close()
	a, created, err := u.svc.Attach(ctx, scope, d, f, info.Size)
	if err != nil {
		if e, ok := apperr.As(err); ok && (e.Kind == apperr.UnsupportedMedia || e.Kind == apperr.TooLarge || e == errUnreadable) {
			// The bytes themselves are refused: no retry can attach them, so
			// they do not wait for the expiry.
			_ = u.store.AsTerminatableUpload(up).Terminate(context.WithoutCancel(ctx))
		}
		return a, created, err
	}
	// Removed once the attachment has committed (inside a request's
	// transaction, a rollback keeps the upload for the retry).
	db.AfterCommit(ctx, func() {
		if err := u.store.AsTerminatableUpload(up).Terminate(context.WithoutCancel(ctx)); err != nil {
			u.svc.logErr("removing a finished upload", err)
		}
	})
	return a, created, nil
}

// Expire removes uploads untouched for longer than ttl (abandoned on a
// phone that never came back); it reports how many.
func (u *Uploads) Expire(ttl time.Duration) (int, error) {
	entries, err := os.ReadDir(u.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	cutoff := time.Now().Add(-ttl)
	n := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "ansinh-") { // a file being checked when a process died
			if fi, err := e.Info(); err == nil && fi.ModTime().Before(cutoff) {
				_ = os.Remove(filepath.Join(u.dir, e.Name()))
			}
			continue
		}
		id, ok := strings.CutSuffix(e.Name(), ".info")
		if !ok || !validID(id) {
			continue
		}
		newest := time.Time{}
		for _, name := range []string{id, id + ".info"} {
			if fi, err := os.Stat(filepath.Join(u.dir, name)); err == nil && fi.ModTime().After(newest) {
				newest = fi.ModTime()
			}
		}
		if newest.After(cutoff) {
			continue
		}
		for _, name := range []string{id, id + ".info", id + ".lock", id + ".stop"} {
			_ = os.Remove(filepath.Join(u.dir, name))
		}
		n++
	}
	return n, nil
}

func (s *Service) logErr(msg string, err error) {
	if s.log != nil {
		s.log.Warn(msg, "error", err.Error())
	}
}
