package attachment

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7"
)

// storageSuite is what every Storage must do; the filesystem and the S3
// client against an S3 server run the same cases.
func storageSuite(t *testing.T, s Storage) {
	ctx := context.Background()
	big := make([]byte, 6<<20+123) // several MB of random bytes: larger than any copy buffer
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	t.Run("put get stat", func(t *testing.T) {
		for _, body := range [][]byte{[]byte("%PDF-1.4 tiny"), big} {
			key := newKey()
			if err := s.Put(ctx, key, bytes.NewReader(body), int64(len(body)), "application/pdf"); err != nil {
				t.Fatalf("put: %v", err)
			}
			n, err := s.Stat(ctx, key)
			if err != nil || n != int64(len(body)) {
				t.Fatalf("stat: %d %v, want %d", n, err, len(body))
			}
			rc, err := s.Get(ctx, key)
			if err != nil {
				t.Fatalf("get: %v", err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("read back %d bytes (%v), want the %d stored", len(got), err, len(body))
			}
		}
	})
	t.Run("missing", func(t *testing.T) {
		key := newKey()
		if _, err := s.Get(ctx, key); !errors.Is(err, ErrObjectNotFound) {
			t.Fatalf("get of a missing key: %v", err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, ErrObjectNotFound) {
			t.Fatalf("stat of a missing key: %v", err)
		}
		if err := s.Delete(ctx, key); err != nil {
			t.Fatalf("deleting a missing key is not an error: %v", err)
		}
	})
	t.Run("delete", func(t *testing.T) {
		key := newKey()
		if err := s.Put(ctx, key, strings.NewReader("x"), 1, "text/plain"); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, ErrObjectNotFound) {
			t.Fatalf("after delete: %v", err)
		}
	})
	t.Run("short body refused", func(t *testing.T) {
		key := newKey()
		if err := s.Put(ctx, key, strings.NewReader("abc"), 10, "text/plain"); err == nil {
			t.Fatal("a body shorter than its declared size must fail")
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, ErrObjectNotFound) {
			t.Fatalf("a failed put leaves nothing behind: %v", err)
		}
	})
	t.Run("walk", func(t *testing.T) {
		key := newKey()
		thumb := key + ".thumb.jpg"
		for _, k := range []string{key, thumb} {
			if err := s.Put(ctx, k, strings.NewReader("x"), 1, "text/plain"); err != nil {
				t.Fatal(err)
			}
		}
		if s3, ok := s.(*S3Storage); ok { // another user of the bucket (the audit witness): never ours
			if _, err := s3.Client().PutObject(ctx, "evidence", "audit-checkpoints/1.json", strings.NewReader("{}"), 2,
				minio.PutObjectOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		seen := map[string]time.Time{}
		if err := s.Walk(ctx, func(k string, written time.Time) error {
			if checkKey(k) != nil {
				t.Errorf("walk gave %q, not a key of ours", k)
			}
			seen[k] = written
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{key, thumb} {
			if w, ok := seen[k]; !ok || time.Since(w) > time.Minute || time.Since(w) < -time.Minute {
				t.Errorf("walk: %s written %v (seen %t)", k, w, ok)
			}
		}
	})
	t.Run("keys are checked", func(t *testing.T) {
		for _, key := range []string{"../../etc/passwd", "ab/cd/../../x", "photo.jpg", "/abs", ""} {
			if err := s.Put(ctx, key, strings.NewReader("x"), 1, "text/plain"); err == nil {
				t.Errorf("key %q must be refused", key)
			}
			if _, err := s.Get(ctx, key); err == nil || errors.Is(err, ErrObjectNotFound) {
				t.Errorf("get %q must be refused as malformed: %v", key, err)
			}
		}
		if thumb := newKey() + ".thumb.jpg"; checkKey(thumb) != nil {
			t.Errorf("a thumbnail key is a key: %s", thumb)
		}
	})
}

func TestFSStorage(t *testing.T) {
	t.Parallel()
	s, err := NewFSStorage(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	storageSuite(t, s)
}

// TestS3Storage runs the suite through the real MinIO client against an S3
// server started in the test (gofakes3), so it needs no network or service.
func TestS3Storage(t *testing.T) {
	t.Parallel()
	faker := gofakes3.New(s3mem.New())
	srv := httptest.NewServer(faker.Server())
	t.Cleanup(srv.Close)
	s, err := NewS3Storage(S3Options{Endpoint: strings.TrimPrefix(srv.URL, "http://"), Bucket: "evidence", Region: "us-east-1",
		AccessKey: "test-access", SecretKey: "test-secret", PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Client().MakeBucket(context.Background(), "evidence", minio.MakeBucketOptions{Region: "us-east-1"}); err != nil {
		t.Fatal(err)
	}
	storageSuite(t, s)
}
