package attachment

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/ratelimit"
	"github.com/ansinh/ansinh/internal/platform/web"
)

// Paths whose bodies are files (their body limits are raised) or streams
// (answered without gzip).
const (
	AttachPath  = "/api/v1/attachments"
	UploadsPath = "/api/v1/uploads"
	UploadPath  = "/api/v1/uploads/:id"
)

// NoCompress are the paths answered without gzip: the tus protocol and file
// downloads (already compressed, served with byte ranges).
var NoCompress = []string{`^/api/v1/uploads(/|$)`, `^/api/v1/attachments/[^/]+/(content|thumbnail)$`}

// Handler serves the attachments API and the resumable uploads.
type Handler struct {
	svc       *Service
	uploads   *Uploads
	directMax int64
	tempDir   string
	log       *slog.Logger
}

// NewHandler makes the handlers; directMax is the largest file sent in one
// request, tempDir where such a file waits while it is checked.
func NewHandler(svc *Service, uploads *Uploads, directMax int64, tempDir string, log *slog.Logger) *Handler {
	return &Handler{svc: svc, uploads: uploads, directMax: directMax, tempDir: tempDir, log: log}
}

// Register mounts the routes.
func (h *Handler) Register(r *access.Routes) {
	r.Public(http.MethodOptions, "/uploads", h.tus(http.MethodOptions, false))
	r.Kind(ratelimit.Upload).HandleStream(http.MethodPost, "/uploads", "attachment", "write", h.createUpload())
	r.HandleStream(http.MethodHead, "/uploads/:id", "attachment", "write", h.tus(http.MethodHead, true))
	r.HandleStream(http.MethodPatch, "/uploads/:id", "attachment", "write", h.tus(http.MethodPatch, true))
	r.HandleStream(http.MethodDelete, "/uploads/:id", "attachment", "write", h.tus(http.MethodDelete, true))
	r.Kind(ratelimit.Upload).Handle(http.MethodPost, "/attachments", "attachment", "write", h.attach)
	r.Handle(http.MethodGet, "/attachments", "attachment", "read", h.list)
	r.Handle(http.MethodGet, "/attachments/:id", "attachment", "read", h.get)
	r.Handle(http.MethodGet, "/attachments/:id/content", "attachment", "read", h.content(false))
	r.Handle(http.MethodGet, "/attachments/:id/thumbnail", "attachment", "read", h.content(true))
	r.Handle(http.MethodPost, "/attachments/:id/archive", "attachment", "archive", h.archive)
}

// ---- tus ----

// createUpload checks the declared subject, kind and size before tusd
// creates anything.
func (h *Handler) createUpload() web.HandlerFunc {
	create := h.tus(http.MethodPost, false)
	return func(c *gin.Context) error {
		ctx := c.Request.Context()
		ctx, err := h.uploads.Prepare(ctx, access.ScopeFrom(ctx), c.Request.Header)
		if err != nil {
			if apperr.Is(err, apperr.TooManyRequests) { // too_many_jobs: the caller's own uploads must end first
				c.Header("Retry-After", "60")
			}
			return err
		}
		c.Request = c.Request.WithContext(ctx)
		return create(c)
	}
}

// tus hands the request to tusd, after checking that the upload is the
// caller's when it names one. tusd writes its answer itself (its own errors
// turned into problems by problemWriter), so the handler returns nil then.
func (h *Handler) tus(method string, owned bool) web.HandlerFunc {
	handler := h.uploads.Handler(method)
	return func(c *gin.Context) error {
		if owned {
			if err := h.uploads.Owned(c.Request.Context(), c.Param("id")); err != nil {
				return err
			}
		}
		pw := &problemWriter{ResponseWriter: c.Writer, r: c.Request}
		handler.ServeHTTP(pw, c.Request)
		pw.finish()
		c.Abort()
		return nil
	}
}

// problemWriter turns tusd's plain-text errors ("ERR_MISMATCHED_OFFSET:
// mismatched offset") into problem+json with a stable code
// (upload_mismatched_offset, upload_not_found), keeping tusd's status except
// for its transient failures, which tusd answers 500 although nothing is
// wrong with the server: a lock still held by the same upload's earlier
// request is 503 with Retry-After, a body that stalled or broke off is 408.
// The client then asks the offset (HEAD) and resumes. An error's header waits
// for its body, which names the error.
type problemWriter struct {
	http.ResponseWriter
	r       *http.Request
	status  int
	written bool // the error's problem has been written
}

// transientStatus is the status deserved by those of tusd's errors that it
// answers 500 although they are no failure of the server.
func transientStatus(code string) (int, bool) {
	switch code {
	case "upload_lock_timeout":
		return http.StatusServiceUnavailable, true
	case "upload_read_timeout", "upload_connection_reset":
		return http.StatusRequestTimeout, true
	}
	return 0, false
}

