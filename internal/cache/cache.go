// Package cache is Surge's read-through cache: an in-process L1 (otter) with
// one loader per key (singleflight), jittered TTLs, negative caching of
// not-found results and stale-if-error.
//
// It caches values, never decides what they mean: callers pass the loader.
// It must never hold an entry past its maximum staleness.
package cache

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
	"golang.org/x/sync/singleflight"

	"github.com/surge-commerce/surge/internal/errcode"
)

// L2 is a cache shared by replicas. Every call is best-effort: a failing
// L2 only costs the loads it would have saved.
type L2 interface {
	Get(ctx context.Context, key string) ([]byte, bool)
	Set(ctx context.Context, key string, value []byte, ttl time.Duration)
	// Invalidate deletes keys and tells every replica to drop them from L1.
	Invalidate(ctx context.Context, keys ...string)
}

// Options configure a Cache.
type Options struct {
	MaxEntries int
	// TTL is how long an entry is served without asking the loader.
	TTL time.Duration
	// MaxStale is how long past its TTL an entry may still be served when
	// the loader fails with errcode.Unavailable (stale-if-error). Within
	// one TTL past expiry an entry is served at once while it is refreshed
	// in the background (stale-while-revalidate).
	MaxStale time.Duration
	// LoadTimeout bounds one load; loads are shared by concurrent callers,
	// so they must not depend on any single caller's deadline.
	LoadTimeout time.Duration
	Now         func() time.Time
	// L2 is an optional cache shared by replicas (Redis).
	L2 L2
}

type entry[V any] struct {
	value      V
	err        error // a cached not_found
	loadedAt   time.Time
	freshUntil time.Time
}

// Cache is a typed read-through cache keyed by string.
type Cache[V any] struct {
	opts  Options
	l1    *otter.Cache[string, entry[V]]
	group singleflight.Group

	hits, misses, stale atomic.Uint64
	// epoch counts invalidations: a load that overlapped one may have read
	// the old value, so it answers its callers but must not be cached.
	epoch atomic.Uint64
}

// New returns a Cache.
func New[V any](opts Options) *Cache[V] {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.LoadTimeout == 0 {
		opts.LoadTimeout = 5 * time.Second
	}
	return &Cache[V]{
		opts: opts,
		l1: otter.Must(&otter.Options[string, entry[V]]{
			MaximumSize:      opts.MaxEntries,
			ExpiryCalculator: otter.ExpiryWriting[string, entry[V]](opts.TTL + opts.MaxStale),
		}),
	}
}

// Result tells how a value was obtained.
type Result struct {
	// Stale is true when the value is past its TTL and was served because
	// the loader failed.
	Stale bool
	// Age is how long ago the value was loaded.
	Age time.Duration
}

// Get returns the value for key, calling load at most once at a time per
// key when the cached value is missing or expired.
func (c *Cache[V]) Get(ctx context.Context, key string, load func(context.Context) (V, error)) (V, Result, error) {
	now := c.opts.Now()
	old, found := c.l1.GetIfPresent(key)
	if found && now.Before(old.freshUntil) {
		c.hits.Add(1)
		return old.value, Result{Age: now.Sub(old.loadedAt)}, old.err
	}
	if found && old.err == nil && now.Before(old.freshUntil.Add(c.opts.TTL)) {
		// Stale-while-revalidate: answer at once from the slightly old
		// entry and refresh it in the background (one loader per key).
		c.hits.Add(1)
		c.refresh(ctx, key, load)
		return old.value, Result{Age: now.Sub(old.loadedAt)}, nil
	}
	c.misses.Add(1)
	ch := c.refresh(ctx, key, load)
	var res singleflight.Result
	select {
	case res = <-ch:
	case <-ctx.Done():
		var zero V
		return zero, Result{}, errcode.Wrap(errcode.Unavailable, ctx.Err(), "cache load did not finish in time")
	}
	if res.Err == nil {
		return res.Val.(V), Result{}, nil
	}
	if found && old.err == nil && errcode.Is(res.Err, errcode.Unavailable) && now.Before(old.freshUntil.Add(c.opts.MaxStale)) {
		c.stale.Add(1)
		return old.value, Result{Stale: true, Age: now.Sub(old.loadedAt)}, nil
	}
	var zero V
	return zero, Result{}, res.Err
}

