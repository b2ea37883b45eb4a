package main

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	psp "github.com/surge-commerce/surge/internal/payment/simulator"
	"github.com/surge-commerce/surge/internal/testrig"
)

// shopFixture is a shop with one product, TEE, and a customer (token).
type shopFixture struct {
	shop
	token string
}

func newShopFixture(t *testing.T, s *surge, slug string) shopFixture {
	t.Helper()
	f := shopFixture{shop: newShop(t, s.URL, s.AdminKey, slug)}
	code, _, body := do(t, "PUT", f.url("/admin/products/TEE"), f.key,
		`{"title":"Tee","price":1500,"currency":"EUR","stock":100}`)
	if code != http.StatusCreated {
		t.Fatalf("put product: %d %s", code, body)
	}
	f.token = f.customer(t)
	return f
}

func (f shopFixture) checkout(t *testing.T, slug, key string) (int, string) {
	t.Helper()
	code, _, body := f.checkoutH(t, slug, key)
	return code, body
}

func (f shopFixture) checkoutH(t *testing.T, slug, key string) (int, http.Header, string) {
	t.Helper()
	return do(t, "POST", f.base+"/v1/shops/"+slug+"/checkout", f.token,
		`{"items":[{"sku":"TEE","quantity":1}]}`, "Idempotency-Key", key)
}

// TestPostgresOutage stops PostgreSQL under a running Surge: catalog reads
// keep answering from cache, marked stale; checkout answers 503; /readyz
// turns 503; and everything heals by itself when PostgreSQL is back.
func TestPostgresOutage(t *testing.T) {
	t.Parallel()
	pg := testrig.StartPostgres(t)
	s := startSurge(t, map[string]string{
		"SURGE_DATABASE_URL": pg.URL(), "SURGE_CACHE_TTL": "200ms", "SURGE_RATE_LIMITS": "off",
	})
	f := newShopFixture(t, s, "pgdown")
	if code, body := f.checkout(t, "pgdown", "before"); code != http.StatusCreated {
		t.Fatalf("checkout before the outage: %d %s", code, body)
	}
	product := s.URL + "/v1/shops/pgdown/products/TEE"
	if code, _, _ := do(t, "GET", product, "", ""); code != http.StatusOK {
		t.Fatalf("warm the cache: %d", code)
	}

	pg.Stop()
	testrig.Eventually(t, "a stale catalog answer", func() bool {
		code, h, _ := do(t, "GET", product, "", "")
		if code != http.StatusOK {
			t.Fatalf("catalog read during the outage: %d, want 200 from cache", code)
		}
		return h.Get("Surge-Stale") == "true"
	})
	code, h, body := f.checkoutH(t, "pgdown", "during")
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.Contains(body, "problems/") {
		t.Fatalf("checkout during the outage: %d %v %s, want 503 problem with Retry-After", code, h, body)
	}
	testrig.Eventually(t, "/readyz to fail", func() bool {
		code, _, _ := do(t, "GET", s.URL+"/readyz", "", "")
		return code == http.StatusServiceUnavailable
	})

	pg.Start()
	testrig.Eventually(t, "/readyz to recover", func() bool {
		code, _, _ := do(t, "GET", s.URL+"/readyz", "", "")
		return code == http.StatusOK
	})
	testrig.Eventually(t, "checkout to work again", func() bool {
		code, _ := f.checkout(t, "pgdown", "after")
		return code == http.StatusCreated
	})
	requireAudit(t, s.URL, s.AdminKey)
}

