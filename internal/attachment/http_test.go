package attachment_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/app"
	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/attachment/attachmenttest"
	"github.com/ansinh/ansinh/internal/auth"
	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
)

type attachmentOut struct {
	ID               string `json:"id"`
	SubjectType      string `json:"subject_type"`
	SubjectID        string `json:"subject_id"`
	Kind             string `json:"kind"`
	Caption          string `json:"caption"`
	FileName         string `json:"file_name"`
	Size             int64  `json:"size"`
	SHA256           string `json:"sha256"`
	ContentType      string `json:"content_type"`
	MetadataStripped bool   `json:"metadata_stripped"`
	HasThumbnail     bool   `json:"has_thumbnail"`
	Status           string `json:"status"`
	ArchiveReason    string `json:"archive_reason"`
	Version          int    `json:"version"`
	TakenAt          string `json:"taken_at"`
	GPS              *struct {
		Lat float64 `json:"lat"`
		Lon float64 `json:"lon"`
	} `json:"gps"`
}

func decodeAttachment(t *testing.T, w *httptest.ResponseRecorder) attachmentOut {
	t.Helper()
	var a attachmentOut
	if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil || a.ID == "" {
		t.Fatalf("not an attachment: %d %s", w.Code, w.Body.String())
	}
	return a
}

// newAttachmentApp is an app with small, test-sized limits; dir is its
// attachments directory.
func newAttachmentApp(t *testing.T) (a *app.App, dir string) {
	t.Helper()
	d := dbtest.NewDatabase(t)
	dir = t.TempDir()
	a = apptest.NewOn(t, apptest.Config(t, d.AppURL,
		"ANSINH_ATTACHMENTS_DIR", dir,
		"ANSINH_ATTACHMENTS_MAX_BYTES", "id_scan:200000,house_photo:300000,other:5000000",
		"ANSINH_ATTACHMENTS_DIRECT_MAX_BYTES", "100000"))
	return a, dir
}

func tusMetadata(kv ...string) string {
	var parts []string
	for i := 0; i < len(kv); i += 2 {
		parts = append(parts, kv[i]+" "+base64.StdEncoding.EncodeToString([]byte(kv[i+1])))
	}
	return strings.Join(parts, ",")
}

