package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// HeaderIdempotencyKey names the client's key for a retryable write.
const HeaderIdempotencyKey = "Idempotency-Key"

// idempotencyTTL is how long a key's answer is kept for replay.
const idempotencyTTL = 24 * time.Hour

// Idempotency makes writes safe to retry: a request that carries an
// Idempotency-Key is run once per caller and key; a retry with the same key
// and the same request gets the first response again (with
// Idempotent-Replayed: true), a retry while the first still runs gets 409, and
// the same key on a different request gets 422. Server errors are not kept, so
// they can be retried. owner names the caller (keys of different callers never
// meet). The record is written after the handler: a crash between the two
// lets one retry run again, which unique ids and If-Match then stop.
func Idempotency(pool *db.DB, owner func(context.Context) string, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		key := c.GetHeader(HeaderIdempotencyKey)
		if key == "" {
			c.Next()
			return
		}
		if len(key) > 128 || !validRequestID(key) {
			WriteProblem(c, log, apperr.Fields([]apperr.FieldError{{Field: HeaderIdempotencyKey, Code: "invalid",
				Message: "must be 1-128 characters of letters, digits, '-', '_', '.', ':'"}}))
			return
		}
		h := sha256.New()
		h.Write([]byte(c.Request.Method + " " + c.Request.URL.Path + "?" + c.Request.URL.RawQuery + "\x00"))
		body, cleanup, err := spool(c.Request.Body, h)
		if err != nil {
			WriteProblem(c, log, err) // 413 when over the limit
			return
		}
		defer cleanup()
		c.Request.Body = body
		hash := h.Sum(nil)
		ctx := c.Request.Context()
		who := owner(ctx)

		claimed, err := claimKey(ctx, pool, who, key, hash)
		if err != nil {
			WriteProblem(c, log, err)
			return
		}
		if !claimed {
			replay(c, ctx, pool, who, key, hash, log)
			return
		}
		rec := &recorder{ResponseWriter: c.Writer}
		c.Writer = rec
		c.Next()
		status := rec.Status()
		// A server error, or a refused request the client may fix, is not kept: the key can be used again.
		keep := status < 500 && status != http.StatusTooManyRequests
		var saveErr error
		if keep {
			saveErr = pool.Conn(context.WithoutCancel(ctx)).Exec(`UPDATE idempotency_keys SET status = ?, content_type = ?, body = ?
				WHERE owner = ? AND key = ?`, status, rec.Header().Get("Content-Type"), rec.body.Bytes(), who, key).Error
		} else {
			saveErr = pool.Conn(context.WithoutCancel(ctx)).Exec(`UPDATE idempotency_keys SET status = -1 WHERE owner = ? AND key = ?`, who, key).Error
		}
		if saveErr != nil && log != nil {
			log.ErrorContext(ctx, "saving an idempotent response", "error", saveErr.Error())
		}
	}
}

// claimKey records the key as in progress; false when it is already taken
// (by a finished or running request) and still fresh.
func claimKey(ctx context.Context, pool *db.DB, who, key string, hash []byte) (bool, error) {
	res := pool.Conn(ctx).Exec(`INSERT INTO idempotency_keys (owner, key, request_hash) VALUES (?, ?, ?)
		ON CONFLICT (owner, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, status = 0, body = NULL,
		  content_type = NULL, created_at = now()
		WHERE idempotency_keys.status = -1 OR idempotency_keys.created_at < now() - make_interval(secs => ?)`,
		who, key, hash, idempotencyTTL.Seconds())
	if res.Error != nil {
		return false, db.MapError(res.Error)
	}
	return res.RowsAffected == 1, nil
}

var (
	errKeyInProgress = apperr.New(apperr.Conflict, "idempotency_in_progress", "a request with this Idempotency-Key is still running; retry shortly")
	errKeyReused     = apperr.New(apperr.Invalid, "idempotency_key_reused", "this Idempotency-Key was used for a different request")
)

func replay(c *gin.Context, ctx context.Context, pool *db.DB, who, key string, hash []byte, log *slog.Logger) {
	var status int
	var stored []byte
	var ctype sql.NullString
	var body []byte
	err := pool.Conn(ctx).Raw(`SELECT status, request_hash, content_type, body FROM idempotency_keys WHERE owner = ? AND key = ?`,
		who, key).Row().Scan(&status, &stored, &ctype, &body)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		WriteProblem(c, log, errKeyInProgress)
	case err != nil:
		WriteProblem(c, log, db.MapError(err))
	case !bytes.Equal(stored, hash):
		WriteProblem(c, log, errKeyReused)
	case status == 0:
		c.Header("Retry-After", "1")
		WriteProblem(c, log, errKeyInProgress)
	default:
		c.Header("Idempotent-Replayed", "true")
		c.Data(status, ctype.String, body)
		c.Abort()
	}
}

// recorder keeps a copy of what the handler writes.
type recorder struct {
	gin.ResponseWriter
	body bytes.Buffer
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func (r *recorder) WriteString(s string) (int, error) {
	r.body.WriteString(s)
	return r.ResponseWriter.WriteString(s)
}

// inMemoryBody is how much of a body is held in memory; a larger one (a file
// upload) is spooled to a temporary file, so memory stays bounded.
const inMemoryBody = 8 << 20

// spool reads a request body through hash and returns it again for the
// handler, and what to do when the request is over.
func spool(body io.Reader, hash io.Writer) (io.ReadCloser, func(), error) {
	head, err := io.ReadAll(io.LimitReader(io.TeeReader(body, hash), inMemoryBody+1))
	if err != nil {
		return nil, nil, err
	}
	if len(head) <= inMemoryBody {
		return io.NopCloser(bytes.NewReader(head)), func() {}, nil
	}
	f, err := os.CreateTemp("", "ansinh-body-*")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { f.Close(); os.Remove(f.Name()) }
	if _, err := f.Write(head); err != nil {
		cleanup()
		return nil, nil, err
	}
	if _, err := io.Copy(f, io.TeeReader(body, hash)); err != nil {
		cleanup()
		return nil, nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		cleanup()
		return nil, nil, err
	}
	return io.NopCloser(f), cleanup, nil
}
