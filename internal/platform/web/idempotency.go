package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/json"
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

// staleClaim is the age past which an "in progress" row (status 0, written
// by releases before the answer was stored in the write's own transaction)
// is taken as abandoned by a server that died, and the key may run again.
const staleClaim = 5 * time.Minute

// Idempotency makes writes safe to retry: a request that carries an
// Idempotency-Key is run once per caller and key; a retry with the same key
// and the same request gets the first response again (with
// Idempotent-Replayed: true), a retry while the first still runs gets 409, and
// the same key on a different request gets 422. owner names the caller (keys
// of different callers never meet).
//
// The request runs in one database transaction (db.WithRequestTx: the
// services join it): a transaction-scoped advisory lock on (owner, key) tells
// that the same key runs now (409 idempotency_in_progress); then a stored
// answer is replayed; otherwise the handler runs with its answer held back,
// the answer is stored in the same transaction, and it reaches the client
// only after the commit. The write and its stored answer commit together or
// not at all: a server or database that dies half way leaves neither (and
// the advisory lock dies with the session), so the retry runs afresh. Server
// errors, 429 and a client gone away roll everything back and keep nothing,
// so they can be retried.
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
		run := &idemRun{pool: pool, who: owner(c.Request.Context()), key: key, hash: h.Sum(nil)}
		run.serve(c, log)
	}
}

// idemRun is one request with an Idempotency-Key.
type idemRun struct {
	pool     *db.DB
	who, key string
	hash     []byte
	replay   *storedAnswer   // the stored answer found, if any
	buf      *bufferedWriter // the handler's answer, held back until the commit
}

var (
	errKeyInProgress = apperr.New(apperr.Conflict, "idempotency_in_progress", "a request with this Idempotency-Key is still running; retry shortly")
	errKeyReused     = apperr.New(apperr.Invalid, "idempotency_key_reused", "this Idempotency-Key was used for a different request")
	errNotKept       = errors.New("idempotency: the answer is not kept")
)

func (r *idemRun) serve(c *gin.Context, log *slog.Logger) {
	orig, origReq := c.Writer, c.Request
	r.buf = newBufferedWriter(orig)
	defer func() { c.Writer, c.Request = orig, origReq }() // also when the handler panics: Recovery answers on the real writer
	err := r.pool.WithRequestTx(origReq.Context(), func(ctx context.Context) error {
		return r.inTx(c, ctx)
	})
	c.Writer, c.Request = orig, origReq
	switch {
	case errors.Is(err, errNotKept):
		r.buf.flush() // a server error or the like: nothing was kept, the client sees it as it was
	case errors.Is(err, errKeyInProgress):
		c.Header("Retry-After", "1")
		WriteProblem(c, log, err)
	case err != nil:
		WriteProblem(c, log, err) // the write rolled back: a retry runs afresh
	case r.replay != nil:
		r.replay.write(c)
	default:
		r.buf.flush()
	}
	c.Abort()
}

// inTx locks the key, replays a stored answer or runs the handler and stores
// its answer, all in the request's transaction.
func (r *idemRun) inTx(c *gin.Context, ctx context.Context) error {
	locked, err := lockKey(ctx, r.pool, r.who, r.key)
	if err != nil {
		return err
	}
	if !locked {
		return errKeyInProgress
	}
	stored, found, err := findAnswer(ctx, r.pool, r.who, r.key)
	if err != nil {
		return err
	}
	if found {
		switch {
		case stored.expired || stored.status == -1 || (stored.status == 0 && stored.stale):
			// claimable: run afresh
		case !bytes.Equal(stored.requestHash, r.hash):
			return errKeyReused
		case stored.status == 0:
			return errKeyInProgress // an older release runs it now
		default:
			r.replay = &stored
			return nil
		}
	}
	c.Writer = r.buf
	c.Request = c.Request.WithContext(ctx)
	c.Next()
	status := r.buf.Status()
	if status >= 500 || status == http.StatusTooManyRequests || status == statusClientClosed || ctx.Err() != nil {
		return errNotKept
	}
	if err := saveAnswer(ctx, r.pool, r.who, r.key, r.hash, status, r.buf.header, r.buf.body.Bytes()); err != nil {
		if status >= 400 {
			return errNotKept // a refusal whose transaction the handler left aborted: nothing kept, the client sees it
		}
		return err
	}
	return nil
}

// statusClientClosed is the status written when the client went away.
const statusClientClosed = 499

