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

// classify turns a driver error into an errcode error, so callers above the
// store see "unavailable" for an unreachable or overloaded database and
// "conflict" for a violated constraint, whatever the engine.
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
	case pgErr.Code == "40001", pgErr.Code == "40P01", pgErr.Code == "55P03", pgErr.Code == "57014",
		pgErr.Code[:2] == "08", pgErr.Code[:2] == "53", pgErr.Code[:2] == "57":
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