// tusRequest makes a tus request through the handler.
func tusRequest(t *testing.T, h http.Handler, method, path, token string, headers map[string]string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Tus-Resumable", "1.0.0")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	apptest.Check(t, req, w)
	return w
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// An upload cut off half way by a dropped connection resumes where the
// server says it stopped, and the attached file is exactly the original.
func TestResumableUploadSurvivesADroppedConnection(t *testing.T) {
	t.Parallel()
	a, _ := newAttachmentApp(t)
	h := a.Handler()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	apptest.CreateUser(t, a, "tus-worker", "commune_worker", "30791", false)
	apptest.CreateUser(t, a, "tus-other", "commune_worker", "30791", false)
	worker := apptest.Login(t, h, "tus-worker", apptest.Password).AccessToken
	other := apptest.Login(t, h, "tus-other", apptest.Password).AccessToken
	hh := apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("TUS-1", "30791", "")))

	// The signed minutes of a village meeting: a 3 MB scanned PDF.
	file := append([]byte("%PDF-1.7\n"), make([]byte, 3<<20)...)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 9; i < len(file); i++ {
		file[i] = byte(r.UintN(256))
	}
	total := len(file)

	w := tusRequest(t, h, "POST", "/api/v1/uploads", worker, map[string]string{"Upload-Length": strconv.Itoa(total),
		"Upload-Metadata": tusMetadata("subject_type", "household", "subject_id", hh.ID, "kind", "minutes", "filename", "Biên bản họp thôn.pdf")}, nil)
	if w.Code != http.StatusCreated || w.Header().Get("Tus-Resumable") != "1.0.0" {
		t.Fatalf("create: %d %v %s", w.Code, w.Header(), w.Body.String())
	}
	loc := w.Header().Get("Location")
	id := loc[strings.LastIndex(loc, "/")+1:]
	if !strings.Contains(loc, "/api/v1/uploads/") || len(id) != 32 {
		t.Fatalf("Location %q", loc)
	}
	path := "/api/v1/uploads/" + id

	// The first PATCH carries the whole length but the connection drops half way.
	half := total / 2
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "PATCH %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"+
		"Content-Type: application/offset+octet-stream\r\nContent-Length: %d\r\n\r\n", path, srv.Listener.Addr(), worker, total)
	if _, err := conn.Write(file[:half]); err != nil {
		t.Fatal(err)
	}
	conn.Close()

	// Until the interrupted request is wound up, the offset may still grow;
	// the server keeps every byte that arrived, which is exactly half.
	var offset int
	deadline := time.Now().Add(20 * time.Second)
	for {
		w = tusRequest(t, h, "HEAD", path, worker, nil, nil)
		if w.Code != http.StatusOK {
			t.Fatalf("HEAD: %d %s", w.Code, w.Body.String())
		}
		offset, _ = strconv.Atoi(w.Header().Get("Upload-Offset"))
		if offset == half || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if offset != half || w.Header().Get("Upload-Length") != strconv.Itoa(total) {
		t.Fatalf("after the drop the server has %d bytes, want %d (%v)", offset, half, w.Header())
	}

	// Nobody else may look at, resume or attach the upload.
	if w := tusRequest(t, h, "HEAD", path, other, nil, nil); w.Code != http.StatusNotFound {
		t.Fatalf("another user's HEAD: %d", w.Code)
	}
	if w := tusRequest(t, h, "PATCH", path, other, map[string]string{"Upload-Offset": strconv.Itoa(offset),
		"Content-Type": "application/offset+octet-stream"}, file[offset:]); w.Code != http.StatusNotFound || apptest.ProblemCode(t, w) != "upload_not_found" {
		t.Fatalf("another user's PATCH: %d %s", w.Code, w.Body.String())
	}
	// Attaching before the last byte is refused.
	if w := apptest.Send(t, h, "POST", "/api/v1/attachments", worker, map[string]any{"upload_id": id}); w.Code != http.StatusConflict ||
		apptest.ProblemCode(t, w) != "upload_incomplete" {
		t.Fatalf("attach of a half upload: %d %s", w.Code, w.Body.String())
	}
	// A resume from a wrong offset is a problem too.
	if w := tusRequest(t, h, "PATCH", path, worker, map[string]string{"Upload-Offset": "0",
		"Content-Type": "application/offset+octet-stream"}, file[:10]); w.Code != http.StatusConflict || apptest.ProblemCode(t, w) != "upload_mismatched_offset" {
		t.Fatalf("PATCH at a stale offset: %d %s", w.Code, w.Body.String())
	}

	// Resume from the server's offset, over the network.
	req, _ := http.NewRequest("PATCH", srv.URL+path, bytes.NewReader(file[offset:]))
	req.Header.Set("Authorization", "Bearer "+worker)
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Upload-Offset", strconv.Itoa(offset))
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Upload-Offset") != strconv.Itoa(total) {
		t.Fatalf("resume: %d %v", resp.StatusCode, resp.Header)
	}

	// Attach it: the stored file's hash is the original's.
	w = apptest.Send(t, h, "POST", "/api/v1/attachments", worker, map[string]any{"upload_id": id, "caption": "Biên bản bình xét hộ nghèo",
		"taken_at": "2026-11-20T09:30:00+07:00", "gps": map[string]float64{"lat": 10.0251, "lon": 105.0875}})
	if w.Code != http.StatusCreated {
		t.Fatalf("attach: %d %s", w.Code, w.Body.String())
	}
	att := decodeAttachment(t, w)
	if att.SHA256 != sha(file) || att.Size != int64(total) || att.ContentType != "application/pdf" || att.MetadataStripped ||
		att.FileName != "Biên bản họp thôn.pdf" || att.SubjectID != hh.ID || att.TakenAt != "2026-11-20T02:30:00Z" || att.GPS == nil ||
		att.GPS.Lat != 10.0251 {
		t.Fatalf("attached: %+v", att)
	}
	if n := apptest.CountEvents(t, a, "attachment.create"); n != 1 {
		t.Fatalf("attachment.create events: %d", n)
	}
	w = apptest.Send(t, h, "GET", "/api/v1/attachments/"+att.ID+"/content", worker, nil)
	if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), file) || w.Header().Get("Content-Type") != "application/pdf" ||
		w.Header().Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(w.Header().Get("Content-Disposition"), "attachment;") ||
		!strings.Contains(w.Header().Get("Content-Disposition"), "filename*=utf-8''Bi%C3%AAn") {
		t.Fatalf("download: %d %v (%d bytes)", w.Code, w.Header(), w.Body.Len())
	}
	// A download resumes too (byte ranges).
	req = httptest.NewRequest("GET", "/api/v1/attachments/"+att.ID+"/content", nil)
	req.Header.Set("Authorization", "Bearer "+worker)
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-", half))
	rw := httptest.NewRecorder()
	h.ServeHTTP(rw, req)
	apptest.Check(t, req, rw)
	if rw.Code != http.StatusPartialContent || !bytes.Equal(rw.Body.Bytes(), file[half:]) {
		t.Fatalf("range: %d (%d bytes)", rw.Code, rw.Body.Len())
	}
	// The partial upload is gone once attached.
	if w := tusRequest(t, h, "HEAD", path, worker, nil, nil); w.Code != http.StatusNotFound {
		t.Fatalf("a finished upload is removed: %d", w.Code)
	}
}

