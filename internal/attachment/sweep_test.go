package attachment

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/attachment/attachmenttest"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
)

// stallAfterPut stores the object, says so in a marker file, and then waits
// for the kill that the test sends: the process dies between storing a file
// and committing its row.
type stallAfterPut struct {
	Storage
	marker string
}

func (s stallAfterPut) Put(ctx context.Context, key string, r io.Reader, size int64, ct string) error {
	if err := s.Storage.Put(ctx, key, r, size, ct); err != nil {
		return err
	}
	_ = os.WriteFile(s.marker, []byte(key), 0o600)
	select {} // until killed
}

// The helper process of TestOrphanLeftByAKillIsSwept.
func init() {
	url, dir, household := os.Getenv("ANSINH_SWEEP_HELPER_DB"), os.Getenv("ANSINH_SWEEP_HELPER_DIR"), os.Getenv("ANSINH_SWEEP_HELPER_HOUSEHOLD")
	if url == "" {
		return
	}
	pool, err := db.Open(db.Options{URL: url, MaxOpenConns: 2})
	if err != nil {
		os.Exit(2)
	}
	fs, _ := NewFSStorage(filepath.Join(dir, "objects"))
	svc := NewService(pool, stallAfterPut{Storage: fs, marker: filepath.Join(dir, "stored")}, noReads{},
		Options{MaxBytes: func(string) int64 { return 1 << 20 }, TempDir: dir})
	doc := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("CCCD 091234567890 "), 100)...)
	d := Details{Subject: Subject{Type: SubjectHousehold, ID: uuid.MustParse(household)}, Kind: KindIDScan, FileName: "cccd.pdf"}
	_, _, _ = svc.Attach(access.WithActor(context.Background(), access.System("helper")), access.Everywhere(), d,
		bytes.NewReader(doc), int64(len(doc)))
	os.Exit(1) // not reached: killed while stalled
}

// A process killed between storing a file and committing its attachment
// leaves the file behind, referred to by nothing. The sweep removes it (and
// a Put's stale temporary file), keeps every file an attachment refers to,
// leaves young files alone, and records what it removed.
func TestOrphanLeftByAKillIsSwept(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	pool, err := db.Open(db.Options{URL: d.AppURL, MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	ctx := access.WithActor(context.Background(), access.System("test"))
	household := uuid.Must(uuid.NewV7())
	if err := pool.Conn(ctx).Exec(`INSERT INTO households (id, code, commune_edition, commune_code, area_path, village, area_type)
		VALUES (?, 'SW-1', '2025-03', '30791', '91.914.30791', 'Ấp 1', 'rural')`, household).Error; err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fs, err := NewFSStorage(filepath.Join(dir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	svc := NewService(pool, fs, noReads{}, Options{MaxBytes: func(string) int64 { return 1 << 20 }, TempDir: dir})
	photo := attachmenttest.PNG()
	kept, _, err := svc.Attach(ctx, access.Everywhere(), Details{Subject: Subject{Type: SubjectHousehold, ID: household},
		Kind: KindHousePhoto, FileName: "nha.png"}, bytes.NewReader(photo), int64(len(photo)))
	if err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run", "^$")
	cmd.Env = append(os.Environ(), "ANSINH_SWEEP_HELPER_DB="+d.AppURL, "ANSINH_SWEEP_HELPER_DIR="+dir,
		"ANSINH_SWEEP_HELPER_HOUSEHOLD="+household.String())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var orphan []byte
	for deadline := time.Now().Add(30 * time.Second); len(orphan) == 0; orphan, _ = os.ReadFile(filepath.Join(dir, "stored")) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the helper stored nothing in 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if _, err := fs.Stat(ctx, string(orphan)); err != nil {
		t.Fatalf("the killed attach left no file to sweep: %v", err)
	}
	temp := filepath.Join(dir, "objects", "ab", ".put-123")
	if err := os.MkdirAll(filepath.Dir(temp), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(temp, []byte("half a document"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * staleTemp)
	if err := os.Chtimes(temp, old, old); err != nil {
		t.Fatal(err)
	}

	// Young files are left alone: the row may be about to commit.
	if n, err := svc.SweepOrphans(ctx, OrphanAge); err != nil || n != 0 {
		t.Fatalf("a sweep of files older than an hour removed %d: %v", n, err)
	}
	n, err := svc.SweepOrphans(ctx, 0)
	if err != nil || n != 1 {
		t.Fatalf("sweep: removed %d, %v; want the one orphan", n, err)
	}
	if _, err := fs.Stat(ctx, string(orphan)); err != ErrObjectNotFound {
		t.Fatalf("the orphan is still there: %v", err)
	}
	if _, err := os.Stat(temp); !os.IsNotExist(err) {
		t.Fatalf("the stale temporary file is still there: %v", err)
	}
	for _, k := range []string{kept.StorageKey, kept.ThumbnailKey} {
		if _, err := fs.Stat(ctx, k); err != nil {
			t.Fatalf("an attachment's file %s was removed: %v", k, err)
		}
	}
	var events int
	if err := pool.Conn(ctx).Raw(`SELECT count(*) FROM audit_events WHERE action = 'attachment.orphans_removed'
		AND doc::jsonb #>> '{after,keys,0}' = ?`, string(orphan)).Scan(&events).Error; err != nil || events != 1 {
		t.Fatalf("audit events of the sweep: %d, %v", events, err)
	}
}
