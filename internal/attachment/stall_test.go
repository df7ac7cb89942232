package attachment_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/attachment"
	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
)

// A resumable upload whose body stalls (a phone that lost its signal, the
// connection still open) ends after attachments.upload_read_timeout with
// 408 upload_read_timeout, not tusd's 500, and keeps every byte that arrived:
// the client resumes from HEAD's offset.
func TestStalledUploadAnswers408AndKeepsWhatArrived(t *testing.T) {
	t.Parallel()
	a := apptest.NewOn(t, apptest.Config(t, dbtest.NewDatabase(t).AppURL,
		"ANSINH_ATTACHMENTS_DIR", t.TempDir(), "ANSINH_ATTACHMENTS_UPLOAD_READ_TIMEOUT", "300ms"))
	h := a.Handler()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	apptest.CreateUser(t, a, "stall-worker", "commune_worker", "30791", false)
	worker := apptest.Login(t, h, "stall-worker", apptest.Password).AccessToken
	hh := apptest.DecodeHousehold(t, apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("STALL-1", "30791", "")))

	const total, sent = 200_000, 70_000
	w := tusRequest(t, h, "POST", "/api/v1/uploads", worker, map[string]string{"Upload-Length": strconv.Itoa(total),
		"Upload-Metadata": tusMetadata("subject_type", "household", "subject_id", hh.ID, "kind", "minutes", "filename", "bien-ban.pdf")}, nil)
	if w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body.String())
	}
	loc := w.Header().Get("Location")
	path := "/api/v1/uploads/" + loc[strings.LastIndex(loc, "/")+1:]

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := fmt.Sprintf("PATCH %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"+
		"Content-Type: application/offset+octet-stream\r\nContent-Length: %d\r\n\r\n", path, srv.Listener.Addr(), worker, total)
	body := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte{'x'}, sent-9)...)
	if _, err := conn.Write(append([]byte(head), body...)); err != nil {
		t.Fatal(err)
	}
	// Nothing more is sent; the connection stays open.
	if err := conn.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("PATCH", path, nil)
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		t.Fatalf("no answer to the stalled PATCH: %v", err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	rec := httptest.NewRecorder()
	for k, v := range resp.Header {
		rec.Header()[k] = v
	}
	rec.WriteHeader(resp.StatusCode)
	rec.Body.Write(got)
	apptest.Check(t, req, rec)
	if resp.StatusCode != http.StatusRequestTimeout || apptest.ProblemCode(t, rec) != "upload_read_timeout" {
		t.Fatalf("the stalled PATCH: %d %s", resp.StatusCode, got)
	}
	w = tusRequest(t, h, "HEAD", path, worker, nil, nil)
	if w.Code != http.StatusOK || w.Header().Get("Upload-Offset") != strconv.Itoa(sent) {
		t.Fatalf("HEAD after the stall: %d offset %s, want %d", w.Code, w.Header().Get("Upload-Offset"), sent)
	}
}

// tusd answers a lock it could not take in time with 500; the upload is only
// busy with its own earlier request, so the client sees 503 with
// Retry-After. (tusd asks the holder to let go first, so a real lock timeout
// needs a holder that will not: the writer is fed what tusd writes then.)
func TestUploadLockTimeoutIs503(t *testing.T) {
	w := httptest.NewRecorder()
	req := httptest.NewRequest("PATCH", "/api/v1/uploads/0123456789abcdef0123456789abcdef", nil)
	attachment.ServeTusErrorForTest(w, req, http.StatusInternalServerError, "ERR_LOCK_TIMEOUT: failed to acquire lock before timeout")
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || apptest.ProblemCode(t, w) != "upload_lock_timeout" {
		t.Fatalf("%d %v %s", w.Code, w.Header(), w.Body.String())
	}
	apptest.Check(t, req, w)
	w = httptest.NewRecorder()
	attachment.ServeTusErrorForTest(w, req, http.StatusInternalServerError, "ERR_INTERNAL_SERVER_ERROR: disk full")
	if w.Code != http.StatusInternalServerError || apptest.ProblemCode(t, w) != "upload_internal_server_error" {
		t.Fatalf("a real failure stays 500: %d %s", w.Code, w.Body.String())
	}
}