// TestRedisOutage kills Redis under a running Surge: limits go local, the
// catalog is still served, and nothing answers 5xx.
func TestRedisOutage(t *testing.T) {
	t.Parallel()
	rds := testrig.StartRedis(t)
	s := startSurge(t, map[string]string{"SURGE_REDIS_URL": rds.URL()})
	newShopFixture(t, s, "redisdown")
	product := s.URL + "/v1/shops/redisdown/products/TEE"
	get := func() int {
		code, h, _ := do(t, "GET", product, "", "")
		if code >= 500 {
			t.Fatalf("catalog read answered %d", code)
		}
		if code == http.StatusOK && h.Get("RateLimit") == "" {
			t.Fatal("no RateLimit header")
		}
		return code
	}
	if get() != http.StatusOK {
		t.Fatal("catalog read with Redis up failed")
	}
	rds.Kill()
	ok := 0
	for range 50 {
		if get() == http.StatusOK {
			ok++
		}
	}
	if ok == 0 {
		t.Fatal("no catalog read succeeded with Redis down")
	}
	testrig.Eventually(t, "the Redis breaker to show in /readyz", func() bool {
		get()
		_, _, body := do(t, "GET", s.URL+"/readyz", "", "")
		return strings.Contains(body, `"redis":"open"`)
	})
}

// TestSlowProvider holds the payment provider at 4 s per call: checkout
// answers 202 with the order payment_pending instead of waiting, the
// breaker opens, and once the provider is fast again the sweeper completes
// the order as paid.
func TestSlowProvider(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim, err := psp.NewServer(psp.Config{Faults: psp.Faults{LatencyMS: 4000}, MaxHang: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Stop)
	s := startSurge(t, map[string]string{
		"SURGE_PSP_URL": sim.URL(), "SURGE_RECONCILE_INTERVAL": "200ms", "SURGE_CHARGE_BUDGET": "3s", "SURGE_RATE_LIMITS": "off",
	})
	f := newShopFixture(t, s, "slowpsp")
	var orderID string
	for i := range 6 { // enough failed calls to open the breaker
		code, body := f.checkout(t, "slowpsp", "slow-"+string(rune('a'+i)))
		if code != http.StatusAccepted || !strings.Contains(body, `"status":"pending_payment"`) {
			t.Fatalf("checkout %d with a slow provider: %d %s, want 202 pending_payment", i, code, body)
		}
		orderID = regexp.MustCompile(`"id":"([^"]+)"`).FindStringSubmatch(body)[1]
	}
	_, _, ready := do(t, "GET", s.URL+"/readyz", "", "")
	if !strings.Contains(ready, `"payments":"open"`) {
		t.Fatalf("payments breaker not open after repeated timeouts: %s", ready)
	}

	if err := sim.SetFaults(psp.Faults{}); err != nil {
		t.Fatal(err)
	}
	testrig.Eventually(t, "the pending order to be paid", func() bool {
		_, _, body := do(t, "GET", s.URL+"/v1/shops/slowpsp/orders/"+orderID, f.token, "")
		return strings.Contains(body, `"status":"paid"`)
	})
	requireAudit(t, s.URL, s.AdminKey)
}

// TestFloodFromOneClient floods from one client address (through a trusted
// proxy header): it gets 429s with RateLimit headers and Retry-After, and
// another client at the same time is unaffected.
func TestFloodFromOneClient(t *testing.T) {
	t.Parallel()
	s := startSurge(t, map[string]string{
		"SURGE_TRUSTED_PROXIES": "127.0.0.1/32", "SURGE_RATE_LIMIT_IP": "20",
	})
	newShopFixture(t, s, "flood")
	product := s.URL + "/v1/shops/flood/products/TEE"
	limited := 0
	for range 200 {
		code, h, _ := do(t, "GET", product, "", "", "X-Forwarded-For", "203.0.113.7")
		switch {
		case code == http.StatusTooManyRequests:
			limited++
			if h.Get("Retry-After") == "" || h.Get("RateLimit-Policy") == "" || h.Get("RateLimit") == "" {
				t.Fatalf("429 without rate-limit headers: %v", h)
			}
		case code != http.StatusOK:
			t.Fatalf("flooding client got %d", code)
		}
	}
	if limited == 0 {
		t.Fatal("200 requests at once from one client were never limited")
	}
	code, _, _ := do(t, "GET", product, "", "", "X-Forwarded-For", "198.51.100.9")
	if code != http.StatusOK {
		t.Fatalf("another client during the flood: %d, want 200", code)
	}
}