// refresh starts (or joins) the one load of key, which fills L1 and L2
// unless an invalidation happened meanwhile.
func (c *Cache[V]) refresh(ctx context.Context, key string, load func(context.Context) (V, error)) <-chan singleflight.Result {
	return c.group.DoChan(key, func() (any, error) {
		if e, ok := c.l1.GetIfPresent(key); ok && c.opts.Now().Before(e.freshUntil) {
			// A load that finished just before this one began already
			// refreshed the entry.
			return e.value, e.err
		}
		epoch := c.epoch.Load()
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.LoadTimeout)
		defer cancel()
		if v, ok := c.fromL2(lctx, key); ok {
			c.store(key, epoch, entry[V]{value: v, loadedAt: c.opts.Now(), freshUntil: c.opts.Now().Add(c.jitter())})
			return v, nil
		}
		v, err := load(lctx)
		if err == nil && c.epoch.Load() == epoch {
			c.toL2(lctx, key, v)
			if c.epoch.Load() != epoch && c.opts.L2 != nil {
				// Invalidated while writing L2: take the old value back out.
				c.opts.L2.Invalidate(lctx, key)
			}
		}
		at := c.opts.Now()
		switch {
		case err == nil:
			c.store(key, epoch, entry[V]{value: v, loadedAt: at, freshUntil: at.Add(c.jitter())})
		case errcode.Is(err, errcode.NotFound):
			c.store(key, epoch, entry[V]{err: err, loadedAt: at, freshUntil: at.Add(c.jitter())})
		}
		return v, err
	})
}

// store puts e in L1 unless an invalidation happened since epoch was read.
func (c *Cache[V]) store(key string, epoch uint64, e entry[V]) {
	c.l1.Set(key, e)
	if c.epoch.Load() != epoch {
		c.l1.Invalidate(key)
	}
}

// Invalidate drops key here, in L2 and (through L2) in every replica's L1,
// so the next Get loads it afresh.
func (c *Cache[V]) Invalidate(key string) {
	c.epoch.Add(1)
	c.group.Forget(key)
	c.l1.Invalidate(key)
	if c.opts.L2 != nil {
		c.opts.L2.Invalidate(context.Background(), key)
	}
}

// Forget drops key from this replica's L1 only (another replica changed it).
func (c *Cache[V]) Forget(key string) {
	c.epoch.Add(1)
	c.group.Forget(key)
	c.l1.Invalidate(key)
}

func (c *Cache[V]) fromL2(ctx context.Context, key string) (V, bool) {
	var v V
	if c.opts.L2 == nil {
		return v, false
	}
	b, ok := c.opts.L2.Get(ctx, key)
	if !ok || json.Unmarshal(b, &v) != nil {
		return v, false
	}
	return v, true
}

func (c *Cache[V]) toL2(ctx context.Context, key string, v V) {
	if c.opts.L2 == nil {
		return
	}
	if b, err := json.Marshal(v); err == nil {
		c.opts.L2.Set(ctx, key, b, c.jitter())
	}
}

// Stats returns counts of hits, misses and stale answers since start.
func (c *Cache[V]) Stats() (hits, misses, stale uint64) {
	return c.hits.Load(), c.misses.Load(), c.stale.Load()
}

// jitter spreads expiries over TTL±10% so keys loaded together do not all
// expire in the same instant.
func (c *Cache[V]) jitter() time.Duration {
	spread := int64(c.opts.TTL) / 5
	if spread <= 0 {
		return c.opts.TTL
	}
	return c.opts.TTL - time.Duration(spread/2) + time.Duration(rand.Int64N(spread))
}
