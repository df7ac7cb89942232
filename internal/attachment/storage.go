package attachment

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Storage keeps the bytes of attachments under opaque keys that this package
// makes (never a name a client chose). Objects are written once: a key is
// never overwritten with other bytes.
type Storage interface {
	// Put stores size bytes from r under key with their content type.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	// Get opens the object; ErrObjectNotFound when there is none.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Stat is the stored object's size; ErrObjectNotFound when there is none.
	Stat(ctx context.Context, key string) (int64, error)
	// Delete removes an object that no row refers to (a failed attach); a
	// missing object is not an error.
	Delete(ctx context.Context, key string) error
	// Walk calls fn with the key and the time of writing of every object
	// whose key is one of ours (anything else in the store is left alone).
	Walk(ctx context.Context, fn func(key string, written time.Time) error) error
}

// ErrObjectNotFound is a key with no object.
var ErrObjectNotFound = errors.New("attachment storage: no such object")

// keyPattern is what a storage key looks like: lower-case hex in slash-separated
// parts, with an optional suffix (".thumb.jpg").
var keyPattern = regexp.MustCompile(`^[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}(\.[a-z]+)*$`)

// newKey makes an opaque key: 128 random bits, fanned out over two levels of
// directories so that no directory grows too large.
func newKey() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	h := hex.EncodeToString(b[:])
	return h[:2] + "/" + h[2:4] + "/" + h
}

func checkKey(key string) error {
	if !keyPattern.MatchString(key) {
		return fmt.Errorf("attachment storage: malformed key %q", key)
	}
	return nil
}

// FSStorage keeps objects as files under a root directory.
type FSStorage struct{ root string }

// NewFSStorage stores under root, which is created with the first object.
func NewFSStorage(root string) (*FSStorage, error) {
	if root == "" {
		return nil, fmt.Errorf("attachment storage: no directory")
	}
	return &FSStorage{root: root}, nil
}

func (s *FSStorage) path(key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	return filepath.Join(s.root, filepath.FromSlash(key)), nil
}

// Put writes to a temporary file beside the target, syncs it, then renames it
// into place: a reader never sees half an object.
func (s *FSStorage) Put(ctx context.Context, key string, r io.Reader, size int64, _ string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return fmt.Errorf("attachment storage: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".put-*")
	if err != nil {
		return fmt.Errorf("attachment storage: %w", err)
	}
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	n, err := io.Copy(f, ctxReader{ctx, r})
	if err != nil {
		return fmt.Errorf("attachment storage: write %s: %w", key, err)
	}
	if n != size {
		return fmt.Errorf("attachment storage: %s: got %d bytes, want %d", key, n, size)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("attachment storage: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("attachment storage: %w", err)
	}
	if err := os.Rename(f.Name(), p); err != nil {
		return fmt.Errorf("attachment storage: %w", err)
	}
	done = true
	return nil
}

// Get opens the file.
func (s *FSStorage) Get(_ context.Context, key string) (io.ReadCloser, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrObjectNotFound
	}
	return f, err
}

// Stat is the file's size.
func (s *FSStorage) Stat(_ context.Context, key string) (int64, error) {
	p, err := s.path(key)
	if err != nil {
		return 0, err
	}
	fi, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return 0, ErrObjectNotFound
	}
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// Delete removes the file.
func (s *FSStorage) Delete(_ context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// Walk visits the files whose paths are keys; a Put's temporary file left by
// a crash is removed once it is older than staleTemp (its bytes belong to no
// object, and may be a person's document).
func (s *FSStorage) Walk(ctx context.Context, fn func(key string, written time.Time) error) error {
	err := filepath.WalkDir(s.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		if strings.HasPrefix(d.Name(), ".put-") {
			if time.Since(info.ModTime()) > staleTemp {
				_ = os.Remove(p)
			}
			return nil
		}
		rel, err := filepath.Rel(s.root, p)
		if err != nil || checkKey(filepath.ToSlash(rel)) != nil {
			return nil
		}
		return fn(filepath.ToSlash(rel), info.ModTime())
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil // no object stored yet
	}
	return err
}

// staleTemp is how old a Put's temporary file is before it is taken for a
// crash's leftover (a Put lasts at most a request).
const staleTemp = time.Hour

// ctxReader stops a long copy when the context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
