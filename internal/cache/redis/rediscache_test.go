package rediscache

import (
	"context"
	"crypto/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/surge-commerce/surge/internal/cache"
	"github.com/surge-commerce/surge/internal/testrig"
)

// client returns a client of the test's own Redis database.
func client(t *testing.T, url string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

// newL2 returns a Redis L2 with a generous timeout: the production 50ms
// is a latency budget, and on a loaded test machine a call that misses it
// is (by design) silently dropped, which would make assertions flaky.
func newL2(rdb *redis.Client, prefix string) *Redis {
	r := New(rdb, prefix)
	r.timeout = 10 * time.Second
	return r
}

// uniquePrefix keeps this test's pub/sub traffic apart from other tests':
// Redis channels are shared by every database of the server.
func uniquePrefix() string { return "test-" + rand.Text() + ":" }

func TestGetSetExpiry(t *testing.T) {
	url := testrig.RedisURL(t)
	rdb := client(t, url)
	prefix := uniquePrefix()
	r := newL2(rdb, prefix)
	ctx := context.Background()
	if _, ok := r.Get(ctx, "k"); ok {
		t.Fatal("Get of a missing key reported a value")
	}
	r.Set(ctx, "k", []byte("v1"), time.Hour)
	if b, ok := r.Get(ctx, "k"); !ok || string(b) != "v1" {
		t.Fatalf("Get after Set: %q, %v", b, ok)
	}
	if raw, err := rdb.Get(ctx, prefix+"k").Result(); err != nil || raw != "v1" {
		t.Fatalf("stored under %q: %q, %v; want the prefixed key", prefix+"k", raw, err)
	}
	if ttl, err := rdb.PTTL(ctx, prefix+"k").Result(); err != nil || ttl <= 0 || ttl > time.Hour {
		t.Fatalf("TTL of the stored key: %v, %v; want (0, 1h]", ttl, err)
	}
	r.Set(ctx, "short", []byte("x"), 50*time.Millisecond)
	testrig.Eventually(t, "the short-lived key to expire", func() bool {
		_, ok := r.Get(ctx, "short")
		return !ok
	})
	r.Invalidate(ctx, "k")
	if _, ok := r.Get(ctx, "k"); ok {
		t.Fatal("Get after Invalidate reported a value")
	}
}

// A dead Redis costs only the loads it would have saved: no call blocks
// past its timeout or fails the caller.
func TestUnreachableRedisIsBestEffort(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	r := New(rdb, uniquePrefix())
	ctx := context.Background()
	r.Set(ctx, "k", []byte("v"), time.Minute)
	r.Invalidate(ctx, "k")
	if _, ok := r.Get(ctx, "k"); ok {
		t.Fatal("Get from an unreachable Redis reported a value")
	}
}

func TestInvalidationReachesAnotherReplica(t *testing.T) {
	url := testrig.RedisURL(t)
	prefix := uniquePrefix()
	a := newL2(client(t, url), prefix)
	b := newL2(client(t, url), prefix)
	foreign := newL2(client(t, url), uniquePrefix())

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	dropped := make(chan string, 1000)
	wg.Go(func() { b.Subscribe(ctx, func(key string) { dropped <- key }) })

	// The subscription starts asynchronously, so publish until it is
	// heard. Each round first publishes a key of another prefix, which
	// Redis delivers before ours and B must ignore.
	var heard string
	testrig.Eventually(t, "B to hear A's invalidation", func() bool {
		foreign.Invalidate(context.Background(), "k")
		a.Invalidate(context.Background(), "k")
		select {
		case heard = <-dropped:
			return true
		default:
			return false
		}
	})
	if heard != "k" {
		t.Fatalf("B dropped %q, want k (without the prefix, and never another prefix's key)", heard)
	}
}

// Two replicas' caches sharing Redis: the second is served from L2 without
// loading, and an invalidation on the first reaches the second's L1.
func TestCachesShareL2AndInvalidation(t *testing.T) {
	url := testrig.RedisURL(t)
	prefix := uniquePrefix()
	l2a, l2b := newL2(client(t, url), prefix), newL2(client(t, url), prefix)
	opts := cache.Options{MaxEntries: 100, TTL: time.Hour, MaxStale: time.Hour, LoadTimeout: 30 * time.Second}
	opts.L2 = l2a
	replicaA := cache.New[string](opts)
	opts.L2 = l2b
	replicaB := cache.New[string](opts)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	dropped := make(chan string, 1000)
	wg.Go(func() {
		l2b.Subscribe(ctx, func(key string) {
			replicaB.Forget(key)
			dropped <- key
		})
	})
	testrig.Eventually(t, "B's subscription", func() bool {
		l2a.Invalidate(context.Background(), "ping")
		select {
		case <-dropped:
			return true
		default:
			return false
		}
	})

	var value atomic.Value
	value.Store("v1")
	var loadsA, loadsB atomic.Int64
	loadA := func(context.Context) (string, error) { loadsA.Add(1); return value.Load().(string), nil }
	loadB := func(context.Context) (string, error) { loadsB.Add(1); return value.Load().(string), nil }

	bg := context.Background()
	if v, _, err := replicaA.Get(bg, "p", loadA); v != "v1" || err != nil {
		t.Fatalf("A: %q, %v", v, err)
	}
	if v, _, err := replicaB.Get(bg, "p", loadB); v != "v1" || err != nil || loadsB.Load() != 0 {
		t.Fatalf("B: %q, %v after %d loads; want v1 from L2 without loading", v, err, loadsB.Load())
	}
	value.Store("v2")
	replicaA.Invalidate("p")
	testrig.Eventually(t, "B to drop p", func() bool {
		for {
			select {
			case k := <-dropped:
				if k == "p" {
					return true
				}
			default:
				return false
			}
		}
	})
	if v, _, err := replicaB.Get(bg, "p", loadB); v != "v2" || err != nil || loadsB.Load() != 1 {
		t.Fatalf("B after A's invalidation: %q, %v, %d loads; want v2 loaded once", v, err, loadsB.Load())
	}
	if v, _, _ := replicaA.Get(bg, "p", loadA); v != "v2" || loadsA.Load() != 1 {
		t.Fatalf("A after its invalidation: %q, %d loads; want v2 from L2 (B stored it)", v, loadsA.Load())
	}
}
