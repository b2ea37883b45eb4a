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
	"math"
	"net/netip"
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
// window w seconds. The quota is the bucket (Burst), and the window the
// time the rate takes to refill it, so the remaining units a RateLimit
// header reports can never exceed q and q/w is still the rate.
func (l Limit) Policy() string {
	return `"` + l.Name + `";q=` + strconv.Itoa(l.quota()) + ";w=" + strconv.Itoa(l.window())
}

func (l Limit) quota() int { return max(l.Burst, l.Rate) }

// window is the seconds it takes Rate per Period to refill the quota,
// rounded up, at least one.
func (l Limit) window() int {
	if l.Rate <= 0 {
		return max(1, int(l.Period.Seconds()))
	}
	return max(1, int(math.Ceil(float64(l.quota())/float64(l.Rate)*l.Period.Seconds())))
}

// Header renders r as an IETF RateLimit item: remaining units r (never
// more than the policy's quota) and t, the seconds until the next request
// is worth trying. On a refusal t is the Retry-After value, so the two
// headers agree.
func (r Result) Header() string {
	remaining, reset := min(max(r.Remaining, 0), r.Limit.quota()), r.ResetAfter
	if !r.Allowed {
		remaining, reset = 0, r.RetryAfter
	}
	return `"` + r.Limit.Name + `";r=` + strconv.Itoa(remaining) + ";t=" + CeilSeconds(reset)
}

// CeilSeconds renders d as whole seconds for Retry-After and RateLimit:
// rounded up, at least one.
func CeilSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
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

// DefaultIPv6Prefix is how many leading bits of an IPv6 address name one
// client: a subscriber is usually given a whole /64, so keying on the full
// address would hand one client 2^64 budgets.
const DefaultIPv6Prefix = 64

// ClientKey names the client behind ip for per-client limits: an IPv4
// address (or an IPv4-mapped IPv6 one) as itself, an IPv6 address by its
// first v6Prefix bits (DefaultIPv6Prefix when v6Prefix is 0).
func ClientKey(ip netip.Addr, v6Prefix int) string {
	ip = ip.Unmap()
	if !ip.Is6() {
		return ip.String()
	}
	if v6Prefix <= 0 || v6Prefix > 128 {
		v6Prefix = DefaultIPv6Prefix
	}
	return netip.PrefixFrom(ip, v6Prefix).Masked().String()
}
