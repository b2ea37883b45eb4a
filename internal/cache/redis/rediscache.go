// Package rediscache is the catalog cache's shared L2 on Redis, with
// pub/sub invalidation of every replica's in-process L1.
//
// It lives in internal/cache/redis but keeps the name rediscache: its
// files import go-redis as redis, and a package of that name would hide it.
//
// It must never make a request fail: every call is best-effort with a
// short timeout.
package rediscache

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a cache.L2 on Redis with pub/sub invalidation of the replicas' L1s.
type Redis struct {
	rdb     *redis.Client
	prefix  string
	timeout time.Duration
}

// invalidationChannel carries keys every replica must drop from L1.
const invalidationChannel = "surge:cache:invalidate"

// New returns a Redis L2; keys are prefixed so several caches share
// one Redis.
func New(rdb *redis.Client, prefix string) *Redis {
	return &Redis{rdb: rdb, prefix: prefix, timeout: 50 * time.Millisecond}
}

// Get implements cache.L2.
func (r *Redis) Get(ctx context.Context, key string) ([]byte, bool) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	b, err := r.rdb.Get(ctx, r.prefix+key).Bytes()
	return b, err == nil
}

// Set implements cache.L2.
func (r *Redis) Set(ctx context.Context, key string, value []byte, ttl time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	r.rdb.Set(ctx, r.prefix+key, value, ttl)
}

// Invalidate implements cache.L2.
func (r *Redis) Invalidate(ctx context.Context, keys ...string) {
	ctx, cancel := context.WithTimeout(ctx, 4*r.timeout)
	defer cancel()
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = r.prefix + k
	}
	r.rdb.Del(ctx, full...)
	for _, k := range full {
		r.rdb.Publish(ctx, invalidationChannel, k)
	}
}

// Subscribe calls drop for every key another replica invalidated, until
// ctx ends. go-redis re-subscribes by itself after connection loss.
func (r *Redis) Subscribe(ctx context.Context, drop func(key string)) {
	sub := r.rdb.Subscribe(ctx, invalidationChannel)
	defer sub.Close()
	ch := sub.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			if len(m.Payload) > len(r.prefix) && m.Payload[:len(r.prefix)] == r.prefix {
				drop(m.Payload[len(r.prefix):])
			}
		}
	}
}
