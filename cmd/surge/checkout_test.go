package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/testrig"
)

// The checkout tests (issue 3) drive a real Surge over HTTP on both SQL
// engines. Helpers here are safe to call from many goroutines: they return
// errors instead of calling t.Fatal.

// ckEngine is one SQL engine a test runs on.
type ckEngine struct {
	name string
	env  func(t *testing.T) map[string]string
}

var ckEngines = []ckEngine{
	{"sqlite", func(t *testing.T) map[string]string { return map[string]string{} }},
	{"postgres", func(t *testing.T) map[string]string {
		return map[string]string{"SURGE_DATABASE_URL": testrig.PostgresURL(t)}
	}},
}

// ckLoadEnv adds what a load test needs to env: one test client stands for
// many buyers, so per-IP limits and connection caps must not apply.
func ckLoadEnv(env map[string]string) map[string]string {
	env["SURGE_RATE_LIMITS"] = "off"
	env["SURGE_MAX_CONNS_PER_CLIENT"] = "100000"
	return env
}

var ckHTTP = &http.Client{
	Timeout:   90 * time.Second,
	Transport: &http.Transport{MaxIdleConns: 2048, MaxIdleConnsPerHost: 2048, IdleConnTimeout: 30 * time.Second},
}

// ckResp is one HTTP answer, or the transport error that replaced it.
type ckResp struct {
	code   int
	header http.Header
	body   string
	err    error
}

