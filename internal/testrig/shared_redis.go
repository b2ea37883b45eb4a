package testrig

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisLeaseTTL outlives the longest test run, so a lease is only ever
// reclaimed from a test binary that died without cleaning up.
const redisLeaseTTL = 30 * time.Minute

// releaseLease deletes a lease only if it still holds this test's token.
var releaseLease = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("DEL", KEYS[1])
end
return 0`)

// RedisURL returns a URL to the shared Redis server selecting a database of
// this test's own, empty at the start and flushed at the end.
//
// Databases are leased through keys in the database the shared URL names, so
// test binaries running in parallel never pick the same one. The server needs
// more databases than tests run at once; scripts/test.sh starts it with 1024.
func RedisURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(redisEnv)
	if base == "" {
		unavailable(t, "Redis", redisEnv+" is not set; scripts/test.sh sets it")
	}
	opts, err := redis.ParseURL(base)
	if err != nil {
		t.Fatalf("testrig: %s: %v", redisEnv, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	leases := redis.NewClient(opts)
	defer leases.Close()

	token := uniqueName(t)
	db, err := leaseRedisDB(ctx, leases, opts.DB, token)
	if err != nil {
		t.Fatalf("testrig: lease a Redis database: %v", err)
	}
	t.Cleanup(func() { returnRedisDB(t, opts, db, token) })
	if err := flushRedisDB(ctx, opts, db); err != nil {
		t.Fatalf("testrig: flush Redis database %d: %v", db, err)
	}
	return withRedisDB(base, db)
}

// leaseRedisDB claims the first database other than skip that no one holds.
func leaseRedisDB(ctx context.Context, c *redis.Client, skip int, token string) (int, error) {
	n, err := redisDatabases(ctx, c)
	if err != nil {
		return 0, err
	}
	for db := 0; db < n; db++ {
		if db == skip {
			continue
		}
		ok, err := c.SetNX(ctx, redisLeaseKey(db), token, redisLeaseTTL).Result()
		if err != nil {
			return 0, err
		}
		if ok {
			return db, nil
		}
	}
	return 0, fmt.Errorf("all %d databases are leased; start redis-server with a larger --databases", n)
}

// redisDatabases asks how many databases the server has, assuming Redis's
// default where CONFIG is disabled.
func redisDatabases(ctx context.Context, c *redis.Client) (int, error) {
	cfg, err := c.ConfigGet(ctx, "databases").Result()
	if err != nil {
		return 16, nil
	}
	n, err := strconv.Atoi(cfg["databases"])
	if err != nil {
		return 0, fmt.Errorf("CONFIG GET databases: %q", cfg["databases"])
	}
	return n, nil
}

func redisLeaseKey(db int) string {
	return "surge:testrig:lease:" + strconv.Itoa(db)
}

func returnRedisDB(t testing.TB, opts *redis.Options, db int, token string) {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	if err := flushRedisDB(ctx, opts, db); err != nil {
		t.Errorf("testrig: flush Redis database %d: %v", db, err)
		return // keep the lease: the next test must not inherit the keys
	}
	leases := redis.NewClient(opts)
	defer leases.Close()
	if err := releaseLease.Run(ctx, leases, []string{redisLeaseKey(db)}, token).Err(); err != nil {
		t.Errorf("testrig: release Redis database %d: %v", db, err)
	}
}

func flushRedisDB(ctx context.Context, opts *redis.Options, db int) error {
	o := *opts
	o.DB = db
	c := redis.NewClient(&o)
	defer c.Close()
	return c.FlushDB(ctx).Err()
}

// withRedisDB points a Redis URL at database db.
func withRedisDB(base string, db int) string {
	u, err := url.Parse(base)
	if err != nil {
		return base // ParseURL accepted it, so this cannot happen
	}
	if u.Scheme == "unix" {
		q := u.Query()
		q.Set("db", strconv.Itoa(db))
		u.RawQuery = q.Encode()
		return u.String()
	}
	u.Path = "/" + strconv.Itoa(db)
	return u.String()
}
