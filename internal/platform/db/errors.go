package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/ansinh/ansinh/internal/platform/apperr"
)

// PostgreSQL error codes we act on (https://www.postgresql.org/docs/15/errcodes-appendix.html).
const (
	codeUniqueViolation      = "23505"
	codeForeignKeyViolation  = "23503"
	codeCheckViolation       = "23514"
	codeNotNullViolation     = "23502"
	codeExclusionViolation   = "23P01"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeReadOnlyTransaction  = "25006"
	codeAdminShutdown        = "57P01"
	codeCrashShutdown        = "57P02"
	codeCannotConnectNow     = "57P03"
	codeQueryCanceled        = "57014" // statement_timeout (or a cancel request)
	codeLockNotAvailable     = "55P03" // lock_timeout
	codeIdleInTransaction    = "25P03" // idle_in_transaction_session_timeout ended the session
)

// PgCode is the SQLSTATE of err, or "" when it is not a PostgreSQL error.
func PgCode(err error) string {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code
	}
	return ""
}

func retryable(err error) bool {
	c := PgCode(err)
	return c == codeSerializationFailure || c == codeDeadlockDetected
}

// MapError classifies a database error as an apperr kind, keeping the cause.
// Errors that already carry a kind, and nil, pass through unchanged.
func MapError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := apperr.As(err); ok {
		return err
	}
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return apperr.Wrap(err, apperr.NotFound, "not_found", "the record does not exist")
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch {
		case pg.Code == codeUniqueViolation, pg.Code == codeExclusionViolation:
			return apperr.Wrap(err, apperr.Conflict, "duplicate", "a record with the same unique values already exists")
		case pg.Code == codeForeignKeyViolation:
			return apperr.Wrap(err, apperr.Invalid, "reference_not_found", "the request refers to a record that does not exist")
		case pg.Code == codeCheckViolation, pg.Code == codeNotNullViolation:
			return apperr.Wrap(err, apperr.Invalid, "constraint_violated", "the request breaks a rule of the data")
		case strings.HasPrefix(pg.Code, "22"): // data exceptions: out of range, bad format
			return apperr.Wrap(err, apperr.Invalid, "invalid_value", "a value in the request is out of range or malformed")
		case pg.Code == codeSerializationFailure, pg.Code == codeDeadlockDetected:
			return apperr.Wrap(err, apperr.Conflict, "concurrent_update", "the record was changed concurrently; retry")
		case pg.Code == codeQueryCanceled, pg.Code == codeLockNotAvailable, pg.Code == codeIdleInTransaction:
			return timeout(err)
		case pg.Code == codeReadOnlyTransaction, pg.Code == codeAdminShutdown, pg.Code == codeCrashShutdown,
			pg.Code == codeCannotConnectNow, strings.HasPrefix(pg.Code, "08"):
			return apperr.Wrap(err, apperr.Unavailable, "database_unavailable", "the database is unavailable; retry later")
		}
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return timeout(err)
	}
	if ConnectionLost(err) {
		return apperr.Wrap(err, apperr.Unavailable, "database_unavailable", "the database is unavailable; retry later")
	}
	return err
}

// ConnectionLost reports whether err says that the connection to the server
// could not be made, broke, or was closed: the server went away under the
// statement (killed with its postmaster: the driver reads an unexpected EOF,
// without an error message), the network failed, the pool handed out a dead
// connection, or the statement never reached the server (pgconn's
// SafeToRetry). The statement's transaction did not commit (a COMMIT whose
// answer was lost is the one case the client cannot know; it retries with
// its Idempotency-Key). The server's own farewells are PostgreSQL errors
// (08xxx, 57P01-57P03), which MapError classifies by their code.
func ConnectionLost(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) || errors.Is(err, pgconn.ErrConnClosed) ||
		pgconn.SafeToRetry(err) || errors.As(err, &ce) || errors.As(err, &ne)
}

// timeout is err past a bound: the request's deadline (waiting for a pooled
// connection or for the server), statement_timeout or lock_timeout. The
// transaction has rolled back; the client may retry (503 with Retry-After).
func timeout(err error) error {
	return apperr.Wrap(err, apperr.Unavailable, "timeout", "the request did not finish in time (the data it needs is busy); retry later")
}
