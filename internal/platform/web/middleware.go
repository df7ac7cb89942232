package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/platform/reqinfo"
)

// HeaderRequestID carries the request id in both directions.
const HeaderRequestID = "X-Request-ID"

// validRequestID accepts a client's id only when it is short and plain, so that
// it can be logged and echoed safely.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == ':'
		if !ok {
			return false
		}
	}
	return true
}

// RequestID takes the client's X-Request-ID or makes one (UUIDv7), echoes it,
// and puts the request's facts in its context for services and the audit trail.
func RequestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(HeaderRequestID)
		if !validRequestID(id) {
			id = newID()
		}
		c.Header(HeaderRequestID, id)
		info := reqinfo.Info{
			RequestID: id,
			ClientIP:  c.ClientIP(),
			UserAgent: c.Request.UserAgent(),
			Route:     c.Request.Method + " " + c.FullPath(),
		}
		c.Request = c.Request.WithContext(reqinfo.With(c.Request.Context(), info))
		c.Next()
	}
}

func newID() string {
	if u, err := uuid.NewV7(); err == nil {
		return u.String()
	}
	return uuid.NewString() // v4 if the clock read failed; still unique
}

// AccessLog writes one structured line per request. It logs the path without
// its query string: queries carry names and ID numbers, which are personal data.
func AccessLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		status := c.Writer.Status()
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		log.LogAttrs(c.Request.Context(), level, "http request",
			slog.String("request_id", reqinfo.From(c.Request.Context()).RequestID),
			slog.String("method", c.Request.Method),
			slog.String("route", c.FullPath()),
			slog.String("path", c.Request.URL.Path),
			slog.Int("status", status),
			slog.Int("bytes", c.Writer.Size()),
			slog.Duration("duration", time.Since(start)),
			slog.String("client_ip", c.ClientIP()),
			slog.String("user_agent", c.Request.UserAgent()),
		)
	}
}

// Recovery turns a panic into a 500 problem that shows nothing of the panic,
// and logs the panic with its stack once.
func Recovery(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			rec := recover()
			if rec == nil {
				return
			}
			if rec == http.ErrAbortHandler { // the handler asked to drop the connection
				panic(rec)
			}
			log.ErrorContext(c.Request.Context(), "panic in handler",
				"request_id", reqinfo.From(c.Request.Context()).RequestID,
				"route", c.FullPath(), "panic", fmt.Sprint(rec), "stack", string(debug.Stack()))
			WriteProblem(c, nil, fmt.Errorf("panic: %v", rec))
		}()
		c.Next()
	}
}

// BodyLimit answers 413 when the declared body is too large and caps what a
// handler can read when the length is not declared (chunked uploads); reading
// past the cap fails with *http.MaxBytesError, which WriteProblem maps to 413.
func BodyLimit(max int64, large map[string]int64, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		max := max
		if l, ok := large[c.FullPath()]; ok {
			max = l
		}
		if max <= 0 || c.Request.Body == nil {
			c.Next()
			return
		}
		if c.Request.ContentLength > max {
			// Close the connection: the client may still be sending the body.
			c.Header("Connection", "close")
			WriteProblem(c, log, newPlumbingError(http.StatusRequestEntityTooLarge, codeTooLarge))
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, max)
		c.Next()
	}
}

// Deadline gives every request a deadline of timeout (zero: none), below the
// server's write timeout: waiting for a pooled connection, statements and
// lock waits end with it, the transaction rolls back, and the client still
// hears the answer (503 timeout with Retry-After), never a commit it cannot
// hear about.
func Deadline(timeout time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		if timeout <= 0 {
			c.Next()
			return
		}
		ctx, cancel := context.WithTimeout(c.Request.Context(), timeout)
		defer cancel()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}