func (w *problemWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *problemWriter) WriteHeader(status int) {
	w.status = status
	if status < 400 {
		w.ResponseWriter.WriteHeader(status)
	}
}

func (w *problemWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.status < 400 {
		return w.ResponseWriter.Write(b)
	}
	if !w.written {
		code, msg, _ := strings.Cut(strings.TrimSpace(string(b)), ": ")
		if err := w.problem(code, msg); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}

// finish writes the problem of an error status that came without a body.
func (w *problemWriter) finish() {
	if w.status >= 400 && !w.written {
		_ = w.problem("ERR_"+strings.ReplaceAll(strings.ToUpper(http.StatusText(w.status)), " ", "_"), http.StatusText(w.status))
	}
}

func (w *problemWriter) problem(code, msg string) error {
	w.written = true
	code = strings.ToLower(strings.TrimPrefix(code, "ERR_"))
	if !strings.HasPrefix(code, "upload_") {
		code = "upload_" + code
	}
	status := w.status
	if s, ok := transientStatus(code); ok && status >= 500 {
		status = s
	}
	p := web.NewProblem(w.r, errors.New(msg))
	p.Type, p.Title, p.Status, p.Code, p.Detail = "urn:ansinh:problem:"+code, http.StatusText(status), status, code, msg
	if status >= 500 || status == http.StatusRequestTimeout {
		p.Detail = "the upload could not be processed; ask its offset (HEAD) and resume"
	}
	h := w.Header()
	h.Set("Content-Type", web.ProblemContentType)
	h.Del("Content-Length")
	h.Set("Cache-Control", "no-store")
	if status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "5")
	}
	w.ResponseWriter.WriteHeader(status)
	if w.r.Method == http.MethodHead {
		return nil
	}
	out, _ := json.Marshal(p)
	_, err := w.ResponseWriter.Write(out)
	return err
}

// ---- attachments ----

// GPSIn is a position in WGS 84 degrees.
type GPSIn struct {
	Lat *float64 `json:"lat"`
	Lon *float64 `json:"lon"`
}

// FinishIn attaches a finished resumable upload.
type FinishIn struct {
	UploadID string  `json:"upload_id"`
	Caption  string  `json:"caption"`
	TakenAt  *string `json:"taken_at"`
	GPS      *GPSIn  `json:"gps"`
}

// Out is an attachment as the API shows it.
type Out struct {
	ID               uuid.UUID  `json:"id"`
	SubjectType      string     `json:"subject_type"`
	SubjectID        uuid.UUID  `json:"subject_id"`
	Kind             string     `json:"kind"`
	Caption          string     `json:"caption"`
	TakenAt          *time.Time `json:"taken_at,omitempty"`
	GPS              *PointOut  `json:"gps,omitempty"`
	FileName         string     `json:"file_name"`
	Size             int64      `json:"size"`
	SHA256           string     `json:"sha256"`
	ContentType      string     `json:"content_type"`
	MetadataStripped bool       `json:"metadata_stripped"`
	HasThumbnail     bool       `json:"has_thumbnail"`
	Status           string     `json:"status"`
	ArchiveReason    string     `json:"archive_reason,omitempty"`
	ArchivedAt       *time.Time `json:"archived_at,omitempty"`
	UploadedBy       *uuid.UUID `json:"uploaded_by,omitempty"`
	Version          int        `json:"version"`
	CreatedAt        time.Time  `json:"created_at"`
	ContentURL       string     `json:"content_url"`
	ThumbnailURL     string     `json:"thumbnail_url,omitempty"`
}

// PointOut is a GPS position.
type PointOut struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

func out(a Attachment) Out {
	o := Out{ID: a.ID, SubjectType: a.Subject.Type, SubjectID: a.Subject.ID, Kind: a.Kind, Caption: a.Caption, TakenAt: a.TakenAt,
		FileName: DownloadName(a), Size: a.Size, SHA256: a.SHA256, ContentType: a.ContentType, MetadataStripped: a.MetadataStripped,
		HasThumbnail: a.ThumbnailKey != "", Status: a.Status, ArchiveReason: a.ArchiveReason, ArchivedAt: a.ArchivedAt,
		UploadedBy: a.UploadedBy, Version: a.Version, CreatedAt: a.CreatedAt.UTC(),
		ContentURL: AttachPath + "/" + a.ID.String() + "/content"}
	if a.GPS != nil {
		o.GPS = &PointOut{Lat: a.GPS.Lat, Lon: a.GPS.Lon}
	}
	if a.ThumbnailKey != "" {
		o.ThumbnailURL = AttachPath + "/" + a.ID.String() + "/thumbnail"
	}
	return o
}

