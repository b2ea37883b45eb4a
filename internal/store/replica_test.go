package store_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/surge-commerce/surge/internal/catalog"
	"github.com/surge-commerce/surge/internal/store"
	"github.com/surge-commerce/surge/internal/testrig"
)

// Catalog reads go to a streaming replica while it keeps up; past the lag
// bound, or with the replica down, they go to the primary; a shop's admin
// always reads the primary, so it sees its own writes.
func TestCatalogReadsFollowTheReplica(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	primary := testrig.StartPostgres(t)
	dir := filepath.Join(t.TempDir(), "replica")
	if out, err := exec.CommandContext(ctx, "pg_basebackup", "--dbname="+primary.URL(), "--pgdata="+dir,
		"--wal-method=stream", "--write-recovery-conf", "--checkpoint=fast").CombinedOutput(); err != nil {
		t.Fatalf("pg_basebackup: %v\n%s", err, out)
	}
	replica := testrig.StartPostgresOn(t, dir)
	s, err := store.Open(ctx, store.Config{DatabaseURL: primary.URL(), ReplicaURL: replica.URL(), MaxReplicaLag: time.Second, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	sh, err := s.CreateShop(ctx, "rep", "Replica shop", "rep-key", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	put := func(title string) {
		t.Helper()
		if _, _, err := s.PutProduct(ctx, catalog.Product{ShopID: sh.ID, SKU: "TEE", Title: title, Price: 100, Currency: "EUR", Stock: 5}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	title := func(c context.Context) string {
		p, err := s.Product(c, sh.ID, "TEE")
		if err != nil {
			return "error: " + err.Error()
		}
		return p.Title
	}
	put("one")
	testrig.Eventually(t, "the replica to keep up and serve the catalog", func() bool {
		_, usable, _ := s.ReplicaLag()
		return usable && title(ctx) == "one"
	})

	// The reads are the replica's: its count of transactions grows with them.
	rc, err := pgx.Connect(ctx, replica.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close(context.Background())
	commits := func() int64 {
		var n int64
		_ = rc.QueryRow(ctx, `SELECT pg_stat_clear_snapshot(), xact_commit FROM pg_stat_database WHERE datname = current_database()`).Scan(nil, &n)
		return n
	}
	before := commits()
	for range 50 {
		_ = title(ctx)
	}
	testrig.Eventually(t, "the replica's statistics to count the reads", func() bool { return commits()-before >= 50 })

	// Replay stops: the replica falls behind the bound, and reads go back
	// to the primary; the admin reads its write at once.
	if _, err := rc.Exec(ctx, `SELECT pg_wal_replay_pause()`); err != nil {
		t.Fatal(err)
	}
	put("two")
	if got := title(catalog.FromPrimary(ctx)); got != "two" {
		t.Fatalf("the admin read %q after writing two", got)
	}
	testrig.Eventually(t, "a replica past its lag bound to be left", func() bool {
		_, usable, _ := s.ReplicaLag()
		return !usable && title(ctx) == "two"
	})
	if _, err := rc.Exec(ctx, `SELECT pg_wal_replay_resume()`); err != nil {
		t.Fatal(err)
	}
	testrig.Eventually(t, "the caught-up replica to serve again", func() bool {
		_, usable, _ := s.ReplicaLag()
		return usable && title(ctx) == "two"
	})

	// The replica goes down: reads go on, from the primary.
	rc.Close(context.Background())
	replica.Stop()
	testrig.Eventually(t, "a replica that does not answer to be left", func() bool {
		lag, usable, _ := s.ReplicaLag()
		return !usable && lag < 0
	})
	if got := title(ctx); got != "two" {
		t.Fatalf("with the replica down the catalog read %q", got)
	}
}

// A database URL naming the primary and its standby with
// target_session_attrs=read-write follows the standby once it is promoted:
// the store writes again without being reopened.
func TestStoreFollowsAPromotedStandby(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	primary := testrig.StartPostgres(t)
	dir := filepath.Join(t.TempDir(), "standby")
	if out, err := exec.CommandContext(ctx, "pg_basebackup", "--dbname="+primary.URL(), "--pgdata="+dir,
		"--wal-method=stream", "--write-recovery-conf", "--checkpoint=fast").CombinedOutput(); err != nil {
		t.Fatalf("pg_basebackup: %v\n%s", err, out)
	}
	standby := testrig.StartPostgresOn(t, dir)
	url := fmt.Sprintf("postgres://postgres@127.0.0.1:%d,127.0.0.1:%d/postgres?sslmode=disable&target_session_attrs=read-write&connect_timeout=2",
		primary.Port(), standby.Port())
	s, err := store.Open(ctx, store.Config{DatabaseURL: url, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateShop(ctx, "before", "Before", "before-key", time.Now()); err != nil {
		t.Fatal(err)
	}

	primary.Stop()
	standby.Promote()
	testrig.Eventually(t, "a write to land on the promoted standby", func() bool {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, err := s.CreateShop(wctx, "after", "After", "after-key", time.Now())
		return err == nil
	})
	if _, err := s.ShopBySlug(ctx, "before"); err != nil {
		t.Fatalf("the shop written before the failover: %v", err)
	}
}
