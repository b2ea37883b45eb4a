package cache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/testrig"
)

// clock is an injectable time source the test moves by hand, so expiry is
// decided by the test and never by the machine's speed.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// waitingCtx counts callers that reached Get's wait for the shared load:
// Get asks for Done only after it joined (or started) the key's load.
type waitingCtx struct {
	context.Context
	waiting *atomic.Int64
}

func (c waitingCtx) Done() <-chan struct{} {
	c.waiting.Add(1)
	return c.Context.Done()
}

// getAsync runs Get in a goroutine, so a Get that should answer at once
// but blocks fails the test instead of hanging it.
func getAsync[V any](t *testing.T, c *Cache[V], key string, load func(context.Context) (V, error)) (V, Result, error) {
	t.Helper()
	type out struct {
		v   V
		r   Result
		err error
	}
	ch := make(chan out, 1)
	go func() {
		v, r, err := c.Get(context.Background(), key, load)
		ch <- out{v, r, err}
	}()
	select {
	case o := <-ch:
		return o.v, o.r, o.err
	case <-time.After(60 * time.Second):
		t.Fatalf("Get(%q) blocked", key)
	}
	panic("unreachable")
}

func newCache(clk *clock) *Cache[string] {
	return New[string](Options{MaxEntries: 1000, TTL: 10 * time.Second, MaxStale: time.Minute, Now: clk.Now})
}

func TestSingleflight(t *testing.T) {
	c := newCache(newClock())
	var calls, waiting atomic.Int64
	release := make(chan struct{})
	load := func(context.Context) (string, error) {
		calls.Add(1)
		<-release
		return "v", nil
	}
	const n = 20
	ctx := waitingCtx{Context: context.Background(), waiting: &waiting}
	var wg sync.WaitGroup
	got := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { got[i], _, errs[i] = c.Get(ctx, "k", load) })
	}
	testrig.Eventually(t, "every caller waiting on the load", func() bool { return waiting.Load() == n })
	close(release)
	wg.Wait()
	for i := range n {
		if got[i] != "v" || errs[i] != nil {
			t.Fatalf("caller %d got %q, %v", i, got[i], errs[i])
		}
	}
	if calls.Load() != 1 {
		t.Fatalf("%d concurrent Gets of a missing key called the loader %d times, want 1", n, calls.Load())
	}
	if v, _, err := c.Get(context.Background(), "k", load); v != "v" || err != nil || calls.Load() != 1 {
		t.Fatalf("Get after the load: %q, %v, loader calls %d", v, err, calls.Load())
	}
	if hits, misses, stale := c.Stats(); hits != 1 || misses != n || stale != 0 {
		t.Fatalf("stats: hits %d misses %d stale %d", hits, misses, stale)
	}
}

func TestJitterBounds(t *testing.T) {
	const ttl = 10 * time.Second
	c := New[string](Options{MaxEntries: 10, TTL: ttl})
	lo, hi := ttl, ttl
	for range 10_000 {
		d := c.jitter()
		if d < ttl-ttl/10 || d >= ttl+ttl/10 {
			t.Fatalf("jitter %v outside TTL±10%% [%v, %v)", d, ttl-ttl/10, ttl+ttl/10)
		}
		lo, hi = min(lo, d), max(hi, d)
	}
	// The spread must actually be used, or keys loaded together expire together.
	if lo > ttl-ttl/20 || hi < ttl+ttl/20 {
		t.Fatalf("10000 jitters all within [%v, %v]; want spread over TTL±10%%", lo, hi)
	}
	for _, tiny := range []time.Duration{0, 1, 4} {
		if d := New[string](Options{MaxEntries: 10, TTL: tiny}).jitter(); d != tiny {
			t.Fatalf("jitter of TTL %v = %v", tiny, d)
		}
	}
}