func (h *Handler) write(c *gin.Context, status int, a Attachment) {
	web.SetVersionETag(c, a.Version)
	c.Header("Cache-Control", "no-store")
	if status == http.StatusCreated {
		c.Header("Location", AttachPath+"/"+a.ID.String())
	}
	c.JSON(status, out(a))
}

// parseExtra reads the caption, time and place common to both ways of attaching.
func parseExtra(fe *apperr.FieldList, caption string, takenAt *string, lat, lon *float64) Details {
	d := Details{Caption: caption}
	if takenAt != nil && *takenAt != "" {
		t, err := time.Parse(time.RFC3339, *takenAt)
		if err != nil {
			fe.Add("taken_at", "invalid", "must be an RFC 3339 time such as 2026-11-28T09:00:00+07:00")
		} else {
			d.TakenAt = &t
		}
	}
	switch {
	case lat != nil && lon != nil:
		d.GPS = &Point{Lat: *lat, Lon: *lon}
	case lat != nil || lon != nil:
		fe.Add("gps", "invalid", "give both lat and lon")
	}
	return d
}

// attach takes a finished resumable upload (JSON with upload_id) or a small
// file in one multipart/form-data request. A file the subject already has
// answers 200 with the existing attachment instead of 201.
func (h *Handler) attach(c *gin.Context) error {
	ctx := c.Request.Context()
	scope := access.ScopeFrom(ctx)
	mt, params, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	var a Attachment
	var created bool
	var err error
	switch mt {
	case "application/json":
		var in FinishIn
		if err := web.BindJSON(c, &in); err != nil {
			return err
		}
		var fe apperr.FieldList
		var lat, lon *float64
		if in.GPS != nil {
			lat, lon = in.GPS.Lat, in.GPS.Lon // parseExtra checks both are there
		}
		extra := parseExtra(&fe, in.Caption, in.TakenAt, lat, lon)
		if in.UploadID == "" {
			fe.Add("upload_id", "required", "the id of a finished upload (the last part of its Location)")
		}
		if err := fe.Err(); err != nil {
			return err
		}
		a, created, err = h.uploads.Finish(ctx, scope, in.UploadID, extra)
	case "multipart/form-data":
		a, created, err = h.attachForm(c, params["boundary"])
	default:
		err = apperr.New(apperr.UnsupportedMedia, "attachment_body_type",
			"send application/json with the upload_id of a finished upload, or the file as multipart/form-data")
	}
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	h.write(c, status, a)
	return nil
}

// attachForm reads a multipart form: the fields subject_type, subject_id,
// kind, caption, taken_at, gps_lat, gps_lon and one file part named file,
// spooled to a temporary file (refused past the limit without reading on).
func (h *Handler) attachForm(c *gin.Context, boundary string) (Attachment, bool, error) {
	if boundary == "" {
		return Attachment{}, false, apperr.New(apperr.Invalid, "invalid_form", "the multipart body has no boundary")
	}
	mr := multipart.NewReader(c.Request.Body, boundary)
	fields := map[string]string{}
	var file *os.File
	var size int64
	defer func() {
		if file != nil {
			file.Close()
			os.Remove(file.Name())
		}
	}()
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return Attachment{}, false, h.tooLargeForDirect()
			}
			return Attachment{}, false, apperr.Wrap(err, apperr.Invalid, "invalid_form", "the multipart body could not be read")
		}
		name := part.FormName()
		if name == "file" {
			if file != nil {
				return Attachment{}, false, apperr.Fields([]apperr.FieldError{{Field: "file", Code: "invalid", Message: "send one file"}})
			}
			if fields["filename"] == "" {
				fields["filename"] = part.FileName()
			}
			if file, err = tempFile(h.tempDir, "ansinh-direct-*"); err != nil {
				return Attachment{}, false, err
			}
			size, err = io.Copy(file, io.LimitReader(part, h.directMax+1))
			if err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					return Attachment{}, false, h.tooLargeForDirect()
				}
				return Attachment{}, false, apperr.Wrap(err, apperr.Invalid, "invalid_form", "the file part could not be read")
			}
			if size > h.directMax {
				return Attachment{}, false, h.tooLargeForDirect()
			}
			continue
		}
		v, err := io.ReadAll(io.LimitReader(part, 4096))
		if err != nil {
			return Attachment{}, false, apperr.Wrap(err, apperr.Invalid, "invalid_form", "the multipart body could not be read")
		}
		fields[name] = string(v)
	}
	var fe apperr.FieldList
	float := func(name string) *float64 {
		if fields[name] == "" {
			return nil
		}
		v, err := strconv.ParseFloat(fields[name], 64)
		if err != nil {
			fe.Add(name, "invalid", "must be a number of degrees")
			return nil
		}
		return &v
	}
	takenAt := fields["taken_at"]
	d := parseExtra(&fe, fields["caption"], &takenAt, float("gps_lat"), float("gps_lon"))
	d.Subject.Type, d.Kind, d.FileName = fields["subject_type"], fields["kind"], fields["filename"]
	if id, err := uuid.Parse(fields["subject_id"]); err == nil {
		d.Subject.ID = id
	} else {
		fe.Add("subject_id", "required", "the subject's id (a UUID)")
	}
	if file == nil {
		fe.Add("file", "required", "send the file in a part named file")
	}
	if err := fe.Err(); err != nil {
		return Attachment{}, false, err
	}
	ctx := c.Request.Context()
	return h.svc.Attach(ctx, access.ScopeFrom(ctx), d, file, size)
}