// Sizes and types are checked from what the client declares and from the
// bytes, before anything is stored; the problems say why.
func TestAttachmentLimitsAndTypes(t *testing.T) {
	t.Parallel()
	a, dir := newAttachmentApp(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "lim-worker", "commune_worker", "30791", false)
	apptest.CreateUser(t, a, "lim-worker2", "commune_worker", "31036", false)
	worker := apptest.Login(t, h, "lim-worker", apptest.Password).AccessToken
	worker2 := apptest.Login(t, h, "lim-worker2", apptest.Password).AccessToken
	hh := apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("LIM-1", "30791", "")))
	far := apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", worker2, apptest.HouseholdBody("LIM-2", "31036", "")))
	meta := func(subject, kind string) string {
		return tusMetadata("subject_type", "household", "subject_id", subject, "kind", kind, "filename", "cccd.jpg")
	}

	// An ID scan over its kind's 200,000 bytes: refused at creation.
	w := tusRequest(t, h, "POST", "/api/v1/uploads", worker, map[string]string{"Upload-Length": "200001", "Upload-Metadata": meta(hh.ID, "id_scan")}, nil)
	if w.Code != http.StatusRequestEntityTooLarge || apptest.ProblemCode(t, w) != "attachment_too_large" ||
		!strings.Contains(w.Body.String(), "200000 bytes") {
		t.Fatalf("oversized upload: %d %s", w.Code, w.Body.String())
	}
	w = tusRequest(t, h, "POST", "/api/v1/uploads", worker, map[string]string{"Upload-Length": "200001", "Upload-Metadata": meta(hh.ID, "id_scan"),
		"Accept-Language": "vi"}, nil)
	if !strings.Contains(w.Body.String(), "dung lượng") {
		t.Fatalf("the problem in Vietnamese: %s", w.Body.String())
	}
	// The same size is fine for a house photo (300,000), which shows the limit is per kind.
	w = tusRequest(t, h, "POST", "/api/v1/uploads", worker, map[string]string{"Upload-Length": "200001", "Upload-Metadata": meta(hh.ID, "house_photo")}, nil)
	if w.Code != http.StatusCreated {
		t.Fatalf("house photo of 200001 bytes: %d %s", w.Code, w.Body.String())
	}
	created := w.Header().Get("Location")
	// Creation carrying its bytes (creation-with-upload) is checked the same way.
	w = tusRequest(t, h, "POST", "/api/v1/uploads", worker, map[string]string{"Upload-Length": "400000", "Upload-Metadata": meta(hh.ID, "house_photo"),
		"Content-Type": "application/offset+octet-stream"}, make([]byte, 1000))
	if w.Code != http.StatusRequestEntityTooLarge || apptest.ProblemCode(t, w) != "attachment_too_large" {
		t.Fatalf("oversized creation with bytes: %d %s", w.Code, w.Body.String())
	}
	// Bad metadata names its fields; a subject outside the caller's areas is not found.
	w = tusRequest(t, h, "POST", "/api/v1/uploads", worker, map[string]string{"Upload-Length": "10",
		"Upload-Metadata": tusMetadata("subject_type", "village", "kind", "selfie")}, nil)
	if w.Code != 422 || !strings.Contains(w.Body.String(), "Upload-Metadata.kind") || !strings.Contains(w.Body.String(), "Upload-Metadata.subject_type") {
		t.Fatalf("bad metadata: %d %s", w.Code, w.Body.String())
	}
	w = tusRequest(t, h, "POST", "/api/v1/uploads", worker, map[string]string{"Upload-Length": "10", "Upload-Metadata": meta(far.ID, "minutes")}, nil)
	if w.Code != http.StatusNotFound || apptest.ProblemCode(t, w) != "subject_not_found" {
		t.Fatalf("subject out of scope: %d %s", w.Code, w.Body.String())
	}
	w = tusRequest(t, h, "POST", "/api/v1/uploads", worker, map[string]string{"Upload-Defer-Length": "1", "Upload-Metadata": meta(hh.ID, "minutes")}, nil)
	if w.Code != 422 {
		t.Fatalf("deferred length: %d %s", w.Code, w.Body.String())
	}
	// Only the one accepted upload exists on disk.
	infos, _ := filepath.Glob(filepath.Join(dir, "uploads", "*.info"))
	if len(infos) != 1 || !strings.HasSuffix(created, strings.TrimSuffix(filepath.Base(infos[0]), ".info")) {
		t.Fatalf("uploads on disk: %v (created %s)", infos, created)
	}
	// Abandoning it removes it.
	if w := tusRequest(t, h, "DELETE", created[strings.Index(created, "/api/"):], worker, nil, nil); w.Code != http.StatusNoContent {
		t.Fatalf("abandon: %d %s", w.Code, w.Body.String())
	}
	if infos, _ := filepath.Glob(filepath.Join(dir, "uploads", "*")); len(infos) != 0 {
		t.Fatalf("abandoned upload left files: %v", infos)
	}

	// A finished upload whose bytes are refused (text sent as a house photo)
	// is removed: no retry could attach it.
	text := []byte("Xin chào, đây không phải là ảnh.")
	w = tusRequest(t, h, "POST", "/api/v1/uploads", worker, map[string]string{"Upload-Length": strconv.Itoa(len(text)),
		"Upload-Metadata": meta(hh.ID, "house_photo"), "Content-Type": "application/offset+octet-stream"}, text)
	if w.Code != http.StatusCreated || w.Header().Get("Upload-Offset") != strconv.Itoa(len(text)) {
		t.Fatalf("creation with the whole file: %d %v %s", w.Code, w.Header(), w.Body.String())
	}
	textLoc := w.Header().Get("Location")
	textID := textLoc[strings.LastIndex(textLoc, "/")+1:]
	if w := apptest.Send(t, h, "POST", "/api/v1/attachments", worker, map[string]any{"upload_id": textID}); w.Code != http.StatusUnsupportedMediaType ||
		apptest.ProblemCode(t, w) != "attachment_type_not_allowed" {
		t.Fatalf("text upload attached as a house photo: %d %s", w.Code, w.Body.String())
	}
	if w := tusRequest(t, h, "HEAD", "/api/v1/uploads/"+textID, worker, nil, nil); w.Code != http.StatusNotFound {
		t.Fatalf("a refused upload is removed: %d", w.Code)
	}

	fields := func(kind string) map[string]string {
		return map[string]string{"subject_type": "household", "subject_id": hh.ID, "kind": kind}
	}
	// One request carries at most 100,000 bytes: larger files go resumable.
	big := append(attachmenttest.JPEG(1), make([]byte, 100_001)...)
	w = apptest.AttachFile(t, h, worker, fields("house_photo"), "nha.jpg", big)
	if w.Code != http.StatusRequestEntityTooLarge || apptest.ProblemCode(t, w) != "attachment_too_large" || !strings.Contains(w.Body.String(), "/api/v1/uploads") {
		t.Fatalf("direct oversized: %d %s", w.Code, w.Body.String())
	}
	// A text file claiming to be a JPEG (name and part type) is refused.
	w = apptest.AttachFile(t, h, worker, fields("house_photo"), "nha.jpg", []byte("Xin chào, đây không phải là ảnh."))
	if w.Code != http.StatusUnsupportedMediaType || apptest.ProblemCode(t, w) != "attachment_type_not_allowed" || !strings.Contains(w.Body.String(), "text/plain") {
		t.Fatalf("text as JPEG: %d %s", w.Code, w.Body.String())
	}
	// HTML named .pdf is refused; a PDF is not a house photo.
	w = apptest.AttachFile(t, h, worker, fields("decision"), "quyet-dinh.pdf", []byte("<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"))
	if w.Code != http.StatusUnsupportedMediaType || apptest.ProblemCode(t, w) != "attachment_type_not_allowed" {
		t.Fatalf("HTML as PDF: %d %s", w.Code, w.Body.String())
	}
	w = apptest.AttachFile(t, h, worker, fields("house_photo"), "nha.jpg", []byte("%PDF-1.4\n%%EOF\n"))
	if w.Code != http.StatusUnsupportedMediaType || apptest.ProblemCode(t, w) != "attachment_type_not_allowed" {
		t.Fatalf("PDF as house photo: %d %s", w.Code, w.Body.String())
	}
	// Something that starts like a JPEG but is not one.
	w = apptest.AttachFile(t, h, worker, fields("house_photo"), "nha.jpg", append([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0}, make([]byte, 500)...))
	if w.Code != 422 || apptest.ProblemCode(t, w) != "attachment_unreadable" {
		t.Fatalf("damaged JPEG: %d %s", w.Code, w.Body.String())
	}
	// A PNG renamed .pdf is taken for what it is: a PNG, downloaded as .png.
	w = apptest.AttachFile(t, h, worker, fields("decision"), "quyet-dinh.pdf", attachmenttest.PNG())
	if w.Code != http.StatusCreated {
		t.Fatalf("PNG named .pdf: %d %s", w.Code, w.Body.String())
	}
	png := decodeAttachment(t, w)
	if png.ContentType != "image/png" || png.FileName != "quyet-dinh.png" || !png.MetadataStripped || !png.HasThumbnail {
		t.Fatalf("PNG named .pdf: %+v", png)
	}
	w = apptest.Send(t, h, "GET", "/api/v1/attachments/"+png.ID+"/content", worker, nil)
	if w.Header().Get("Content-Type") != "image/png" || !strings.Contains(w.Header().Get("Content-Disposition"), `filename=quyet-dinh.png`) {
		t.Fatalf("download of the PNG: %v", w.Header())
	}
	// Neither JSON nor multipart.
	req := httptest.NewRequest("POST", "/api/v1/attachments", strings.NewReader("raw"))
	req.Header.Set("Authorization", "Bearer "+worker)
	req.Header.Set("Content-Type", "image/jpeg")
	rw := httptest.NewRecorder()
	h.ServeHTTP(rw, req)
	apptest.Check(t, req, rw)
	if rw.Code != http.StatusUnsupportedMediaType {
		t.Fatalf("raw body: %d %s", rw.Code, rw.Body.String())
	}
	// Refusals stored nothing: one row, its file and its thumbnail.
	rows := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM attachments`)
	objects := 0
	filepath.WalkDir(filepath.Join(dir, "objects"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			objects++
		}
		return nil
	})
	if rows != 1 || objects != 2 {
		t.Fatalf("after the refusals: %d rows, %d objects; want 1 and 2", rows, objects)
	}
}

// ID scans lose their location before they are stored (and the hash is the
// cleaned file's); house photos keep it as evidence. The same file is not
// stored twice for a subject.
func TestAttachmentLocationAndDuplicates(t *testing.T) {
	t.Parallel()
	a, _ := newAttachmentApp(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "loc-worker", "commune_worker", "30791", false)
	worker := apptest.Login(t, h, "loc-worker", apptest.Password).AccessToken
	hh := apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("LOC-1", "30791", "")))
	hh2 := apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("LOC-2", "30791", "")))
	member := hh.Members[0].ID

	scan := attachmenttest.JPEG(6)
	if has, _ := attachmenttest.HasLocation(scan); !has {
		t.Fatal("the fixture must carry a location")
	}
	w := apptest.AttachFile(t, h, worker, map[string]string{"subject_type": "member", "subject_id": member, "kind": "id_scan",
		"caption": "CCCD mặt trước"}, "cccd.jpg", scan)
	if w.Code != http.StatusCreated {
		t.Fatalf("id scan: %d %s", w.Code, w.Body.String())
	}
	id := decodeAttachment(t, w)
	stored := apptest.Send(t, h, "GET", "/api/v1/attachments/"+id.ID+"/content", worker, nil).Body.Bytes()
	if has, err := attachmenttest.HasLocation(stored); err != nil || has {
		t.Fatalf("the stored ID scan keeps a location (%v)", err)
	}
	if tags, _ := attachmenttest.Tags(stored); tags["Orientation"] != "6" {
		t.Fatalf("the orientation is kept: %v", tags)
	}
	if !id.MetadataStripped || id.SHA256 != sha(stored) || id.SHA256 == sha(scan) || id.Size != int64(len(stored)) {
		t.Fatalf("the hash and size are the cleaned file's: %+v (stored %s, original %s)", id, sha(stored), sha(scan))
	}
	if _, err := jpeg.Decode(bytes.NewReader(stored)); err != nil {
		t.Fatalf("the cleaned scan must decode: %v", err)
	}

	// The same scan again: the existing attachment, 200, nothing new stored.
	w = apptest.AttachFile(t, h, worker, map[string]string{"subject_type": "member", "subject_id": member, "kind": "id_scan"}, "cccd (1).jpg", scan)
	if w.Code != http.StatusOK || decodeAttachment(t, w).ID != id.ID {
		t.Fatalf("duplicate: %d %s", w.Code, w.Body.String())
	}

	// A house photo keeps its location, byte for byte.
	photo := attachmenttest.JPEG(1)
	w = apptest.AttachFile(t, h, worker, map[string]string{"subject_type": "household", "subject_id": hh.ID, "kind": "house_photo"}, "nha.jpg", photo)
	if w.Code != http.StatusCreated {
		t.Fatalf("house photo: %d %s", w.Code, w.Body.String())
	}
	house := decodeAttachment(t, w)
	got := apptest.Send(t, h, "GET", "/api/v1/attachments/"+house.ID+"/content", worker, nil).Body.Bytes()
	if has, _ := attachmenttest.HasLocation(got); !has || !bytes.Equal(got, photo) || house.MetadataStripped || house.SHA256 != sha(photo) {
		t.Fatalf("the house photo must be stored as sent: %+v", house)
	}
	tags, _ := attachmenttest.Tags(got)
	if !strings.Contains(tags["GPSLatitude"], "10/1") {
		t.Fatalf("GPS of the house photo: %v", tags)
	}
	// Its thumbnail is a small JPEG.
	w = apptest.Send(t, h, "GET", "/api/v1/attachments/"+house.ID+"/thumbnail", worker, nil)
	if w.Code != 200 || w.Header().Get("Content-Type") != "image/jpeg" {
		t.Fatalf("thumbnail: %d %v", w.Code, w.Header())
	}
	if img, err := jpeg.Decode(bytes.NewReader(w.Body.Bytes())); err != nil || img.Bounds().Dx() != 64 {
		t.Fatalf("thumbnail image: %v", err)
	}
	// The same photo on another household is that household's evidence too.
	w = apptest.AttachFile(t, h, worker, map[string]string{"subject_type": "household", "subject_id": hh2.ID, "kind": "house_photo"}, "nha.jpg", photo)
	if w.Code != http.StatusCreated || decodeAttachment(t, w).ID == house.ID {
		t.Fatalf("same photo, other household: %d %s", w.Code, w.Body.String())
	}
	// A PDF has no thumbnail.
	w = apptest.AttachFile(t, h, worker, map[string]string{"subject_type": "household", "subject_id": hh.ID, "kind": "certificate"}, "cert.pdf",
		[]byte("%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n"))
	pdf := decodeAttachment(t, w)
	if w := apptest.Send(t, h, "GET", "/api/v1/attachments/"+pdf.ID+"/thumbnail", worker, nil); w.Code != 404 || apptest.ProblemCode(t, w) != "thumbnail_not_available" {
		t.Fatalf("PDF thumbnail: %d %s", w.Code, w.Body.String())
	}
}

// Downloads are scoped like their subject and access-logged; auditors read
// but never write; archiving hides an attachment and records why.
func TestAttachmentScopeAccessLogAndArchive(t *testing.T) {
	t.Parallel()
	a, _ := newAttachmentApp(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "sc-worker", "commune_worker", "30791", false)
	apptest.CreateUser(t, a, "sc-far", "commune_worker", "31036", false)
	apptest.CreateUser(t, a, "sc-auditor", "province_auditor", "91", false)
	apptest.CreateUser(t, a, "sc-approver-far", "district_approver", "909", false)
	worker := apptest.Login(t, h, "sc-worker", apptest.Password).AccessToken
	far := apptest.Login(t, h, "sc-far", apptest.Password).AccessToken
	auditor := apptest.Login(t, h, "sc-auditor", apptest.Password).AccessToken
	approverFar := apptest.Login(t, h, "sc-approver-far", apptest.Password).AccessToken
	hh := apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("SC-1", "30791", "")))
	member := hh.Members[1].ID

	// Every kind of subject resolves to its area.
	rw := apptest.Send(t, h, "POST", "/api/v1/reviews", worker, map[string]any{"kind": "periodic", "commune_code": "30791", "year": 2026})
	review := apptest.Decode[struct{ ID string }](t, rw, 201)
	aw := apptest.Send(t, h, "POST", "/api/v1/households/"+hh.ID+"/assessments", worker, map[string]any{"review_id": review.ID,
		"income_per_person": 1_000_000, "answers": apptest.WorkerAnswers("toilet")})
	assessed := apptest.Decode[struct{ ID string }](t, aw, 201)
	apptest.Exec(t, a.DB(), `UPDATE households SET classification = 'poor' WHERE id = ?`, hh.ID)
	ew := apptest.Send(t, h, "POST", "/api/v1/enrollments", worker, map[string]any{"program_code": "legal_aid", "household_id": hh.ID, "starts_on": "2026-01-01"})
	enrolled := apptest.Decode[struct{ ID string }](t, ew, 201)
	for typ, sid := range map[string]string{"review": review.ID, "assessment": assessed.ID, "enrollment": enrolled.ID, "household": hh.ID} {
		pdf := []byte("%PDF-1.4\n% " + typ + "\n%%EOF\n")
		if w := apptest.AttachFile(t, h, worker, map[string]string{"subject_type": typ, "subject_id": sid, "kind": "minutes"}, "bb.pdf", pdf); w.Code != 201 {
			t.Fatalf("attach to a %s: %d %s", typ, w.Code, w.Body.String())
		}
		if w := apptest.AttachFile(t, h, far, map[string]string{"subject_type": typ, "subject_id": sid, "kind": "minutes"}, "bb.pdf", pdf); w.Code != 404 ||
			apptest.ProblemCode(t, w) != "subject_not_found" {
			t.Fatalf("a worker of another commune attaches to a %s: %d %s", typ, w.Code, w.Body.String())
		}
	}
	if w := apptest.AttachFile(t, h, worker, map[string]string{"subject_type": "delivery", "subject_id": hh.ID, "kind": "other"}, "x.pdf",
		[]byte("%PDF-1.4\n")); w.Code != 404 || apptest.ProblemCode(t, w) != "subject_not_found" {
		t.Fatalf("a subject of the wrong type: %d %s", w.Code, w.Body.String())
	}

	w := apptest.AttachFile(t, h, worker, map[string]string{"subject_type": "member", "subject_id": member, "kind": "id_scan"}, "cccd.jpg", attachmenttest.JPEG(1))
	if w.Code != 201 {
		t.Fatalf("id scan: %d %s", w.Code, w.Body.String())
	}
	scan := decodeAttachment(t, w)
	content := "/api/v1/attachments/" + scan.ID + "/content"

	// Outside the area it does not exist; the auditor of the province reads it.
	for name, tok := range map[string]string{"far worker": far, "far approver": approverFar} {
		for _, p := range []string{"/api/v1/attachments/" + scan.ID, content, "/api/v1/attachments/" + scan.ID + "/thumbnail"} {
			if w := apptest.Send(t, h, "GET", p, tok, nil); w.Code != 404 || apptest.ProblemCode(t, w) != "attachment_not_found" {
				t.Fatalf("%s GET %s: %d %s", name, p, w.Code, w.Body.String())
			}
		}
		w := apptest.Send(t, h, "GET", "/api/v1/attachments?subject_type=member&subject_id="+member, tok, nil)
		if w.Code != 200 || strings.Contains(w.Body.String(), scan.ID) {
			t.Fatalf("%s lists another commune's attachments: %d %s", name, w.Code, w.Body.String())
		}
	}
	if w := apptest.Send(t, h, "GET", content, auditor, nil); w.Code != 200 {
		t.Fatalf("auditor download: %d %s", w.Code, w.Body.String())
	}
	if w := apptest.Send(t, h, "GET", content, worker, nil); w.Code != 200 {
		t.Fatalf("worker download: %d %s", w.Code, w.Body.String())
	}
	// Auditors never write.
	if w := apptest.AttachFile(t, h, auditor, map[string]string{"subject_type": "member", "subject_id": member, "kind": "other"}, "x.pdf", []byte("%PDF-1.4\n")); w.Code != 403 {
		t.Fatalf("auditor attach: %d", w.Code)
	}
	if w := tusRequest(t, h, "POST", "/api/v1/uploads", auditor, map[string]string{"Upload-Length": "10"}, nil); w.Code != 403 {
		t.Fatalf("auditor upload: %d", w.Code)
	}
	if w := apptest.SendWith(t, h, "POST", "/api/v1/attachments/"+scan.ID+"/archive", auditor, map[string]string{"reason": "x"},
		map[string]string{"If-Match": `"1"`}); w.Code != 403 {
		t.Fatalf("auditor archive: %d", w.Code)
	}

	// Each download left an access entry for the attachment and for the person.
	waitFor := func(query string, args ...any) int {
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			n := apptest.Scalar[int](t, a.DB(), query, args...)
			if n > 0 || time.Now().After(deadline) {
				return n
			}
		}
	}
	if n := waitFor(`SELECT count(*) FROM audit_access WHERE subject_type = 'attachment' AND subject_ids @> ARRAY[?::uuid]
		AND actor_name = 'sc-auditor' AND route = 'GET /api/v1/attachments/:id/content'`, scan.ID); n != 1 {
		t.Fatalf("auditor's download log entries: %d", n)
	}
	if n := waitFor(`SELECT count(*) FROM audit_access WHERE subject_type = 'member' AND subject_ids @> ARRAY[?::uuid] AND actor_name = 'sc-worker'
		AND route = 'GET /api/v1/attachments/:id/content'`, member); n != 1 {
		t.Fatalf("the member's access entries: %d", n)
	}
	if refused := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM audit_access WHERE actor_name IN ('sc-far', 'sc-approver-far')`); refused != 0 {
		t.Fatalf("refused reads are not logged as reads: %d", refused)
	}

	// Archiving: If-Match and a reason are required.
	archive := "/api/v1/attachments/" + scan.ID + "/archive"
	if w := apptest.Send(t, h, "POST", archive, worker, map[string]string{"reason": "ảnh mờ"}); w.Code != 428 {
		t.Fatalf("archive without If-Match: %d", w.Code)
	}
	if w := apptest.SendWith(t, h, "POST", archive, worker, map[string]string{"reason": "ảnh mờ"}, map[string]string{"If-Match": `"7"`}); w.Code != 412 {
		t.Fatalf("archive at a stale version: %d", w.Code)
	}
	if w := apptest.SendWith(t, h, "POST", archive, worker, map[string]string{"reason": " "}, map[string]string{"If-Match": `"1"`}); w.Code != 422 {
		t.Fatalf("archive without a reason: %d", w.Code)
	}
	if w := apptest.SendWith(t, h, "POST", archive, far, map[string]string{"reason": "x"}, map[string]string{"If-Match": `"1"`}); w.Code != 404 {
		t.Fatalf("archive from another commune: %d", w.Code)
	}
	w = apptest.SendWith(t, h, "POST", archive, worker, map[string]string{"reason": "Ảnh mờ, chụp lại"}, map[string]string{"If-Match": `"1"`})
	if w.Code != 200 {
		t.Fatalf("archive: %d %s", w.Code, w.Body.String())
	}
	archived := decodeAttachment(t, w)
	if archived.Status != "archived" || archived.ArchiveReason != "Ảnh mờ, chụp lại" || archived.Version != 2 || w.Header().Get("ETag") != `"2"` {
		t.Fatalf("archived: %+v", archived)
	}
	if ok := apptest.Scalar[bool](t, a.DB(), `SELECT a.archived_at IS NOT NULL AND a.archived_at = a.updated_at
		AND a.archived_by = (SELECT id FROM users WHERE username = 'sc-worker') FROM attachments a WHERE a.id = ?`, scan.ID); !ok {
		t.Fatal("archiving notes when and by whom")
	}
	if w := apptest.SendWith(t, h, "POST", archive, worker, map[string]string{"reason": "again"}, map[string]string{"If-Match": `"2"`}); w.Code != 409 ||
		apptest.ProblemCode(t, w) != "attachment_archived" {
		t.Fatalf("archive twice: %d %s", w.Code, w.Body.String())
	}
	if reason := apptest.Scalar[string](t, a.DB(), `SELECT doc->>'reason' FROM audit_events WHERE action = 'attachment.archive' AND entity_id = ?`,
		scan.ID); reason != "Ảnh mờ, chụp lại" {
		t.Fatalf("the audit event records why: %q", reason)
	}
	list := func(q string) string {
		return apptest.Send(t, h, "GET", "/api/v1/attachments?subject_type=member&subject_id="+member+q, worker, nil).Body.String()
	}
	if strings.Contains(list(""), scan.ID) || !strings.Contains(list("&include_archived=true"), "Ảnh mờ, chụp lại") {
		t.Fatalf("archived attachments are hidden unless asked for: %s", list("&include_archived=true"))
	}
	// Nothing is deleted: it is still there, and the same file may be attached anew.
	if w := apptest.Send(t, h, "GET", "/api/v1/attachments/"+scan.ID, worker, nil); w.Code != 200 {
		t.Fatalf("an archived attachment is still readable: %d", w.Code)
	}
	w = apptest.AttachFile(t, h, worker, map[string]string{"subject_type": "member", "subject_id": member, "kind": "id_scan"}, "cccd.jpg", attachmenttest.JPEG(1))
	if w.Code != 201 || decodeAttachment(t, w).ID == scan.ID {
		t.Fatalf("re-attach after archiving: %d %s", w.Code, w.Body.String())
	}
	// Lists page through the caller's areas.
	w = apptest.Send(t, h, "GET", "/api/v1/attachments?limit=2", worker, nil)
	page := apptest.Decode[struct {
		Items      []attachmentOut `json:"items"`
		NextCursor string          `json:"next_cursor"`
	}](t, w, 200)
	if len(page.Items) != 2 || page.NextCursor == "" {
		t.Fatalf("first page: %s", w.Body.String())
	}
	if w := apptest.Send(t, h, "GET", "/api/v1/attachments?subject_type=member", worker, nil); w.Code != 422 {
		t.Fatalf("subject_type without subject_id: %d", w.Code)
	}
}

