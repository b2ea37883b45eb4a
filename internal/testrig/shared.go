package testrig

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// The environment variables naming the shared servers of a test run.
const (
	postgresEnv = "SURGE_TEST_POSTGRES_URL"
	redisEnv    = "SURGE_TEST_REDIS_URL"
	natsEnv     = "SURGE_TEST_NATS_URL"
)

// setupTimeout bounds each call to a shared server made while preparing or
// tearing down a test's slice of it.
const setupTimeout = 10 * time.Second

// PostgresURL returns a URL to the shared PostgreSQL server whose
// search_path is a fresh schema of this test's own, dropped when the test
// ends. Tests therefore share one server without seeing each other's tables.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(postgresEnv)
	if base == "" {
		unavailable(t, "PostgreSQL", postgresEnv+" is not set; scripts/test.sh sets it")
	}
	schema := uniqueName(t)
	ident := pgx.Identifier{schema}.Sanitize()
	if err := execPostgres(base, "CREATE SCHEMA "+ident); err != nil {
		t.Fatalf("testrig: create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		if err := execPostgres(base, "DROP SCHEMA "+ident+" CASCADE"); err != nil {
			t.Errorf("testrig: drop schema %s: %v", schema, err)
		}
	})
	return withSearchPath(base, schema)
}

// execPostgres runs one statement on its own short-lived connection.
func execPostgres(dsn, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// withSearchPath adds search_path to a URL or keyword/value connection
// string; pgx sends parameters it does not know as session settings.
func withSearchPath(dsn, schema string) string {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return dsn + " search_path=" + schema
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// NATSURL returns the URL of the shared NATS server, which runs JetStream.
// Tests share it whole, so each must name its streams, consumers and
// subjects uniquely, for example after t.Name().
func NATSURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(natsEnv)
	if u == "" {
		unavailable(t, "NATS", natsEnv+" is not set; scripts/test.sh sets it")
	}
	return u
}

// uniqueName returns a lower-case identifier naming this test, unique across
// tests and test runs, that needs no quoting in SQL or URLs.
func uniqueName(t testing.TB) string {
	var b strings.Builder
	b.WriteString("test_")
	for _, r := range strings.ToLower(t.Name()) {
		if b.Len() >= 40 {
			break
		}
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	b.WriteByte('_')
	b.WriteString(randomHex(6))
	return b.String()
}

func randomHex(n int) string {
	buf := make([]byte, n)
	_, _ = rand.Read(buf) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(buf)
}
