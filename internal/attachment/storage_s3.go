package attachment

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/ansinh/ansinh/internal/platform/s3store"
	"github.com/minio/minio-go/v7"
)

// S3Options configure S3-compatible object storage.
type S3Options = s3store.Options

// S3Storage keeps objects in a bucket through the MinIO client.
type S3Storage struct {
	client *minio.Client
	bucket string
}

// NewS3Storage connects to the bucket (it does not create it).
func NewS3Storage(o S3Options) (*S3Storage, error) {
	c, err := s3store.Client(o)
	if err != nil {
		return nil, fmt.Errorf("attachment storage: s3 client: %w", err)
	}
	return &S3Storage{client: c, bucket: o.Bucket}, nil
}

// Client is the underlying client (tests create their bucket with it).
func (s *S3Storage) Client() *minio.Client { return s.client }

// Put uploads the object.
func (s *S3Storage) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	info, err := s.client.PutObject(ctx, s.bucket, key, r, size, minio.PutObjectOptions{ContentType: contentType})
	if err != nil {
		return fmt.Errorf("attachment storage: put %s: %w", key, err)
	}
	if info.Size != size {
		return fmt.Errorf("attachment storage: %s: stored %d bytes, want %d", key, info.Size, size)
	}
	return nil
}

func notFound(err error) bool {
	code := minio.ToErrorResponse(err).Code
	return code == minio.NoSuchKey || code == "NotFound"
}

// Get opens the object; it asks for it at once, so that a missing object is
// told here and not at the first read.
func (s *S3Storage) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		if notFound(err) {
			return nil, ErrObjectNotFound
		}
		return nil, fmt.Errorf("attachment storage: get %s: %w", key, err)
	}
	if _, err := obj.Stat(); err != nil {
		obj.Close()
		if notFound(err) {
			return nil, ErrObjectNotFound
		}
		return nil, fmt.Errorf("attachment storage: get %s: %w", key, err)
	}
	return obj, nil
}

// Stat is the object's size.
func (s *S3Storage) Stat(ctx context.Context, key string) (int64, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	info, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		if notFound(err) {
			return 0, ErrObjectNotFound
		}
		return 0, fmt.Errorf("attachment storage: stat %s: %w", key, err)
	}
	return info.Size, nil
}

// Walk lists the bucket's objects whose keys are ours.
func (s *S3Storage) Walk(ctx context.Context, fn func(key string, written time.Time) error) error {
	for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("attachment storage: list: %w", obj.Err)
		}
		if checkKey(obj.Key) != nil {
			continue
		}
		if err := fn(obj.Key, obj.LastModified); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes the object (S3 answers success for a missing key too).
func (s *S3Storage) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{})
	if err != nil && !notFound(err) {
		return fmt.Errorf("attachment storage: delete %s: %w", key, err)
	}
	return nil
}
