package ratelimit_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/surge-commerce/surge/internal/gateway/ratelimit"
	"github.com/surge-commerce/surge/internal/testrig"
)

var lim = ratelimit.Limit{Name: "test", Rate: 5, Burst: 5, Period: time.Minute}

// allowed counts how many of n immediate requests pass.
func allowed(l *ratelimit.Limiter, key string, n int) int {
	ok := 0
	for range n {
		if l.Allow(context.Background(), key, lim).Allowed {
			ok++
		}
	}
	return ok
}

func TestLocalLimits(t *testing.T) {
	t.Parallel()
	l := ratelimit.New(nil)
	if got := allowed(l, "a", 20); got != lim.Burst {
		t.Fatalf("allowed %d of 20, want the burst %d", got, lim.Burst)
	}
	res := l.Allow(context.Background(), "a", lim)
	if res.Allowed || res.RetryAfter <= 0 {
		t.Fatalf("exhausted bucket: %+v, want refused with a Retry-After", res)
	}
	if got := allowed(l, "b", 1); got != 1 {
		t.Fatal("another key shares the first key's bucket")
	}
	if l.BreakerState() != "disabled" {
		t.Fatalf("breaker without Redis = %q", l.BreakerState())
	}
}

// TestRedisSharedAndFallback shows two replicas sharing one budget through
// Redis, and limits going local (never failing open or erroring) when
// Redis dies.
func TestRedisSharedAndFallback(t *testing.T) {
	t.Parallel()
	srv := testrig.StartRedis(t)
	opts, err := redis.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	opts.DialTimeout, opts.ReadTimeout, opts.MaxRetries = 200*time.Millisecond, 200*time.Millisecond, -1
	newReplica := func() *ratelimit.Limiter {
		c := redis.NewClient(opts)
		t.Cleanup(func() { c.Close() })
		return ratelimit.New(c)
	}
	a, b := newReplica(), newReplica()
	if got := allowed(a, "k", 3) + allowed(b, "k", 10); got != lim.Burst {
		t.Fatalf("two replicas allowed %d, want one shared burst of %d", got, lim.Burst)
	}

	srv.Kill()
	// With Redis gone each replica limits on its own: the budget is per
	// replica again, and requests are still answered.
	if got := allowed(a, "fresh", 20); got != lim.Burst {
		t.Fatalf("after Redis died: allowed %d, want the local burst %d", got, lim.Burst)
	}
	deadline := time.Now().Add(30 * time.Second)
	for a.BreakerState() != "open" && time.Now().Before(deadline) {
		a.Allow(context.Background(), "probe", lim)
	}
	if a.BreakerState() != "open" {
		t.Fatalf("breaker = %q after Redis died, want open", a.BreakerState())
	}
}

// The RateLimit header never reports more remaining than the policy's
// quota, and on a refusal its reset agrees with Retry-After.
func TestHeaderAgreesWithPolicy(t *testing.T) {
	lim := ratelimit.Limit{Name: "ip", Rate: 10, Burst: 20, Period: time.Second}
	if got, want := lim.Policy(), `"ip";q=20;w=2`; got != want {
		t.Fatalf("policy %s, want %s", got, want)
	}
	full := ratelimit.Result{Limit: lim, Allowed: true, Remaining: 20, ResetAfter: 0}
	if got, want := full.Header(), `"ip";r=20;t=1`; got != want {
		t.Fatalf("header %s, want %s", got, want)
	}
	refused := ratelimit.Result{Limit: lim, Allowed: false, Remaining: 3, RetryAfter: 2500 * time.Millisecond, ResetAfter: 2 * time.Second}
	if got, want := refused.Header(), `"ip";r=0;t=3`; got != want {
		t.Fatalf("refusal header %s, want %s (t equal to Retry-After %s)", got, want, ratelimit.CeilSeconds(refused.RetryAfter))
	}
	slow := ratelimit.Limit{Name: "shop", Rate: 3, Burst: 6, Period: time.Minute}
	if got, want := slow.Policy(), `"shop";q=6;w=120`; got != want {
		t.Fatalf("policy %s, want %s", got, want)
	}
}

// One IPv6 subscriber (a /64) is one client, whichever of its addresses it
// sends from; IPv4 addresses, mapped or not, stay themselves.
func TestClientKey(t *testing.T) {
	for _, c := range []struct {
		ip     string
		prefix int
		want   string
	}{
		{"192.0.2.7", 0, "192.0.2.7"},
		{"::ffff:192.0.2.7", 0, "192.0.2.7"},
		{"2001:db8:1:2:aaaa::1", 0, "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", 0, "2001:db8:1:2::/64"},
		{"2001:db8:1:2:aaaa::1", 48, "2001:db8:1::/48"},
		{"2001:db8:1:2:aaaa::1", 128, "2001:db8:1:2:aaaa::1/128"},
	} {
		if got := ratelimit.ClientKey(netip.MustParseAddr(c.ip), c.prefix); got != c.want {
			t.Errorf("ClientKey(%s, %d) = %s, want %s", c.ip, c.prefix, got, c.want)
		}
	}
}