// Entries are fresh until at least 90% of the TTL and never past 110%.
func TestFreshWithinJitteredTTL(t *testing.T) {
	clk := newClock()
	c := newCache(clk)
	var calls atomic.Int64
	load := func(context.Context) (string, error) { calls.Add(1); return "v", nil }
	keys := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	for _, k := range keys {
		c.Get(context.Background(), k, load)
	}
	clk.Advance(9*time.Second - time.Nanosecond)
	for _, k := range keys {
		c.Get(context.Background(), k, load)
	}
	if calls.Load() != int64(len(keys)) {
		t.Fatalf("loader called %d times for %d keys still within 90%% of the TTL", calls.Load(), len(keys))
	}
	// Past 110% of the TTL every entry is stale: answered at once and
	// refreshed in the background, once per key.
	clk.Advance(2*time.Second + time.Nanosecond)
	for _, k := range keys {
		if v, _, err := c.Get(context.Background(), k, load); v != "v" || err != nil {
			t.Fatalf("Get(%q) past the TTL: %q, %v", k, v, err)
		}
	}
	testrig.Eventually(t, "one refresh per key", func() bool { return calls.Load() == int64(2*len(keys)) })
}

func TestStaleWhileRevalidate(t *testing.T) {
	clk := newClock()
	c := newCache(clk)
	var calls atomic.Int64
	release := make(chan struct{})
	load := func(context.Context) (string, error) {
		if calls.Add(1) == 1 {
			return "v1", nil
		}
		<-release
		return "v2", nil
	}
	if v, _, err := c.Get(context.Background(), "k", load); v != "v1" || err != nil {
		t.Fatalf("first Get: %q, %v", v, err)
	}
	// Past any jittered TTL (at most 11s) but within one TTL past it (at
	// least 9s+10s): the old value is served at once while one refresh runs.
	clk.Advance(15 * time.Second)
	for range 3 {
		v, res, err := getAsync(t, c, "k", load)
		if v != "v1" || err != nil || res.Stale || res.Age != 15*time.Second {
			t.Fatalf("Get during revalidation: %q %+v %v; want v1 at once, age 15s, not marked stale", v, res, err)
		}
	}
	if n := calls.Load(); n > 2 {
		t.Fatalf("loader called %d times; want the one refresh shared", n)
	}
	testrig.Eventually(t, "the refresh to start", func() bool { return calls.Load() == 2 })
	close(release)
	testrig.Eventually(t, "the refreshed value", func() bool {
		v, _, _ := c.Get(context.Background(), "k", load)
		return v == "v2"
	})
	if n := calls.Load(); n != 2 {
		t.Fatalf("loader called %d times, want 2 (load and one refresh)", n)
	}
	if v, res, _ := c.Get(context.Background(), "k", load); v != "v2" || res.Age != 0 {
		t.Fatalf("after the refresh: %q %+v", v, res)
	}
}

func TestStaleIfError(t *testing.T) {
	clk := newClock()
	c := newCache(clk)
	var fail atomic.Pointer[error] // what the loader returns; nil for success
	setFail := func(err error) { fail.Store(&err) }
	load := func(context.Context) (string, error) {
		if p := fail.Load(); p != nil && *p != nil {
			return "", *p
		}
		return "v1", nil
	}
	if v, _, err := c.Get(context.Background(), "k", load); v != "v1" || err != nil {
		t.Fatalf("first Get: %q, %v", v, err)
	}
	down := errcode.New(errcode.Unavailable, "database down")
	setFail(down)
	// Past the revalidation window (at most 11s+10s), within MaxStale.
	clk.Advance(30 * time.Second)
	v, res, err := c.Get(context.Background(), "k", load)
	if v != "v1" || err != nil || !res.Stale || res.Age != 30*time.Second {
		t.Fatalf("Get with the loader unavailable: %q %+v %v; want v1 marked stale, age 30s", v, res, err)
	}
	if _, _, stale := c.Stats(); stale != 1 {
		t.Fatalf("stale answers counted: %d, want 1", stale)
	}
	// Only unavailability is covered up: any other failure is reported.
	setFail(errcode.New(errcode.Internal, "bug"))
	if _, _, err := c.Get(context.Background(), "k", load); !errcode.Is(err, errcode.Internal) {
		t.Fatalf("Get with the loader failing otherwise: %v", err)
	}
	setFail(errors.New("untyped"))
	if _, _, err := c.Get(context.Background(), "k", load); err == nil {
		t.Fatal("untyped loader error hidden by a stale value")
	}
	// Past TTL + MaxStale (at most 11s+60s) the error comes through.
	setFail(down)
	clk.Advance(42 * time.Second)
	if v, _, err := c.Get(context.Background(), "k", load); !errcode.Is(err, errcode.Unavailable) || v != "" {
		t.Fatalf("Get past the maximum staleness: %q, %v; want the error", v, err)
	}
	// With nothing cached there is nothing stale to serve.
	if _, _, err := c.Get(context.Background(), "other", load); !errcode.Is(err, errcode.Unavailable) {
		t.Fatalf("Get of an uncached key with the loader down: %v", err)
	}
}

