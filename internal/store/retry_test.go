package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/store/sqlite"
	"github.com/surge-commerce/surge/internal/testrig"
)

// Only an unreachable database counts against the breaker; transactions
// that got in each other's way are conflicts to retry.
func TestClassifyUnreachable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		err         error
		unreachable bool
		code, typ   string
	}{
		{"deadlock", &pgconn.PgError{Code: "40P01"}, false, errcode.Conflict, ConflictRetry},
		{"serialization failure", &pgconn.PgError{Code: "40001"}, false, errcode.Conflict, ConflictRetry},
		{"lock not available", &pgconn.PgError{Code: "55P03"}, false, errcode.Conflict, ConflictRetry},
		{"statement timeout", &pgconn.PgError{Code: "57014"}, false, errcode.Unavailable, ""},
		{"too many connections", &pgconn.PgError{Code: "53300"}, false, errcode.Unavailable, ""},
		{"check violation", &pgconn.PgError{Code: "23514"}, false, errcode.Conflict, ""},
		{"connection failure", &pgconn.PgError{Code: "08006"}, true, errcode.Unavailable, ""},
		{"server shutting down", &pgconn.PgError{Code: "57P01"}, true, errcode.Unavailable, ""},
		{"connect error", &pgconn.ConnectError{}, true, errcode.Unavailable, ""},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true, errcode.Unavailable, ""},
		{"bad connection", driver.ErrBadConn, true, errcode.Unavailable, ""},
		{"caller gave up", context.Canceled, false, errcode.Unavailable, ""},
		{"out of time", fmt.Errorf("commit: %w", context.DeadlineExceeded), false, errcode.Unavailable, ""},
		{"sqlite check violation", sqliteError(t, "CREATE TABLE c (n INTEGER CHECK (n >= 0)); INSERT INTO c VALUES (-1)"), false, errcode.Conflict, ""},
		{"sqlite cannot open", sqliteOpenError(t), true, errcode.Unavailable, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := unreachable(tc.err); got != tc.unreachable {
				t.Errorf("unreachable(%v) = %v, want %v", tc.err, got, tc.unreachable)
			}
			var e *errcode.Error
			if got := classify(tc.err); !errors.As(got, &e) || e.Code != tc.code || e.Type != tc.typ {
				t.Errorf("classify(%v) = %v, want code %q type %q", tc.err, got, tc.code, tc.typ)
			}
		})
	}
}

func sqliteError(t *testing.T, script string) error {
	t.Helper()
	db, err := sqlite.OpenDB("file:" + filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = db.Exec(script)
	if err == nil {
		t.Fatalf("%s: no error", script)
	}
	return err
}

func sqliteOpenError(t *testing.T) error {
	t.Helper()
	db, err := sqlite.OpenDB("file:" + filepath.Join(t.TempDir(), "missing", "c.db") + "?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Ping()
	if err == nil {
		t.Fatal("opened a database in a missing directory")
	}
	return err
}

func openPostgres(t *testing.T) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := Open(ctx, Config{DatabaseURL: testrig.PostgresURL(t), MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.write.ExecContext(ctx, `CREATE TABLE probe (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);
		INSERT INTO probe VALUES (1, 0), (2, 0)`); err != nil {
		t.Fatal(err)
	}
	return s
}

// raise makes PostgreSQL fail the statement with an error code, as it
// does when it picks a transaction as a deadlock's victim.
func raise(code string) string {
	return `DO $$ BEGIN RAISE EXCEPTION 'forced' USING ERRCODE = '` + code + `'; END $$`
}

// A transaction that loses a conflict is run again, and answered
// conflict_retry only when it keeps losing; neither opens the breaker,
// however often it happens.
func TestPostgresRetriesConflicts(t *testing.T) {
	t.Parallel()
	s := openPostgres(t)
	ctx := t.Context()
	for i := range 8 {
		attempts := 0
		err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
			attempts++
			if attempts < 3 {
				_, err := tx.ExecContext(ctx, raise("40P01"))
				return err
			}
			_, err := tx.ExecContext(ctx, `UPDATE probe SET n = n + 1 WHERE id = 1`)
			return err
		})
		if err != nil || attempts != 3 {
			t.Fatalf("transaction %d: %v after %d attempts, want success at the third", i, err, attempts)
		}
	}
	for i := range 8 {
		attempts := 0
		err := s.pipelined(ctx, func(ctx context.Context, t *pipeTx) error {
			attempts++
			t.exec(nil, `UPDATE probe SET n = n + 1 WHERE id = 2`)
			t.exec(nil, raise("40001"))
			return nil
		})
		var e *errcode.Error
		if !errors.As(err, &e) || e.Code != errcode.Conflict || e.Type != ConflictRetry || attempts != 4 {
			t.Fatalf("pipelined transaction %d: %v after %d attempts, want conflict_retry after 4", i, err, attempts)
		}
	}
	var n1, n2 int
	if err := s.write.QueryRowContext(ctx, `SELECT (SELECT n FROM probe WHERE id = 1), (SELECT n FROM probe WHERE id = 2)`).Scan(&n1, &n2); err != nil {
		t.Fatal(err)
	}
	if n1 != 8 || n2 != 0 {
		t.Fatalf("probe counts %d and %d, want 8 (each success once) and 0 (every failure rolled back)", n1, n2)
	}
	if st := s.BreakerState(); st != "closed" {
		t.Fatalf("breaker %s after conflicts, want closed", st)
	}
}

// Two transactions locking two rows in opposite orders deadlock; the
// one PostgreSQL aborts runs again, and both commit.
func TestPostgresDeadlockIsRetried(t *testing.T) {
	t.Parallel()
	s := openPostgres(t)
	ctx := t.Context()
	first, second := make(chan struct{}), make(chan struct{})
	var once [2]sync.Once
	var attempts atomic.Int32
	lockBoth := func(me int, mine chan struct{}, theirs <-chan struct{}, order [2]int) error {
		return s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
			attempts.Add(1)
			// Found at once rather than after the default second.
			if _, err := tx.ExecContext(ctx, `SET LOCAL deadlock_timeout = '20ms'`); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE probe SET n = n + 1 WHERE id = $1`, order[0]); err != nil {
				return err
			}
			once[me].Do(func() { close(mine) })
			<-theirs // each holds its first row before either asks for its second
			_, err := tx.ExecContext(ctx, `UPDATE probe SET n = n + 1 WHERE id = $1`, order[1])
			return err
		})
	}
	errs := make(chan error, 2)
	go func() { errs <- lockBoth(0, first, second, [2]int{1, 2}) }()
	go func() { errs <- lockBoth(1, second, first, [2]int{2, 1}) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("a deadlocked transaction: %v, want it retried to success", err)
		}
	}
	if a := attempts.Load(); a < 3 {
		t.Fatalf("%d attempts, want the deadlock's victim run again", a)
	}
	if st := s.BreakerState(); st != "closed" {
		t.Fatalf("breaker %s after a deadlock, want closed", st)
	}
}
