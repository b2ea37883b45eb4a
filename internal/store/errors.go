package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"net"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/surge-commerce/surge/internal/errcode"
)

// ConflictRetry is the type of a conflict between concurrent transactions
// (a deadlock, a serialization failure, a lock not available) that the
// store retried and still lost: the request may simply be sent again.
const ConflictRetry = "conflict_retry"

// retryable reports whether a PostgreSQL error code is a conflict between
// transactions, which a second attempt of the whole transaction resolves:
// serialization failure, deadlock, lock not available.
func retryable(code string) bool {
	return code == "40001" || code == "40P01" || code == "55P03"
}

// classify turns a driver error into an errcode error, so callers above the
// store see "unavailable" for an unreachable or overloaded database,
// "conflict" for a violated constraint and conflict_retry for transactions
// that got in each other's way, whatever the engine.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var coded *errcode.Error
	if errors.As(err, &coded) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return errcode.Wrap(errcode.NotFound, err, "not found")
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) {
		return errcode.Wrap(errcode.Unavailable, err, "the database did not answer in time")
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return classifyPostgres(pgErr, err)
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		return classifySQLite(liteErr.Code(), err)
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	if errors.As(err, &connErr) || errors.As(err, &netErr) || pgconn.SafeToRetry(err) {
		return errcode.Wrap(errcode.Unavailable, err, "the database is unreachable")
	}
	return errcode.Wrap(errcode.Internal, err, "database error")
}

func classifyPostgres(pgErr *pgconn.PgError, err error) error {
	switch {
	case pgErr.Code == "23505":
		return errcode.Wrap(errcode.Conflict, err, "already exists")
	case pgErr.Code == "22021", pgErr.Code == "22P05":
		// A NUL or a character the server encoding cannot hold: the
		// input's fault, and nothing was written.
		return errcode.Wrap(errcode.Invalid, err, "the text holds a character the database cannot store")
	case pgErr.Code == "23514":
		return errcode.Wrap(errcode.Conflict, err, "the change would break a stock invariant")
	case retryable(pgErr.Code):
		return &errcode.Error{Code: errcode.Conflict, Type: ConflictRetry, Message: "try again", Err: err}
	case pgErr.Code == "57014", pgErr.Code[:2] == "08", pgErr.Code[:2] == "53", pgErr.Code[:2] == "57":
		return errcode.Wrap(errcode.Unavailable, err, "the database is busy or unreachable")
	}
	return errcode.Wrap(errcode.Internal, err, "database error")
}

func classifySQLite(code int, err error) error {
	switch code {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return errcode.Wrap(errcode.Conflict, err, "already exists")
	case sqlite3.SQLITE_CONSTRAINT_CHECK:
		return errcode.Wrap(errcode.Conflict, err, "the change would break a stock invariant")
	}
	switch code & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN:
		return errcode.Wrap(errcode.Unavailable, err, "the database is busy or unreachable")
	}
	return errcode.Wrap(errcode.Internal, err, "database error")
}

// unreachable reports whether err says the database cannot be reached:
// no connection, a connection lost, a server shutting down, a SQLite file
// that cannot be opened or read. Only these open the breaker; a deadlock,
// a statement timeout under load, a violated constraint or a caller that
// gave up says nothing about whether the database is there.
func unreachable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code[:2] == "08" || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		code := liteErr.Code() & 0xff
		return code == sqlite3.SQLITE_CANTOPEN || code == sqlite3.SQLITE_IOERR
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connErr) || errors.As(err, &netErr) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone)
}