func TestNotFoundCachedAndInvalidation(t *testing.T) {
	clk := newClock()
	c := newCache(clk)
	var calls atomic.Int64
	var value atomic.Value
	load := func(context.Context) (string, error) {
		calls.Add(1)
		v, _ := value.Load().(string)
		if v == "" {
			return "", errcode.New(errcode.NotFound, "no such thing")
		}
		return v, nil
	}
	for range 3 {
		if _, _, err := c.Get(context.Background(), "k", load); !errcode.Is(err, errcode.NotFound) {
			t.Fatalf("Get of a missing key: %v", err)
		}
	}
	if calls.Load() != 1 {
		t.Fatalf("not-found looked up %d times, want 1 (cached)", calls.Load())
	}
	value.Store("v1")
	c.Invalidate("k")
	if v, _, err := c.Get(context.Background(), "k", load); v != "v1" || err != nil || calls.Load() != 2 {
		t.Fatalf("Get after Invalidate: %q, %v, loader calls %d", v, err, calls.Load())
	}
	value.Store("v2")
	c.Forget("k")
	if v, _, err := c.Get(context.Background(), "k", load); v != "v2" || err != nil || calls.Load() != 3 {
		t.Fatalf("Get after Forget: %q, %v, loader calls %d", v, err, calls.Load())
	}
	// A cached not-found expires like any entry (no stale not-founds).
	value.Store("")
	c.Invalidate("k")
	c.Get(context.Background(), "k", load)
	value.Store("v3")
	clk.Advance(12 * time.Second)
	if v, _, err := c.Get(context.Background(), "k", load); v != "v3" || err != nil {
		t.Fatalf("Get after the not-found expired: %q, %v", v, err)
	}
}

// A caller that gives up does not cancel the shared load: its result still
// fills the cache for the next caller.
func TestCallerDeadlineDoesNotCancelTheLoad(t *testing.T) {
	c := newCache(newClock())
	var calls atomic.Int64
	release := make(chan struct{})
	load := func(ctx context.Context) (string, error) {
		calls.Add(1)
		select {
		case <-release:
			return "v", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := c.Get(ctx, "k", load); !errcode.Is(err, errcode.Unavailable) {
		t.Fatalf("Get with a cancelled context: %v, want unavailable", err)
	}
	close(release)
	testrig.Eventually(t, "the load to fill the cache", func() bool {
		v, _, err := c.Get(context.Background(), "k", load)
		return v == "v" && err == nil
	})
	if calls.Load() != 1 {
		t.Fatalf("loader called %d times, want 1", calls.Load())
	}
}

// A load that read the old value before an invalidation must not put it
// back in the cache after it: the next Get must see the change.
func TestInvalidateDuringLoad(t *testing.T) {
	c := newCache(newClock())
	var value atomic.Value
	value.Store("old")
	read, release := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	load := func(context.Context) (string, error) {
		v := value.Load().(string)
		if first.CompareAndSwap(false, true) {
			close(read)
			<-release
		}
		return v, nil
	}
	done := make(chan struct{})
	go func() { c.Get(context.Background(), "k", load); close(done) }()
	<-read
	value.Store("new")
	c.Invalidate("k")
	close(release)
	<-done
	if v, _, _ := c.Get(context.Background(), "k", load); v != "new" {
		t.Fatalf("Get after Invalidate returned %q, want new", v)
	}
}