func (h *Handler) tooLargeForDirect() error {
	return apperr.New(apperr.TooLarge, "attachment_too_large",
		"a file sent in one request may be at most %d bytes (%s): send larger files as a resumable upload (%s)", h.directMax,
		human(h.directMax), UploadsPath)
}

// pathID is the attachment's id in the path; a malformed one names no
// attachment.
func pathID(c *gin.Context) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return uuid.Nil, errNotFound
	}
	return id, nil
}

func (h *Handler) get(c *gin.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	a, err := h.svc.Get(ctx, access.ScopeFrom(ctx), id)
	if err != nil {
		return err
	}
	h.write(c, http.StatusOK, a)
	return nil
}

// list answers one page of attachments in id order, uncached (lists hold
// personal data).
func (h *Handler) list(c *gin.Context) error {
	q := web.NewQuery(c)
	var f Filter
	st, sid := q.String("subject_type", 20), q.UUID("subject_id")
	switch {
	case st != "" && sid != nil:
		f.Subject = &Subject{Type: st, ID: *sid}
	case st != "" || sid != nil:
		q.Require("subject_type")
		q.Require("subject_id")
	}
	f.Kind = q.String("kind", 20)
	if b := q.Bool("include_archived"); b != nil {
		f.IncludeArchived = *b
	}
	return web.ServeIDPage(c, q, 50, 200, func(ctx context.Context, after uuid.UUID, limit int) ([]Attachment, error) {
		return h.svc.List(ctx, access.ScopeFrom(ctx), f, after, limit)
	}, out, func(a Attachment) uuid.UUID { return a.ID })
}

// content serves the file (or its thumbnail) with its detected type, as a
// download under a safe name, never to be sniffed or run by a browser.
func (h *Handler) content(thumb bool) web.HandlerFunc {
	return func(c *gin.Context) error {
		id, err := pathID(c)
		if err != nil {
			return err
		}
		ctx := c.Request.Context()
		a, rc, err := h.svc.Open(ctx, access.ScopeFrom(ctx), id, thumb)
		if err != nil {
			return err
		}
		defer rc.Close()
		ct, name, size := a.ContentType, DownloadName(a), a.Size
		if thumb {
			ct, name, size = TypeJPEG, strings.TrimSuffix(name, extensions[a.ContentType])+"-thumbnail.jpg", -1
		}
		hd := c.Writer.Header()
		hd.Set("Content-Type", ct)
		hd.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Content-Security-Policy", "default-src 'none'; sandbox")
		hd.Set("Cache-Control", "private, no-store")
		if !thumb {
			hd.Set("ETag", `"`+a.SHA256+`"`)
		}
		if rs, ok := rc.(io.ReadSeeker); ok {
			http.ServeContent(c.Writer, c.Request, "", a.CreatedAt, rs)
			return nil
		}
		if size >= 0 {
			hd.Set("Content-Length", strconv.FormatInt(size, 10))
		}
		c.Status(http.StatusOK)
		if _, err := io.Copy(c.Writer, rc); err != nil {
			// The answer has begun: the error can only be noted.
			h.log.WarnContext(ctx, "attachment download interrupted", "attachment", a.ID.String(), "error", err.Error())
		}
		return nil
	}
}

// ArchiveIn says why an attachment is archived.
type ArchiveIn struct {
	Reason string `json:"reason"`
}

func (h *Handler) archive(c *gin.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var in ArchiveIn
	version, err := web.BindChange(c, &in)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	a, err := h.svc.Archive(ctx, access.ScopeFrom(ctx), id, version, in.Reason)
	if err != nil {
		return err
	}
	h.write(c, http.StatusOK, a)
	return nil
}
