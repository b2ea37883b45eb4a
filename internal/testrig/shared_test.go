package testrig_test

import (
	"context"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/surge-commerce/surge/internal/testrig"
)

func ctxFor(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// pgValue runs a single-value query on a fresh connection.
func pgValue(t *testing.T, dsn, sql string, args ...any) string {
	t.Helper()
	ctx := ctxFor(t)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var v string
	if err := conn.QueryRow(ctx, sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

// pgExec runs one statement on a fresh connection.
func pgExec(t *testing.T, dsn, sql string) {
	t.Helper()
	ctx := ctxFor(t)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestPostgresURL(t *testing.T) {
	t.Parallel()
	var schemas []string
	t.Run("schemas", func(t *testing.T) {
		// Two slices in one test must not see each other's tables.
		for range 2 {
			u := testrig.PostgresURL(t)
			parsed, err := url.Parse(u)
			if err != nil {
				t.Fatal(err)
			}
			want := parsed.Query().Get("search_path")
			if got := pgValue(t, u, "SELECT current_schema()"); got != want {
				t.Fatalf("current_schema() = %q, want %q", got, want)
			}
			pgExec(t, u, "CREATE TABLE things (id int)")
			schemas = append(schemas, want)
		}
	})
	if len(schemas) != 2 {
		t.Skip("no schemas were handed out")
	}
	base := os.Getenv("SURGE_TEST_POSTGRES_URL")
	left := pgValue(t, base, "SELECT count(*)::text FROM pg_namespace WHERE nspname = ANY($1)", schemas)
	if left != "0" {
		t.Fatalf("%s schemas of %v left after the test", left, schemas)
	}
}

func TestRedisURL(t *testing.T) {
	t.Parallel()
	var used string
	t.Run("databases", func(t *testing.T) {
		// Two slices in one test must not see each other's keys.
		ua, ub := testrig.RedisURL(t), testrig.RedisURL(t)
		a, b := redisClient(t, ua), redisClient(t, ub)
		ctx := ctxFor(t)
		if err := a.Set(ctx, "k", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if n := b.Exists(ctx, "k").Val(); n != 0 {
			t.Fatalf("a key set through %s is visible through %s", ua, ub)
		}
		used = ua
	})
	if used == "" {
		t.Skip("no database was handed out")
	}
	n, err := redisClient(t, used).DBSize(ctxFor(t)).Result()
	if err != nil || n != 0 {
		t.Fatalf("%s after the test: %d keys, %v", used, n, err)
	}
}

// redisClient connects to rawURL and checks the server answers.
func redisClient(t *testing.T, rawURL string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	if err := c.Ping(ctxFor(t)).Err(); err != nil {
		t.Fatalf("PING %s: %v", rawURL, err)
	}
	return c
}

func TestNATSURL(t *testing.T) {
	t.Parallel()
	natsAccount(t, testrig.NATSURL(t))
}

// natsAccount connects to u and checks JetStream answers.
func natsAccount(t *testing.T, u string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(u, nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatalf("connect %s: %v", u, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.AccountInfo(ctxFor(t)); err != nil {
		t.Fatalf("JetStream account info: %v", err)
	}
	return js
}