// A member's ID scan follows the person to a household of another commune:
// the new commune sees it, the old one no longer does.
func TestMemberAttachmentsFollowTheMember(t *testing.T) {
	t.Parallel()
	a, _ := newAttachmentApp(t)
	h := a.Handler()
	ctx := access.WithActor(context.Background(), access.System("test"))
	if _, err := a.Auth().CreateUser(ctx, auth.NewUser{Username: "mv-both", FullName: "Cán bộ hai xã", Password: apptest.Password,
		Assignments: []auth.Grant{{Role: "commune_worker", AreaCode: "30791"}, {Role: "commune_worker", AreaCode: "31036"}}}); err != nil {
		t.Fatal(err)
	}
	apptest.CreateUser(t, a, "mv-old", "commune_worker", "30791", false)
	apptest.CreateUser(t, a, "mv-new", "commune_worker", "31036", false)
	both := apptest.Login(t, h, "mv-both", apptest.Password).AccessToken
	oldWorker := apptest.Login(t, h, "mv-old", apptest.Password).AccessToken
	newWorker := apptest.Login(t, h, "mv-new", apptest.Password).AccessToken
	from := apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", both, apptest.HouseholdBody("MV-1", "30791", "")))
	to := apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", both, apptest.HouseholdBody("MV-2", "31036", "")))
	child := from.Members[2].ID
	w := apptest.AttachFile(t, h, both, map[string]string{"subject_type": "member", "subject_id": child, "kind": "certificate"}, "giay-khai-sinh.pdf",
		[]byte("%PDF-1.4\n% giấy khai sinh\n%%EOF\n"))
	if w.Code != 201 {
		t.Fatalf("attach: %d %s", w.Code, w.Body.String())
	}
	cert := "/api/v1/attachments/" + decodeAttachment(t, w).ID
	if apptest.Send(t, h, "GET", cert, oldWorker, nil).Code != 200 || apptest.Send(t, h, "GET", cert, newWorker, nil).Code != 404 {
		t.Fatal("before the move the old commune sees it, the new one does not")
	}
	w = apptest.SendWith(t, h, "POST", "/api/v1/households/"+from.ID+"/transfer", both, map[string]any{"to_household_id": to.ID,
		"member_ids": []string{child}}, map[string]string{"If-Match": strconv.Itoa(from.Version)})
	if w.Code != 200 {
		t.Fatalf("transfer: %d %s", w.Code, w.Body.String())
	}
	if apptest.Send(t, h, "GET", cert, oldWorker, nil).Code != 404 || apptest.Send(t, h, "GET", cert+"/content", newWorker, nil).Code != 200 {
		t.Fatal("after the move the new commune sees it, the old one does not")
	}
}

