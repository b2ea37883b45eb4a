// Package sqlite opens Surge's embedded SQL engine (modernc.org/sqlite, pure
// Go) with the settings durability needs, and holds its schema migrations.
//
// SQLite allows one writer at a time, so writes go through a pool of one
// connection whose transactions start IMMEDIATE (taking the write lock up
// front instead of failing on upgrade), while reads use a separate pool.
// This package must never hold queries: those live, written once, in store.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// Migrations holds the SQLite schema versions, applied in order by goose.
//
//go:embed migrations/*.sql
var Migrations embed.FS

// Open opens (creating if needed) the database file at path and returns a
// single-connection write pool and a read pool.
func Open(ctx context.Context, path string, readConns int) (write, read *sql.DB, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, fmt.Errorf("sqlite: create data dir: %w", err)
	}
	if err := private(path); err != nil {
		return nil, nil, err
	}
	// synchronous=FULL: a commit is on disk before it is acknowledged, so a
	// 2xx survives a SIGKILL or power loss (WAL with NORMAL would not).
	// temp_store=MEMORY keeps the savepoints' sub-journals (one per write
	// in a group commit) off the disk: they only ever undo a write within
	// its open transaction, and as files they cost a write call per page.
	pragmas := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(ON)", "temp_store(MEMORY)"} {
		pragmas.Add("_pragma", p)
	}
	dsn := "file:" + path + "?" + pragmas.Encode()
	write, err = OpenDB(dsn + "&_txlock=immediate")
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: open: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	read, err = OpenDB(dsn + "&_pragma=query_only(ON)")
	if err != nil {
		write.Close()
		return nil, nil, fmt.Errorf("sqlite: open: %w", err)
	}
	read.SetMaxOpenConns(readConns)
	read.SetMaxIdleConns(readConns)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := write.PingContext(pctx); err != nil {
		write.Close()
		read.Close()
		return nil, nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	return write, read, nil
}

// private makes the database file, and the journal files SQLite creates
// beside it, readable by this user only: the database holds the customer
// token signing secrets and key hashes. SQLite gives a new WAL file the
// database file's mode, so creating the database 0600 covers those too;
// files an older version left 0644 are tightened.
func private(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("sqlite: %w", err)
		}
	}
	return nil
}
