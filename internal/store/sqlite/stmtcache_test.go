package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
)

func openTest(t *testing.T) *sql.DB {
	t.Helper()
	db, err := OpenDB("file:" + filepath.Join(t.TempDir(), "t.db") + "?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := db.Exec(`INSERT INTO t (id, v) VALUES (?, ?)`, i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// cached returns how many statements the pool's one connection holds.
func cached(t *testing.T, db *sql.DB) int {
	t.Helper()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	n := 0
	_ = conn.Raw(func(dc any) error { n = len(dc.(*cachingConn).stmts); return nil })
	return n
}

func TestStatementsArePreparedOnce(t *testing.T) {
	db := openTest(t)
	before := cached(t, db)
	for i := range 10 {
		var v string
		if err := db.QueryRow(`SELECT v FROM t WHERE id = ?`, i%3).Scan(&v); err != nil || v != fmt.Sprint("v", i%3) {
			t.Fatalf("query %d: %q, %v", i, v, err)
		}
	}
	if got := cached(t, db) - before; got != 1 {
		t.Fatalf("ten runs of one query cached %d statements, want 1", got)
	}
}

// A query run again while its own rows are still open must not reset them.
func TestNestedRunOfOneQuery(t *testing.T) {
	db := openTest(t)
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // read only
	const q = `SELECT id FROM t WHERE id >= ? ORDER BY id`
	outer, err := tx.Query(q, 0)
	if err != nil {
		t.Fatal(err)
	}
	var seen []int
	for outer.Next() {
		var id int
		if err := outer.Scan(&id); err != nil {
			t.Fatal(err)
		}
		n := 0
		inner, err := tx.Query(q, id)
		if err != nil {
			t.Fatal(err)
		}
		for inner.Next() {
			n++
		}
		if err := inner.Close(); err != nil {
			t.Fatal(err)
		}
		if n != 3-id {
			t.Fatalf("inner run from %d saw %d rows, want %d", id, n, 3-id)
		}
		seen = append(seen, id)
	}
	if err := outer.Err(); err != nil || len(seen) != 3 {
		t.Fatalf("outer rows: %v, %v", seen, err)
	}
}

// A failed run leaves the statement usable.
func TestStatementAfterError(t *testing.T) {
	db := openTest(t)
	const q = `INSERT INTO t (id, v) VALUES (?, ?)`
	if _, err := db.Exec(q, 10, "v0"); err == nil {
		t.Fatal("a duplicate value was inserted")
	}
	if _, err := db.Exec(q, 10, "v10"); err != nil {
		t.Fatalf("the statement failed after an error: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := db.ExecContext(ctx, q, 11, "v11"); err == nil {
		t.Fatal("a cancelled insert ran")
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM t`).Scan(&n); err != nil || n != 4 {
		t.Fatalf("count %d, %v; want 4", n, err)
	}
}

// Past the bound, queries still run, uncached.
func TestFullCache(t *testing.T) {
	db := openTest(t)
	for i := range maxCachedStmts + 5 {
		var n int
		if err := db.QueryRow(fmt.Sprintf(`SELECT count(*) + %d FROM t`, i)).Scan(&n); err != nil || n != 3+i {
			t.Fatalf("query %d: %d, %v", i, n, err)
		}
	}
	if got := cached(t, db); got != maxCachedStmts {
		t.Fatalf("cache holds %d statements, want the bound %d", got, maxCachedStmts)
	}
}