// With storage: s3 the server keeps files in the bucket, through the real S3
// client, here against an S3 server started by the test.
func TestAttachmentsOnS3(t *testing.T) {
	t.Parallel()
	backend := s3mem.New()
	s3 := httptest.NewServer(gofakes3.New(backend, gofakes3.WithAutoBucket(true)).Server())
	t.Cleanup(s3.Close)
	d := dbtest.NewDatabase(t)
	dir := t.TempDir()
	a := apptest.NewOn(t, apptest.Config(t, d.AppURL, "ANSINH_ATTACHMENTS_DIR", dir,
		"ANSINH_ATTACHMENTS_STORAGE", "s3", "ANSINH_ATTACHMENTS_S3_ENDPOINT", strings.TrimPrefix(s3.URL, "http://"),
		"ANSINH_ATTACHMENTS_S3_USE_SSL", "false", "ANSINH_ATTACHMENTS_S3_BUCKET", "evidence",
		"ANSINH_ATTACHMENTS_S3_ACCESS_KEY", "test", "ANSINH_ATTACHMENTS_S3_SECRET_KEY", "test-secret"))
	h := a.Handler()
	apptest.CreateUser(t, a, "s3-worker", "commune_worker", "30791", false)
	worker := apptest.Login(t, h, "s3-worker", apptest.Password).AccessToken
	hh := apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("S3-1", "30791", "")))
	photo := attachmenttest.JPEG(1)
	w := apptest.AttachFile(t, h, worker, map[string]string{"subject_type": "household", "subject_id": hh.ID, "kind": "house_photo"}, "nha.jpg", photo)
	if w.Code != 201 {
		t.Fatalf("attach: %d %s", w.Code, w.Body.String())
	}
	att := decodeAttachment(t, w)
	if got := apptest.Send(t, h, "GET", "/api/v1/attachments/"+att.ID+"/content", worker, nil); got.Code != 200 || !bytes.Equal(got.Body.Bytes(), photo) {
		t.Fatalf("download from S3: %d (%d bytes)", got.Code, got.Body.Len())
	}
	if got := apptest.Send(t, h, "GET", "/api/v1/attachments/"+att.ID+"/thumbnail", worker, nil); got.Code != 200 {
		t.Fatalf("thumbnail from S3: %d", got.Code)
	}
	key := apptest.Scalar[string](t, a.DB(), `SELECT storage_key FROM attachments WHERE id = ?`, att.ID)
	obj, err := backend.GetObject("evidence", key, nil)
	if err != nil {
		t.Fatalf("the object is in the bucket under its key: %v", err)
	}
	defer obj.Contents.Close()
	if b, _ := io.ReadAll(obj.Contents); !bytes.Equal(b, photo) {
		t.Fatal("the bucket holds other bytes")
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "objects")); len(entries) != 0 {
		t.Fatalf("nothing is kept on disk with S3: %v", entries)
	}
}

