package audit

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/ansinh/ansinh/internal/platform/s3store"
	"github.com/minio/minio-go/v7"
)

// S3WitnessOptions configure a witness in S3-compatible storage. The bucket
// should have object lock (and so versioning) enabled: then every checkpoint
// is put under a legal hold and, with Retention, in compliance mode until
// then, so that not even the storage account's owner can remove or replace it.
// Without object lock the witness still works, but its protection is only the
// bucket's access policy (give the application put and get, never delete).
type S3WitnessOptions struct {
	s3store.Options
	Prefix    string        // key prefix, e.g. "audit-checkpoints/"
	Retention time.Duration // compliance retention of each checkpoint; 0: legal hold only
}

// S3Witness keeps one object per checkpoint. Keys count down (the newest
// checkpoint sorts first), so that Latest lists one key, not all.
type S3Witness struct {
	client    *minio.Client
	bucket    string
	prefix    string
	retention time.Duration
	locked    bool
}

// NewS3Witness connects to the bucket and asks whether it has object lock.
func NewS3Witness(ctx context.Context, o S3WitnessOptions) (*S3Witness, error) {
	c, err := s3store.Client(o.Options)
	if err != nil {
		return nil, fmt.Errorf("audit witness: s3 client: %w", err)
	}
	w := &S3Witness{client: c, bucket: o.Bucket, prefix: o.Prefix, retention: o.Retention}
	// A bucket without object lock answers an error here (or an empty state).
	state, _, _, _, err := c.GetObjectLockConfig(ctx, o.Bucket)
	w.locked = err == nil && state == "Enabled"
	return w, nil
}

// ObjectLock reports whether checkpoints are put under object lock.
func (w *S3Witness) ObjectLock() bool { return w.locked }

func (w *S3Witness) String() string { return "s3 " + w.bucket + "/" + w.prefix }

func (w *S3Witness) key(seq int64) string {
	return fmt.Sprintf("%s%019d-%d.json", w.prefix, math.MaxInt64-seq, seq)
}

// Publish puts the checkpoint's object unless one exists for its block.
func (w *S3Witness) Publish(ctx context.Context, cp Checkpoint) error {
	key := w.key(cp.Seq)
	old, err := w.get(ctx, key)
	if err != nil {
		return err
	}
	if old != nil {
		if !sameCheckpoint(*old, cp) {
			return fmt.Errorf("%w: block %d is published as %s, now %s", ErrWitnessConflict, cp.Seq, old.BlockHash, cp.BlockHash)
		}
		return nil
	}
	body, err := encodeCheckpoint(cp)
	if err != nil {
		return err
	}
	opts := minio.PutObjectOptions{ContentType: "application/json"}
	opts.SetMatchETagExcept("*") // If-None-Match: a store that knows it refuses to replace
	if w.locked {
		opts.LegalHold = minio.LegalHoldEnabled
		if w.retention > 0 {
			opts.Mode = minio.Compliance
			opts.RetainUntilDate = time.Now().Add(w.retention).UTC()
		}
	}
	if _, err := w.client.PutObject(ctx, w.bucket, key, bytes.NewReader(body), int64(len(body)), opts); err != nil {
		return fmt.Errorf("audit witness: put %s: %w", key, err)
	}
	return nil
}

// get reads a checkpoint object; nil when there is none.
func (w *S3Witness) get(ctx context.Context, key string) (*Checkpoint, error) {
	obj, err := w.client.GetObject(ctx, w.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("audit witness: get %s: %w", key, err)
	}
	defer obj.Close()
	b, err := io.ReadAll(io.LimitReader(obj, 64<<10))
	if err != nil {
		code := minio.ToErrorResponse(err).Code
		if code == minio.NoSuchKey || code == "NotFound" {
			return nil, nil
		}
		return nil, fmt.Errorf("audit witness: get %s: %w", key, err)
	}
	cp, err := ParseCheckpoint(b)
	if err != nil {
		return nil, fmt.Errorf("audit witness: %s: %w", key, err)
	}
	return cp, nil
}

// Latest reads the first key under the prefix: the newest checkpoint.
func (w *S3Witness) Latest(ctx context.Context) (*Checkpoint, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the listing after its first key
	obj, ok := <-w.client.ListObjects(ctx, w.bucket, minio.ListObjectsOptions{Prefix: w.prefix, MaxKeys: 1})
	if !ok {
		return nil, nil // no checkpoint published yet
	}
	if obj.Err != nil {
		return nil, fmt.Errorf("audit witness: list: %w", obj.Err)
	}
	return w.get(ctx, obj.Key)
}
