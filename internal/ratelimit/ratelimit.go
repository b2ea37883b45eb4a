// Package ratelimit decides whether a request fits its rate limits, per key
// (a client IP, an API key, a customer, a shop). Limits are shared across
// replicas through Redis (GCRA, go-redis/redis_rate) when configured and
// kept in-process otherwise. A Redis failure falls back to the in-process
// limits at once — a Redis outage must never take the product down — and a
// circuit breaker keeps a sick Redis from adding latency to every request.
//
// It must never know what a key means.
package ratelimit

import (
	"context"
	"strconv"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/go-redis/redis_rate/v10"
	"github.com/maypok86/otter/v2"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"
)

// Limit is a rate: Rate requests per Period with bursts up to Burst.
type Limit struct {
	Name   string
	Rate   int
	Burst  int
	Period time.Duration
}

// Policy renders the limit as an IETF RateLimit-Policy item: quota q per
// window w seconds (bursts up to Burst are allowed on top of the rate).
func (l Limit) Policy() string {
	return `"` + l.Name + `";q=` + strconv.Itoa(l.Rate) + ";w=" + strconv.Itoa(int(l.Period.Seconds()))
}

// Result is the outcome of one check.
type Result struct {
	Limit      Limit
	Allowed    bool
	Remaining  int
	RetryAfter time.Duration // when allowed is false
	ResetAfter time.Duration // until the bucket is full again
}

// Limiter checks limits.
type Limiter struct {
	redis   *redis_rate.Limiter // nil without Redis
	breaker circuitbreaker.CircuitBreaker[*redis_rate.Result]
	local   *otter.Cache[string, *rate.Limiter]
	timeout time.Duration
}

// New returns a Limiter using rdb when it is not nil.
func New(rdb *redis.Client) *Limiter {
	l := &Limiter{
		local: otter.Must(&otter.Options[string, *rate.Limiter]{
			MaximumSize:      200_000,
			ExpiryCalculator: otter.ExpiryAccessing[string, *rate.Limiter](10 * time.Minute),
		}),
		breaker: circuitbreaker.NewBuilder[*redis_rate.Result]().
			WithFailureThreshold(5).WithDelay(5 * time.Second).WithSuccessThreshold(2).Build(),
		timeout: 50 * time.Millisecond,
	}
	if rdb != nil {
		l.redis = redis_rate.NewLimiter(rdb)
	}
	return l
}

// BreakerState reports the Redis breaker: closed, open or half-open.
func (l *Limiter) BreakerState() string {
	if l.redis == nil {
		return "disabled"
	}
	return l.breaker.State().String()
}

// Allow takes one request's worth from key's bucket for lim.
func (l *Limiter) Allow(ctx context.Context, key string, lim Limit) Result {
	if l.redis != nil {
		res, err := failsafe.With[*redis_rate.Result](l.breaker).WithContext(ctx).Get(func() (*redis_rate.Result, error) {
			rctx, cancel := context.WithTimeout(ctx, l.timeout)
			defer cancel()
			return l.redis.Allow(rctx, "surge:rl:"+lim.Name+":"+key, redis_rate.Limit{Rate: lim.Rate, Burst: lim.Burst, Period: lim.Period})
		})
		if err == nil {
			return Result{Limit: lim, Allowed: res.Allowed > 0, Remaining: res.Remaining, RetryAfter: res.RetryAfter, ResetAfter: res.ResetAfter}
		}
		// Redis is away: this replica's own buckets keep limiting.
	}
	return l.allowLocal(key, lim)
}

func (l *Limiter) allowLocal(key string, lim Limit) Result {
	perSec := rate.Limit(float64(lim.Rate) / lim.Period.Seconds())
	lm, _ := l.local.ComputeIfAbsent(lim.Name+":"+key, func() (*rate.Limiter, bool) {
		return rate.NewLimiter(perSec, lim.Burst), false
	})
	now := time.Now()
	r := lm.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return Result{Limit: lim, RetryAfter: d, ResetAfter: time.Duration(float64(lim.Burst) / float64(perSec) * float64(time.Second))}
	}
	tokens := lm.TokensAt(now)
	missing := float64(lim.Burst) - tokens
	return Result{Limit: lim, Allowed: true, Remaining: max(int(tokens), 0),
		ResetAfter: time.Duration(missing / float64(perSec) * float64(time.Second))}
}
