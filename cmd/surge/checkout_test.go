package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// The checkout tests (issue 3) drive a real Surge over HTTP on both SQL
// engines. Helpers here are safe to call from many goroutines: they return
// errors instead of calling t.Fatal.

// ckLoadEnv adds what a load test needs to env: one test client stands for
// many buyers, so per-IP limits and connection caps must not apply.
func ckLoadEnv(env map[string]string) map[string]string {
	env["SURGE_RATE_LIMITS"] = "off"
	env["SURGE_MAX_CONNS_PER_CLIENT"] = "100000"
	return env
}

// ckRetries counts the retryable answers a test's clients got, by problem
// type, so a test can show how often the server pushed back.
type ckRetries struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *ckRetries) add(r reply) {
	if c == nil {
		return
	}
	var p struct{ Type, Detail string }
	_ = json.Unmarshal([]byte(r.body), &p)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[strings.TrimPrefix(p.Type, "https://surge.dev/problems/")+": "+p.Detail]++
}

func (c *ckRetries) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprint(c.n)
}

// orderID returns the order id of a checkout answer, or "".
func (r reply) orderID() string {
	var b struct {
		Order struct{ ID string } `json:"order"`
	}
	_ = json.Unmarshal([]byte(r.body), &b)
	return b.Order.ID
}

// ckCheckout posts a checkout, retrying (same key, same body) while the
// server answers 503 with Retry-After or, with waitInProgress, while the
// key's first request still runs. The retries are what a well-behaved
// client does; retries (may be nil) counts the 503s.
func ckCheckout(base, shop, token, key, body string, waitInProgress bool, retries *ckRetries) reply {
	deadline := time.Now().Add(240 * time.Second)
	for {
		r := api.call("POST", base+"/v1/shops/"+shop+"/checkout", token, body, "Idempotency-Key", key)
		if r.retryable() {
			retries.add(r)
		}
		retry := r.retryable() || waitInProgress && r.inProgress()
		if !retry || time.Now().After(deadline) {
			return r
		}
		time.Sleep(r.backoff())
	}
}

// ckLogOf returns the server log lines about the request that got r, so a
// failure shows its cause.
func ckLogOf(log string, r reply) string {
	var p struct {
		RequestID string `json:"request_id"`
	}
	if json.Unmarshal([]byte(r.body), &p) != nil || p.RequestID == "" {
		return ""
	}
	var out []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, p.RequestID) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

func ckItems(sku string, qty int) string {
	return fmt.Sprintf(`{"items":[{"sku":%q,"quantity":%d}]}`, sku, qty)
}

// ckOrder is an order as the shop admin lists it.
type ckOrder struct {
	ID, Status string
	CustomerID string `json:"customer_id"`
	Lines      []struct {
		SKU      string
		Quantity int64
	}
}

// orders lists every order of the shop with the given status ("" for all).
func (s shop) orders(t *testing.T, status string) []ckOrder {
	t.Helper()
	var all []ckOrder
	cursor := ""
	for {
		q := url.Values{"limit": {"100"}}
		if status != "" {
			q.Set("status", status)
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		r := api.call("GET", s.base+"/v1/shops/"+s.slug+"/admin/orders?"+q.Encode(), s.key, "")
		var page struct {
			Items      []ckOrder
			NextCursor string `json:"next_cursor"`
		}
		if r.code != http.StatusOK || json.Unmarshal([]byte(r.body), &page) != nil {
			t.Fatalf("list orders: %s", r)
		}
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all
		}
		cursor = page.NextCursor
	}
}

