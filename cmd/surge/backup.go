package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/surge-commerce/surge/internal/backup"
	"github.com/surge-commerce/surge/internal/config"
	"github.com/surge-commerce/surge/internal/store"
)

// runBackup writes an online, consistent backup of the configured store:
// the SQLite data directory's databases, or a PostgreSQL base backup.
func runBackup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: surge backup --out FILE [flags]\n\nCopies the store while Surge runs: SQLite's databases in --data, or a PostgreSQL\nbase backup of SURGE_DATABASE_URL (pg_basebackup) and the in-process payment\nsimulator's database in --data. Restore with surge restore.")
		fs.PrintDefaults()
	}
	cfg := config.Register(fs, getenv)
	out := fs.String("out", "", "the backup file to write (a .tar.gz)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		fs.Usage()
		return errors.New("backup needs --out FILE")
	}
	ctx, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	var m backup.Manifest
	var err error
	if store.IsPostgresURL(cfg.DatabaseURL) {
		m, err = backup.Postgres(ctx, cfg.DatabaseURL, cfg.DataDir, *out)
	} else {
		m, err = backup.SQLite(ctx, cfg.DataDir, *out)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup of %s taken at %s: %v → %s\n", m.Engine, m.TakenAt.Format(time.RFC3339), m.Files, *out)
	return nil
}

// runRestore unpacks a backup into a fresh directory: a data directory to
// serve from (SQLite), or one to start PostgreSQL on.
func runRestore(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: surge restore --from FILE --data DIR [--surge-data DIR2]\n\nUnpacks a backup into DIR, which must be empty or absent: for SQLite a data\ndirectory to run surge serve --data DIR on; for PostgreSQL a data directory to\nstart PostgreSQL on (as its user), which replays the included log first, and\nthe in-process payment simulator's database into DIR2, the data directory of\nthe surge serve to run on it.")
		fs.PrintDefaults()
	}
	cfg := config.Register(fs, getenv)
	from := fs.String("from", "", "the backup file to restore")
	surgeData := fs.String("surge-data", "", "PostgreSQL backups: the data directory of the surge serve to run on the restored database, for the payment simulator's database")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *from == "" {
		fs.Usage()
		return errors.New("restore needs --from FILE")
	}
	ctx, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	m, err := backup.Restore(ctx, *from, cfg.DataDir, *surgeData)
	if err != nil {
		return err
	}
	if err := backup.Verify(ctx, cfg.DataDir, *surgeData, m); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored the %s backup taken at %s into %s\n", m.Engine, m.TakenAt.Format(time.RFC3339), cfg.DataDir)
	if m.Engine == "postgres" && slices.Contains(m.Files, "psp/psp.db") {
		if *surgeData == "" {
			fmt.Fprintln(stdout, "the payment simulator's database was left out: pass --surge-data DIR to restore it for surge serve --data DIR")
		} else {
			fmt.Fprintf(stdout, "the payment simulator's database restored into %s\n", *surgeData)
		}
	}
	return nil
}
