package attachment

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/attachment/attachmenttest"
	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
)

// recordingStorage remembers which objects exist.
type recordingStorage struct {
	Storage
	mu      sync.Mutex
	objects map[string]bool
	failPut bool
}

func (r *recordingStorage) Put(ctx context.Context, key string, rd io.Reader, size int64, ct string) error {
	if r.failPut {
		return errors.New("the store is down")
	}
	if err := r.Storage.Put(ctx, key, rd, size, ct); err != nil {
		return err
	}
	r.mu.Lock()
	r.objects[key] = true
	r.mu.Unlock()
	return nil
}

func (r *recordingStorage) Delete(ctx context.Context, key string) error {
	r.mu.Lock()
	delete(r.objects, key)
	r.mu.Unlock()
	return r.Storage.Delete(ctx, key)
}

type noReads struct{}

func (noReads) Read(context.Context, string, string, ...uuid.UUID) {}

// When the row cannot be written, the stored file and thumbnail are removed
// again: no object is left that looks attached, and nothing is counted.
func TestAttachLeavesNothingWhenTheTransactionFails(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	fs, err := NewFSStorage(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingStorage{Storage: fs, objects: map[string]bool{}}
	svc := NewService(pool, rec, noReads{}, Options{MaxBytes: func(string) int64 { return 1 << 20 }, TempDir: t.TempDir()})
	household := uuid.Must(uuid.NewV7())
	if err := pool.Conn(context.Background()).Exec(`INSERT INTO households (id, code, commune_edition, commune_code, area_path, village, area_type)
		VALUES (?, 'TX-1', '2025-03', '30791', '91.914.30791', 'Ấp 1', 'rural')`, household).Error; err != nil {
		t.Fatal(err)
	}
	photo := attachmenttest.PNG()
	d := Details{Subject: Subject{Type: SubjectHousehold, ID: household}, Kind: KindHousePhoto, FileName: "nha.png"}

	// No actor: the audit event cannot be written, so the transaction rolls back.
	_, _, err = svc.Attach(context.Background(), access.Everywhere(), d, bytes.NewReader(photo), int64(len(photo)))
	if err == nil {
		t.Fatal("attaching without an actor must fail")
	}
	var rows int
	if err := pool.Conn(context.Background()).Raw(`SELECT count(*) FROM attachments`).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if rows != 0 || len(rec.objects) != 0 {
		t.Fatalf("after the failure: %d rows, objects %v", rows, rec.objects)
	}
	// The store refusing the file is a 503 to retry, with nothing written.
	rec.failPut = true
	ctx := access.WithActor(context.Background(), access.System("test"))
	if _, _, err := svc.Attach(ctx, access.Everywhere(), d, bytes.NewReader(photo), int64(len(photo))); err == nil ||
		!bytes.Contains([]byte(err.Error()), []byte("file store")) {
		t.Fatalf("store down: %v", err)
	}
	// With an actor and a working store it is attached: one row, the file and its thumbnail.
	rec.failPut = false
	a, created, err := svc.Attach(ctx, access.Everywhere(), d, bytes.NewReader(photo), int64(len(photo)))
	if err != nil || !created || len(rec.objects) != 2 || !rec.objects[a.StorageKey] || !rec.objects[a.ThumbnailKey] {
		t.Fatalf("attach: %v %v %v", err, created, rec.objects)
	}
	// Scope: outside the household's area the subject is not found.
	if _, _, err := svc.Attach(ctx, access.Within("79"), d, bytes.NewReader(photo), int64(len(photo))); !errors.Is(err, errSubjectNotFound) {
		t.Fatalf("out of scope: %v", err)
	}
}
