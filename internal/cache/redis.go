package cache

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// L2 is a cache shared by replicas. Every call is best-effort: a failing
// L2 only costs the loads it would have saved.
type L2 interface {
	Get(ctx context.Context, key string) ([]byte, bool)
	Set(ctx context.Context, key string, value []byte, ttl time.Duration)
	// Invalidate deletes keys and tells every replica to drop them from L1.
	Invalidate(ctx context.Context, keys ...string)
}

// Redis is an L2 on Redis with pub/sub invalidation of the replicas' L1s.
type Redis struct {
	rdb     *redis.Client
	prefix  string
	timeout time.Duration
}

// invalidationChannel carries keys every replica must drop from L1.
const invalidationChannel = "surge:cache:invalidate"

// NewRedis returns a Redis L2; keys are prefixed so several caches share
// one Redis.
func NewRedis(rdb *redis.Client, prefix string) *Redis {
	return &Redis{rdb: rdb, prefix: prefix, timeout: 50 * time.Millisecond}
}

// Get implements L2.
func (r *Redis) Get(ctx context.Context, key string) ([]byte, bool) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	b, err := r.rdb.Get(ctx, r.prefix+key).Bytes()
	return b, err == nil
}

// Set implements L2.
func (r *Redis) Set(ctx context.Context, key string, value []byte, ttl time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	r.rdb.Set(ctx, r.prefix+key, value, ttl)
}

// Invalidate implements L2.
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
