package backup_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/surge-commerce/surge/internal/backup"
	"github.com/surge-commerce/surge/internal/store/sqlite"
	"github.com/surge-commerce/surge/internal/testrig"
)

// A PostgreSQL base backup taken while rows commit restores into a data
// directory PostgreSQL starts on: every row committed before the backup
// began is there, and the restored rows are whole. The in-process
// payment simulator's ledger, SQLite beside it, comes along and is
// restored where surge serve will run.
func TestPostgresBackupRestores(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	pg := testrig.StartPostgres(t)
	conn, err := pgx.Connect(ctx, pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `CREATE TABLE orders (id bigint PRIMARY KEY, total bigint NOT NULL CHECK (total = id * 10))`); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 100; i++ {
		if _, err := conn.Exec(ctx, `INSERT INTO orders VALUES ($1, $2)`, i, i*10); err != nil {
			t.Fatal(err)
		}
	}
	// Writes go on while the backup runs, on a connection of their own.
	writer, err := pgx.Connect(ctx, pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close(context.Background())
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 1000; !stop.Load(); i++ {
			if _, err := writer.Exec(ctx, `INSERT INTO orders VALUES ($1, $2)`, i, i*10); err != nil {
				t.Errorf("insert during the backup: %v", err)
				return
			}
		}
	})
	data := t.TempDir()
	if err := os.MkdirAll(filepath.Join(data, "psp"), 0o700); err != nil {
		t.Fatal(err)
	}
	ledger, err := sqlite.OpenDB("file:" + filepath.Join(data, "psp", "psp.db"))
	if err == nil {
		_, err = ledger.ExecContext(ctx, `CREATE TABLE payments (id TEXT PRIMARY KEY)`)
		ledger.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "pg.tar.gz")
	m, err := backup.Postgres(ctx, pg.URL(), data, out)
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if m.Engine != "postgres" || len(m.Files) < 3 || !slices.Contains(m.Files, "psp/psp.db") {
		t.Fatalf("manifest %+v", m)
	}
	dir, surgeData := filepath.Join(t.TempDir(), "restored"), filepath.Join(t.TempDir(), "surge")
	if _, err := backup.Restore(ctx, out, dir, surgeData); err != nil {
		t.Fatal(err)
	}
	if err := backup.Verify(ctx, dir, surgeData, m); err != nil {
		t.Fatalf("the restored simulator ledger: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "psp")); !os.IsNotExist(err) {
		t.Fatalf("the simulator ledger landed in the PostgreSQL data directory: %v", err)
	}
	restored := testrig.StartPostgresOn(t, dir)
	rc, err := pgx.Connect(ctx, restored.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close(context.Background())
	var n, bad int
	if err := rc.QueryRow(ctx, `SELECT count(*) FILTER (WHERE id <= 100), count(*) FILTER (WHERE total <> id * 10) FROM orders`).Scan(&n, &bad); err != nil {
		t.Fatal(err)
	}
	if n != 100 || bad != 0 {
		t.Fatalf("restored %d of the 100 rows committed before the backup, %d damaged", n, bad)
	}
	t.Logf("backup manifest: %v", m.Files)
}
