package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/testrig"
)

// olCall sends request n of the overload mix: mostly catalog reads, some
// checkouts, each checkout under a fresh idempotency key.
func olCall(c *client, base string, tokens []string, n int64) reply {
	sku := fmt.Sprintf("OL%02d", n%40)
	if n%3 != 0 {
		return c.call("GET", base+"/products/"+sku, "", "")
	}
	return c.call("POST", base+"/checkout", tokens[n%int64(len(tokens))], `{"items":[{"sku":"`+sku+`","quantity":1}]}`,
		"Idempotency-Key", fmt.Sprintf("ol-%d", n))
}

// olOutcome tallies answers by status and problem type.
type olOutcome struct {
	mu     sync.Mutex
	counts map[string]int
}

func (o *olOutcome) add(k string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.counts[k]++
}

// olKind classifies an answer: "2xx", "shed" (a 503 problem of type
// overloaded with Retry-After), or what else came back.
func olKind(r reply) string {
	switch {
	case r.err != nil:
		return "transport error: " + r.err.Error()
	case r.code >= 200 && r.code < 300:
		return "2xx"
	case r.code == http.StatusServiceUnavailable && r.header.Get("Retry-After") != "" &&
		strings.Contains(r.body, `/problems/overloaded"`):
		return "shed"
	}
	return fmt.Sprintf("%d %.200s", r.code, r.body)
}

// TestOverloadShedsCleanly offers three times the measured capacity on a
// fixed arrival schedule: every answer must be a success or a deliberate,
// immediate 503 shed with Retry-After — no other 5xx, no timeouts — and
// the books must balance afterwards. (How fast admitted requests stay is
// a timing, measured by bench/overload, not asserted here.)
func TestOverloadShedsCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("offers overload")
	}
	s := startSurge(t, map[string]string{"SURGE_RATE_LIMITS": "off", "SURGE_MAX_CONNS_PER_CLIENT": "100000"})
	f := newShopFixture(t, s, "overload")
	for i := range 40 {
		sku := fmt.Sprintf("OL%02d", i)
		code, _, body := do(t, "PUT", s.URL+"/v1/shops/overload/admin/products/"+sku, f.key,
			`{"title":"Item `+sku+`","price":900,"currency":"EUR","stock":1000000}`)
		if code != http.StatusCreated {
			t.Fatalf("put %s: %d %s", sku, code, body)
		}
	}
	var tokens []string
	for range 20 {
		code, _, body := do(t, "POST", s.URL+"/v1/shops/overload/customers", "", "")
		if code != http.StatusCreated {
			t.Fatalf("customer: %d %s", code, body)
		}
		tokens = append(tokens, strings.Split(strings.Split(body, `"token":"`)[1], `"`)[0])
	}
	base := s.URL + "/v1/shops/overload"
	c := &client{http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1000}}}
	var seq atomic.Int64

	// Capacity: what 8 closed-loop clients complete in two seconds.
	var done atomic.Int64
	stop := time.Now().Add(2 * time.Second)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				if olKind(olCall(c, base, tokens, seq.Add(1))) == "2xx" {
					done.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	capacity := float64(done.Load()) / 2
	if capacity < 1 {
		t.Fatalf("no request succeeded while measuring capacity")
	}

	// Three times that, on a fixed schedule for three seconds.
	out := olOutcome{counts: map[string]int{}}
	rate := 3 * capacity
	interval := time.Duration(float64(time.Second) / rate)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	for i := 0; ctx.Err() == nil; i++ {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait): // the arrival schedule, not a wait for a condition
			}
		}
		n := seq.Add(1)
		wg.Add(1)
		go func() { defer wg.Done(); out.add(olKind(olCall(c, base, tokens, n))) }()
	}
	wg.Wait()
	t.Logf("capacity %.0f req/s, offered %.0f req/s: %v", capacity, rate, out.counts)
	for k, n := range out.counts {
		if k != "2xx" && k != "shed" {
			t.Errorf("%d answers were %s", n, k)
		}
	}
	if out.counts["2xx"] == 0 {
		t.Error("nothing was admitted under overload")
	}
	requireAudit(t, s.URL, s.AdminKey)
}

// The checkout limit can be set: the shedder reports it.
func TestCheckoutConcurrency(t *testing.T) {
	t.Parallel()
	s := startSurge(t, map[string]string{"SURGE_CHECKOUT_CONCURRENCY": "3"})
	if got := metric(t, s.URL, "surge_shed_checkout_limit"); got != 3 {
		t.Fatalf("checkout limit %v, want 3", got)
	}
}

// Only checkouts that did the whole work set the pace the shedder keeps
// checkouts to: replays and refusals are far quicker and must not lower it,
// or a client could shrink everyone's checkout limit on purpose.
func TestCheckoutPaceIgnoresReplaysAndRefusals(t *testing.T) {
	t.Parallel()
	s := startSurge(t, map[string]string{"SURGE_RATE_LIMITS": "off"})
	shop := newShop(t, s.URL, "test-admin-key-0123456789abcdef", "pace")
	shop.product(t, "P1", 1000, 0)
	token := shop.customers(t, 1)[0]
	url := s.URL + "/v1/shops/pace/checkout"
	if code, _, body := do(t, "POST", url, token, `{"items":[{"sku":"P1","quantity":1}]}`, "Idempotency-Key", "pace-1"); code != http.StatusCreated {
		t.Fatalf("checkout: %d %s", code, body)
	}
	const pace = "surge_shed_checkout_baseline_seconds"
	var base float64
	testrig.Eventually(t, "a checkout to set the pace", func() bool {
		base = metric(t, s.URL, pace)
		return base != 0
	})

	for i := range 50 {
		code, h, _ := do(t, "POST", url, token, `{"items":[{"sku":"P1","quantity":1}]}`, "Idempotency-Key", "pace-1")
		if code != http.StatusCreated || h.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay %d: %d", i, code)
		}
		if code, _, _ := do(t, "POST", url, token, `{"items":[{"sku":"P1","quantity":0}]}`, "Idempotency-Key", fmt.Sprint("bad-", i)); code != http.StatusUnprocessableEntity {
			t.Fatalf("bad checkout %d: %d, want 422", i, code)
		}
	}
	// The pace is taken every 100 ms; watch it for ten of those. Were the
	// quick answers counted, it would drop at the first.
	for until := time.Now().Add(time.Second); time.Now().Before(until); time.Sleep(50 * time.Millisecond) {
		if now := metric(t, s.URL, pace); now < base {
			t.Fatalf("the pace fell from %v to %v s on replays and refusals", base, now)
		}
	}
}