func ckDo(method, url, key, body string, header ...string) ckResp {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return ckResp{err: err}
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := ckHTTP.Do(req)
	if err != nil {
		return ckResp{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return ckResp{code: resp.StatusCode, header: resp.Header, body: string(b), err: err}
}

func (r ckResp) String() string {
	if r.err != nil {
		return "error: " + r.err.Error()
	}
	return fmt.Sprintf("%d %s", r.code, r.body)
}

// ckRetryable reports a 503 with Retry-After: the server did nothing and
// asks the client to come back (shed load, or the database breaker open).
func (r ckResp) ckRetryable() bool {
	return r.err == nil && r.code == http.StatusServiceUnavailable && r.header.Get("Retry-After") != ""
}

// ckRetries counts the retryable answers a test's clients got, by problem
// type, so a test can show how often the server pushed back.
type ckRetries struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *ckRetries) add(r ckResp) {
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

// ckInProgress reports a 409 for a key whose first request still runs;
// it always says when to retry.
func (r ckResp) ckInProgress() bool {
	return r.err == nil && r.code == http.StatusConflict && strings.Contains(r.body, "problems/request-in-progress") &&
		r.header.Get("Retry-After") != ""
}

// ckOrderID returns the order id of a checkout answer, or "".
func (r ckResp) ckOrderID() string {
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
func ckCheckout(base, shop, token, key, body string, waitInProgress bool, retries *ckRetries) ckResp {
	deadline := time.Now().Add(240 * time.Second)
	for {
		r := ckDo("POST", base+"/v1/shops/"+shop+"/checkout", token, body, "Idempotency-Key", key)
		if r.ckRetryable() {
			retries.add(r)
		}
		retry := r.ckRetryable() || waitInProgress && r.ckInProgress()
		if !retry || time.Now().After(deadline) {
			return r
		}
		time.Sleep(r.ckBackoff())
	}
}

// ckLogOf returns the server log lines about the request that got r, so a
// failure shows its cause.
func ckLogOf(log string, r ckResp) string {
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

// ckBackoff is how long a client waits before retrying: what Retry-After
// asks, jittered so that a crowd does not come back in lockstep.
func (r ckResp) ckBackoff() time.Duration {
	base := 100 * time.Millisecond
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err == nil && s > 0 {
		base = time.Duration(s) * time.Second
	}
	return base/2 + time.Duration(rand.Int64N(int64(base)))
}

func ckItems(sku string, qty int) string {
	return fmt.Sprintf(`{"items":[{"sku":%q,"quantity":%d}]}`, sku, qty)
}

// ckShop is a shop created for one test.
type ckShop struct {
	base, admin, slug, key string
}

func ckNewShop(t *testing.T, base, admin, slug string) ckShop {
	t.Helper()
	r := ckDo("POST", base+"/v1/admin/shops", admin, `{"slug":"`+slug+`","name":"Shop"}`)
	if r.code != http.StatusCreated {
		t.Fatalf("create shop: %s", r)
	}
	var b struct {
		APIKey string `json:"api_key"`
	}
	if err := json.Unmarshal([]byte(r.body), &b); err != nil || b.APIKey == "" {
		t.Fatalf("create shop: %s", r)
	}
	return ckShop{base: base, admin: admin, slug: slug, key: b.APIKey}
}

func (s ckShop) product(t *testing.T, sku string, stock, limit int) {
	t.Helper()
	r := ckDo("PUT", s.base+"/v1/shops/"+s.slug+"/admin/products/"+sku, s.key,
		fmt.Sprintf(`{"title":"Item","price":1500,"currency":"EUR","stock":%d,"purchase_limit":%d}`, stock, limit))
	if r.code != http.StatusCreated && r.code != http.StatusOK {
		t.Fatalf("put product %s: %s", sku, r)
	}
}

// customers registers n customers, a few at a time, and returns their tokens.
func (s ckShop) customers(t *testing.T, n int) []string {
	t.Helper()
	tokens := make([]string, n)
	errs := make(chan string, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			var r ckResp
			for range 100 {
				if r = ckDo("POST", s.base+"/v1/shops/"+s.slug+"/customers", "", ""); !r.ckRetryable() {
					break
				}
				time.Sleep(50 * time.Millisecond) // shed: retry later
			}
			var b struct{ Token string }
			if r.code != http.StatusCreated || json.Unmarshal([]byte(r.body), &b) != nil || b.Token == "" {
				errs <- r.String()
				return
			}
			tokens[i] = b.Token
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatalf("create customer: %s", e)
	}
	return tokens
}

// ckLevel is GET /v1/shops/{shop}/admin/inventory/{sku}.
type ckLevel struct {
	SKU                                 string
	Received, Available, Reserved, Sold int64
}

func (s ckShop) level(t *testing.T, sku string) ckLevel {
	t.Helper()
	r := ckDo("GET", s.base+"/v1/shops/"+s.slug+"/admin/inventory/"+sku, s.key, "")
	var l ckLevel
	if r.code != http.StatusOK || json.Unmarshal([]byte(r.body), &l) != nil {
		t.Fatalf("inventory of %s: %s", sku, r)
	}
	return l
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
func (s ckShop) orders(t *testing.T, status string) []ckOrder {
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
		r := ckDo("GET", s.base+"/v1/shops/"+s.slug+"/admin/orders?"+q.Encode(), s.key, "")
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

// awaitLevel polls the inventory of sku until want holds.
func (s ckShop) awaitLevel(t *testing.T, sku string, want func(ckLevel) bool) ckLevel {
	t.Helper()
	var l ckLevel
	testrig.Eventually(t, "the inventory of "+sku+" to settle", func() bool {
		l = s.level(t, sku)
		return want(l)
	})
	return l
}

// TestCheckoutNeverOversells sends 500 buyers at once after the last 100
// units of one SKU: exactly 100 get an order, the rest a 409 naming the
// SKU, nobody a server error, and the counters and the audit agree.
func TestCheckoutNeverOversells(t *testing.T) {
	for _, eng := range ckEngines {
		t.Run(eng.name, func(t *testing.T) {
			s := startSurge(t, ckLoadEnv(eng.env(t)))
			shop := ckNewShop(t, s.URL, s.AdminKey, "oversell")
			shop.product(t, "HOT", 100, 0)
			const buyers = 500
			began := time.Now()
			tokens := shop.customers(t, buyers)
			t.Logf("%d customers registered in %s", buyers, time.Since(began).Round(time.Millisecond))
			began = time.Now()

			answers := make([]ckResp, buyers)
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
					id := r.ckOrderID()
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

			l := shop.awaitLevel(t, "HOT", func(l ckLevel) bool { return l.Reserved == 0 })
			if l != (ckLevel{SKU: "HOT", Received: 100, Available: 0, Reserved: 0, Sold: 100}) {
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
	for _, eng := range ckEngines {
		t.Run(eng.name, func(t *testing.T) {
			s := startSurge(t, ckLoadEnv(eng.env(t)))
			shop := ckNewShop(t, s.URL, s.AdminKey, "idem")
			shop.product(t, "TEE", 50, 0)
			shop.product(t, "CAP", 50, 0)
			token := shop.customers(t, 1)[0]
			body := ckItems("TEE", 2)

			const n = 64
			answers := make([]ckResp, n)
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
				case r.ckInProgress():
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

			if orders := shop.orders(t, ""); len(orders) != 1 || orders[0].ID != replay.ckOrderID() {
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