// lockKey takes the transaction's advisory lock on (owner, key); false when
// another transaction (the same key running now) holds it.
func lockKey(ctx context.Context, pool *db.DB, who, key string) (bool, error) {
	sum := sha256.Sum256([]byte(who + "\x00" + key))
	var locked bool
	err := pool.Conn(ctx).Raw(`SELECT pg_try_advisory_xact_lock(?)`, int64(binary.BigEndian.Uint64(sum[:8]))).Row().Scan(&locked)
	return locked, db.MapError(err)
}

// storedAnswer is a key's row.
type storedAnswer struct {
	status         int
	requestHash    []byte
	contentType    sql.NullString
	headers        []byte // JSON of the handler's headers; NULL in rows of older releases
	body           []byte
	expired, stale bool
}

func findAnswer(ctx context.Context, pool *db.DB, who, key string) (storedAnswer, bool, error) {
	var a storedAnswer
	err := pool.Conn(ctx).Raw(`SELECT status, request_hash, content_type, headers, body,
		  created_at < now() - make_interval(secs => ?), created_at < now() - make_interval(secs => ?)
		FROM idempotency_keys WHERE owner = ? AND key = ?`, idempotencyTTL.Seconds(), staleClaim.Seconds(), who, key).
		Row().Scan(&a.status, &a.requestHash, &a.contentType, &a.headers, &a.body, &a.expired, &a.stale)
	if errors.Is(err, sql.ErrNoRows) {
		return a, false, nil
	}
	return a, err == nil, db.MapError(err)
}

// keptHeaders are the handler's headers a replay gives again.
var keptHeaders = []string{"Content-Type", "Content-Language", "Location", "ETag", "Cache-Control", "Last-Modified"}

func saveAnswer(ctx context.Context, pool *db.DB, who, key string, hash []byte, status int, header http.Header, body []byte) error {
	kept := http.Header{}
	for _, k := range keptHeaders {
		for _, v := range header.Values(k) {
			kept.Add(k, v)
		}
	}
	hj, err := json.Marshal(kept)
	if err != nil {
		return err
	}
	return db.MapError(pool.Conn(ctx).Exec(`INSERT INTO idempotency_keys (owner, key, request_hash, status, content_type, headers, body)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (owner, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, status = EXCLUDED.status,
		  content_type = EXCLUDED.content_type, headers = EXCLUDED.headers, body = EXCLUDED.body, created_at = now()`,
		who, key, hash, status, header.Get("Content-Type"), string(hj), body).Error)
}

func (a *storedAnswer) write(c *gin.Context) {
	var h http.Header
	if len(a.headers) == 0 || json.Unmarshal(a.headers, &h) != nil {
		h = http.Header{"Content-Type": {a.contentType.String}}
	}
	for k, vs := range h {
		c.Writer.Header().Del(k)
		for _, v := range vs {
			c.Writer.Header().Add(k, v)
		}
	}
	c.Header("Idempotent-Replayed", "true")
	c.Status(a.status)
	_, _ = c.Writer.Write(a.body)
}

// bufferedWriter holds the handler's answer (status, headers, body) back
// until the transaction has committed.
type bufferedWriter struct {
	gin.ResponseWriter // the real writer, for what is not buffered
	header             http.Header
	status             int
	body               bytes.Buffer
}

func newBufferedWriter(w gin.ResponseWriter) *bufferedWriter {
	return &bufferedWriter{ResponseWriter: w, header: http.Header{}}
}

func (w *bufferedWriter) Header() http.Header { return w.header }

func (w *bufferedWriter) WriteHeader(code int) {
	if w.status == 0 && code > 0 {
		w.status = code
	}
}

func (w *bufferedWriter) WriteHeaderNow() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
}

func (w *bufferedWriter) Write(b []byte) (int, error) {
	w.WriteHeaderNow()
	return w.body.Write(b)
}

func (w *bufferedWriter) WriteString(s string) (int, error) {
	w.WriteHeaderNow()
	return w.body.WriteString(s)
}

func (w *bufferedWriter) Status() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

func (w *bufferedWriter) Size() int {
	if w.status == 0 && w.body.Len() == 0 {
		return -1
	}
	return w.body.Len()
}

func (w *bufferedWriter) Written() bool { return w.status != 0 }

// Flush does nothing: the answer goes out after the commit.
func (w *bufferedWriter) Flush() {}

// flush sends the held answer to the real writer.
func (w *bufferedWriter) flush() {
	out := w.ResponseWriter
	for k, vs := range w.header {
		out.Header()[k] = vs
	}
	out.WriteHeader(w.Status())
	if w.body.Len() > 0 {
		_, _ = out.Write(w.body.Bytes())
	} else {
		out.WriteHeaderNow()
	}
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
