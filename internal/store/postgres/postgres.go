// Package postgres opens Surge's production SQL engine through pgx and holds
// its schema migrations.
//
// This package must never hold queries: those live, written once, in store.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Migrations holds the PostgreSQL schema versions, applied in order by goose.
//
//go:embed migrations/*.sql
var Migrations embed.FS

// Open connects to the database at url with a pool of at most maxConns,
// and fails unless it answers.
func Open(ctx context.Context, url string, maxConns int) (*sql.DB, error) {
	db, cfg, err := pool(url, maxConns)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connect to %s@%s:%d/%s: %w", cfg.User, cfg.Host, cfg.Port, cfg.Database, err)
	}
	return db, nil
}

// OpenLazy is Open for a database that may be down now and come later (a
// read replica): it connects on first use.
func OpenLazy(url string, maxConns int) (*sql.DB, error) {
	db, _, err := pool(url, maxConns)
	return db, err
}

func pool(url string, maxConns int) (*sql.DB, *pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, nil, fmt.Errorf("postgres: bad database URL: %w", err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db, cfg, nil
}