// TestCheckoutNeverOversells sends 500 buyers at once after the last 100
// units of one SKU: exactly 100 get an order, the rest a 409 naming the
// SKU, nobody a server error, and the counters and the audit agree.
func TestCheckoutNeverOversells(t *testing.T) {
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			s := startSurge(t, ckLoadEnv(eng.env(t)))
			shop := newShop(t, s.URL, s.AdminKey, "oversell")
			shop.product(t, "HOT", 100, 0)
			const buyers = 500
			began := time.Now()
			tokens := shop.customers(t, buyers)
			t.Logf("%d customers registered in %s", buyers, time.Since(began).Round(time.Millisecond))
			began = time.Now()

			answers := make([]reply, buyers)
			var retries ckRetries
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range buyers {
				wg.Go(func() {
					<-start
					answers[i] = ckCheckout(s.URL, "oversell", tokens[i], fmt.Sprintf("buy-%d", i), ckItems("HOT", 1), false, &retries)
				})
			}
			close(start)
			wg.Wait()

			won, soldOut := map[string]bool{}, 0
			for i, r := range answers {
				switch {
				case r.err == nil && (r.code == http.StatusCreated || r.code == http.StatusAccepted):
					id := r.orderID()
					if id == "" || won[id] {
						t.Fatalf("buyer %d: order id missing or repeated: %s", i, r)
					}
					won[id] = true
				case r.err == nil && r.code == http.StatusConflict:
					if !strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") ||
						!strings.Contains(r.body, "problems/out-of-stock") || !strings.Contains(r.body, `"sku":"HOT"`) {
						t.Fatalf("buyer %d: 409 is not an out-of-stock problem naming HOT: %s %v", i, r, r.header)
					}
					soldOut++
				default:
					t.Fatalf("buyer %d: %s, want 2xx or 409\nserver log:\n%s", i, r, ckLogOf(s.Stdout.String()+s.Stderr.String(), r))
				}
			}
			t.Logf("the rush took %s; 503 answers retried by the buyers: %s", time.Since(began).Round(time.Millisecond), &retries)
			if len(won) != 100 || soldOut != buyers-100 {
				t.Fatalf("%d orders and %d sold-out answers, want 100 and %d", len(won), soldOut, buyers-100)
			}

			l := shop.awaitLevel(t, "HOT", func(l stockLevel) bool { return l.Reserved == 0 })
			if l != (stockLevel{SKU: "HOT", Received: 100, Available: 0, Reserved: 0, Sold: 100}) {
				t.Fatalf("inventory after the rush: %+v, want received=100 sold=100", l)
			}
			orders := shop.orders(t, "")
			if len(orders) != 100 {
				t.Fatalf("%d orders in the shop, want 100", len(orders))
			}
			for _, o := range orders {
				if !won[o.ID] || o.Status != "paid" {
					t.Fatalf("order %s (%s) was not acknowledged to a buyer as paid", o.ID, o.Status)
				}
			}
			requireAudit(t, s.URL, s.AdminKey)
		})
	}
}

// TestCheckoutIdempotencyKeyUnderConcurrency sends one request 64 times at
// once under one Idempotency-Key: one order, every success byte-identical,
// the others told to retry (409) and then served the stored answer; the
// same key with another body is refused with 422.
func TestCheckoutIdempotencyKeyUnderConcurrency(t *testing.T) {
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			s := startSurge(t, ckLoadEnv(eng.env(t)))
			shop := newShop(t, s.URL, s.AdminKey, "idem")
			shop.product(t, "TEE", 50, 0)
			shop.product(t, "CAP", 50, 0)
			token := shop.customers(t, 1)[0]
			body := ckItems("TEE", 2)

			const n = 64
			answers := make([]reply, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					<-start
					answers[i] = ckCheckout(s.URL, "idem", token, "same-key", body, false, nil)
				})
			}
			close(start)
			wg.Wait()

			first, inProgress := "", 0
			for i, r := range answers {
				switch {
				case r.err == nil && r.code == http.StatusCreated:
					if first == "" {
						first = r.body
					}
					if r.body != first {
						t.Fatalf("answer %d differs:\n%s\nvs\n%s", i, r.body, first)
					}
				case r.inProgress():
					inProgress++
				default:
					t.Fatalf("answer %d: %s, want 201 or 409 request-in-progress", i, r)
				}
			}
			if first == "" {
				t.Fatal("no request got the order")
			}
			// The ones told to wait get the stored answer once it is done.
			replay := ckCheckout(s.URL, "idem", token, "same-key", body, true, nil)
			if replay.code != http.StatusCreated || replay.body != first || replay.header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("retry after the race: %s (Idempotent-Replayed %q), want the stored 201",
					replay, replay.header.Get("Idempotent-Replayed"))
			}
			t.Logf("%d answered 201, %d answered 409 in progress", n-inProgress, inProgress)

			if orders := shop.orders(t, ""); len(orders) != 1 || orders[0].ID != replay.orderID() {
				t.Fatalf("orders: %+v, want exactly the one replayed", orders)
			}
			if l := shop.level(t, "TEE"); l.Sold != 2 || l.Reserved != 0 || l.Available != 48 {
				t.Fatalf("inventory of TEE: %+v, want 2 sold once", l)
			}

			other := ckCheckout(s.URL, "idem", token, "same-key", ckItems("CAP", 1), true, nil)
			if other.code != http.StatusUnprocessableEntity || !strings.Contains(other.body, "problems/idempotency-key-reused") {
				t.Fatalf("same key, another body: %s, want 422 idempotency-key-reused", other)
			}
			if orders := shop.orders(t, ""); len(orders) != 1 {
				t.Fatalf("%d orders after the reused key, want 1", len(orders))
			}
			if l := shop.level(t, "CAP"); l.Available != 50 || l.Reserved != 0 {
				t.Fatalf("inventory of CAP after the refused request: %+v", l)
			}
			requireAudit(t, s.URL, s.AdminKey)
		})
	}
}
