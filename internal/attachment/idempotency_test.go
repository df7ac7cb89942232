package attachment_test

import (
	"bytes"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/attachment/attachmenttest"
)

// countFiles counts the regular files under dir.
func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A direct (multipart) attachment sent with an Idempotency-Key goes through
// the request's transaction: its answer is held back until the row and the
// stored answer have committed, and the retry replays it without storing the
// file again.
func TestDirectAttachmentWithIdempotencyKey(t *testing.T) {
	t.Parallel()
	a, dir := newAttachmentApp(t)
	h := a.Handler()
	worker := apptest.Token(t, a, "idem-att", "commune_worker", "30791")
	hh := apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("IDEM-ATT-1", "30791", "")))
	photo := attachmenttest.JPEG(1)
	// A retry sends the same bytes (the same multipart boundary).
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range map[string]string{"subject_type": "household", "subject_id": hh.ID, "kind": "house_photo"} {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	pw, err := mw.CreateFormFile("file", "nha.jpg")
	if err != nil {
		t.Fatal(err)
	}
	pw.Write(photo)
	mw.Close()
	send := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/api/v1/attachments", bytes.NewReader(body.Bytes()))
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+worker)
		req.Header.Set("Idempotency-Key", "ATT-1")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		apptest.Check(t, req, w)
		return w
	}
	first := send()
	if first.Code != http.StatusCreated || first.Header().Get("Location") == "" {
		t.Fatalf("attach: %d %s", first.Code, first.Body.String())
	}
	files := countFiles(t, dir)
	again := send()
	if again.Code != http.StatusCreated || again.Header().Get("Idempotent-Replayed") != "true" ||
		again.Body.String() != first.Body.String() || again.Header().Get("Location") != first.Header().Get("Location") {
		t.Fatalf("the retry must replay the first answer: %d %v %s", again.Code, again.Header(), again.Body.String())
	}
	if n := countFiles(t, dir); n != files {
		t.Fatalf("files stored: %d after the retry, %d before", n, files)
	}
	if n := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM attachments`); n != 1 {
		t.Fatalf("attachments: %d", n)
	}
}