// The handlers return their errors, which the route adapter answers as
// problems: bad ids, list parameters and the tus description route.
func TestAttachmentHandlerProblems(t *testing.T) {
	t.Parallel()
	a, _ := newAttachmentApp(t)
	h := a.Handler()
	worker := apptest.Token(t, a, "pr-worker", "commune_worker", "30791")
	for _, p := range []string{"/api/v1/attachments/not-a-uuid", "/api/v1/attachments/not-a-uuid/content",
		"/api/v1/attachments/not-a-uuid/thumbnail", "/api/v1/attachments/" + "0190c3c4-0000-7000-8000-000000000000"} {
		if w := apptest.Send(t, h, "GET", p, worker, nil); w.Code != 404 || apptest.ProblemCode(t, w) != "attachment_not_found" {
			t.Errorf("GET %s: %d %s", p, w.Code, w.Body.String())
		}
	}
	if w := apptest.SendWith(t, h, "POST", "/api/v1/attachments/not-a-uuid/archive", worker, map[string]string{"reason": "x"},
		map[string]string{"If-Match": `"1"`}); w.Code != 404 || apptest.ProblemCode(t, w) != "attachment_not_found" {
		t.Errorf("archive of a malformed id: %d %s", w.Code, w.Body.String())
	}
	for q, field := range map[string]string{"limit=201": "limit", "cursor=zzz": "cursor", "kind=selfie": "kind",
		"subject_type=dog&subject_id=0190c3c4-0000-7000-8000-000000000000": "subject_type", "subject_id=x": "subject_id"} {
		w := apptest.Send(t, h, "GET", "/api/v1/attachments?"+q, worker, nil)
		if w.Code != 422 || apptest.ProblemCode(t, w) != "validation_failed" || !strings.Contains(w.Body.String(), `"field":"`+field+`"`) {
			t.Errorf("list ?%s: %d %s", q, w.Code, w.Body.String())
		}
	}
	page := apptest.Decode[struct {
		Items []attachmentOut `json:"items"`
	}](t, apptest.Send(t, h, "GET", "/api/v1/attachments", worker, nil), 200)
	if len(page.Items) != 0 {
		t.Errorf("an empty list: %+v", page)
	}
	// The tus description needs no sign-in and is tusd's own answer.
	w := tusRequest(t, h, "OPTIONS", "/api/v1/uploads", "", nil, nil)
	if w.Code >= 300 || w.Header().Get("Tus-Version") == "" || !strings.Contains(w.Header().Get("Tus-Extension"), "creation") {
		t.Errorf("OPTIONS: %d %v", w.Code, w.Header())
	}
}
