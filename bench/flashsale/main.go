// Command flashsale measures checkout throughput on one hot SKU, in one run
// on PostgreSQL, three ways under the same closed-loop load:
//
//	hot    one SKU in flash-sale mode (stock spread over buckets; every
//	       buyer holds an admitted waiting-room ticket)
//	cold   the same load spread over 1,000 ordinary SKUs (the baseline)
//	naive  one ordinary SKU: every checkout decrements the same row
//
// and prints hot÷cold and naive÷cold. Every SKU has far more stock than
// the run can sell. Loopback only, bounded in time.
//
// With -stats it prints, after each phase of the first round, the
// statements that took PostgreSQL's time, per checkout.
//
//	go run ./bench/flashsale [-d 10s] [-rounds 2] [-workers 16] [-buckets 16] [-stats]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/surge-commerce/surge/bench/loadgen"
)

const (
	admin     = "bench-admin-key-0123456789abcdef"
	coldSKUs  = 1000
	customers = 512
	stock     = 100_000_000 // never sells out within a run
)

func main() {
	d := flag.Duration("d", 10*time.Second, "duration of each phase in each round")
	rounds := flag.Int("rounds", 2, "rounds of the three phases")
	// 16 clients: as many as the checkout bulkhead admits (the database
	// pool), so the phases measure the stock path, not shedding.
	workers := flag.Int("workers", 16, "closed-loop clients")
	buckets := flag.Int("buckets", 16, "stock buckets of the hot SKU")
	stats := flag.Bool("stats", false, "print PostgreSQL's costliest statements after each phase of the first round")
	flag.Parse()
	if err := run(*d, *rounds, *workers, *buckets, *stats); err != nil {
		fmt.Fprintln(os.Stderr, "flashsale:", err)
		os.Exit(1)
	}
}

func run(d time.Duration, rounds, workers, buckets int, stats bool) error {
	dir, err := os.MkdirTemp("", "surge-bench-flashsale")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var settings []string
	if stats {
		settings = append(settings, loadgen.StatementStats)
	}
	url, stop, err := loadgen.StartPostgres(dir, settings...)
	if err != nil {
		return err
	}
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	s, err := loadgen.StartSurge(ctx, dir, "SURGE_DATABASE_URL="+url)
	if err != nil {
		return err
	}
	defer s.Stop()

	c := &client{base: s.URL, http: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 1024}}}
	start := time.Now()
	if err := c.setup(buckets); err != nil {
		return err
	}
	fmt.Printf("PostgreSQL, %d closed-loop clients, %d rounds of %s per phase, %d customers, hot SKU in %d buckets (setup %s)\n\n",
		workers, rounds, d, customers, buckets, time.Since(start).Round(time.Second))

	type phase struct {
		name   string
		sku    func(n int64) string
		ticket bool
		total  loadgen.Result
	}
	phases := []*phase{
		{name: "hot", sku: func(int64) string { return "HOT" }, ticket: true},
		{name: "cold", sku: func(n int64) string { return fmt.Sprintf("COLD-%d", n%coldSKUs) }},
		{name: "naive", sku: func(int64) string { return "NAIVE" }},
	}
	var seq atomic.Int64
	// The phases take turns, so that whatever drifts during the run (table
	// sizes, the machine's other load) falls on all of them alike.
	for round := range rounds {
		for _, p := range phases {
			buy := func() bool { return c.checkout(&seq, p.sku, p.ticket) }
			loadgen.ClosedLoop(workers, 2*time.Second, buy) // warm-up: pools, caches, row versions
			profile := stats && round == 0
			if profile {
				if err := loadgen.ResetStatements(ctx, url); err != nil {
					return err
				}
			}
			r := loadgen.ClosedLoop(workers, d, buy)
			fmt.Printf("round %d  %-6s %8.0f checkouts/s   p50 %6.1f ms   p99 %6.1f ms   failed %d\n",
				round+1, p.name, r.Rate(), r.P(50), r.P(99), r.Fail)
			if profile {
				if err := loadgen.PrintStatements(ctx, url, r.OK); err != nil {
					return err
				}
			}
			if p.total.Latency == nil {
				p.total = r
				continue
			}
			p.total.Latency.Merge(r.Latency)
			p.total.OK, p.total.Fail, p.total.Duration = p.total.OK+r.OK, p.total.Fail+r.Fail, p.total.Duration+r.Duration
		}
	}
	fmt.Println()
	for _, p := range phases {
		fmt.Printf("%-6s %8.0f checkouts/s   p50 %6.1f ms   p99 %6.1f ms   failed %d\n",
			p.name, p.total.Rate(), p.total.P(50), p.total.P(99), p.total.Fail)
	}
	hot, cold, naive := phases[0].total, phases[1].total, phases[2].total
	fmt.Printf("\nhot ÷ cold   = %.2f   (goal ≥ 0.7)\n", hot.Rate()/cold.Rate())
	fmt.Printf("naive ÷ cold = %.2f\n", naive.Rate()/cold.Rate())
	// The workers (invoices, confirmations, analytics) catch up after
	// the load; the audit passes once they have.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		code, body, err := c.do("GET", "/v1/admin/audit", admin, "")
		var audit struct{ Passed bool }
		if err == nil && code == 200 && json.Unmarshal(body, &audit) == nil && audit.Passed {
			fmt.Println("audit: passed")
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("audit after the run: %d %s %v", code, body, err)
		}
		time.Sleep(time.Second)
	}
}

type client struct {
	base    string
	http    *http.Client
	shopKey string
	tokens  []string
	tickets []string // admitted waiting-room tickets for HOT, by customer
}

func (c *client) do(method, path, key, body string, header ...string) (int, []byte, error) {
	return loadgen.Do(c.http, method, c.base+path, key, body, header...)
}

// must sends a setup request and insists on the status.
func (c *client) must(want int, method, path, key, body string) ([]byte, error) {
	code, b, err := c.do(method, path, key, body)
	if err != nil || code != want {
		return nil, fmt.Errorf("%s %s: %d %s %v", method, path, code, b, err)
	}
	return b, nil
}

// parallel runs fn(0..n-1) on 16 goroutines and returns the first error.
func parallel(n int, fn func(i int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// setup creates the shop, the hot, naive and cold SKUs, puts HOT on flash
// sale with a waiting room that admits everyone at once, and registers the
// customers with their tickets.
func (c *client) setup(buckets int) error {
	b, err := c.must(201, "POST", "/v1/admin/shops", admin, `{"slug":"bench","name":"Bench"}`)
	if err != nil {
		return err
	}
	var shop struct {
		APIKey string `json:"api_key"`
	}
	if err := json.Unmarshal(b, &shop); err != nil {
		return err
	}
	c.shopKey = shop.APIKey
	product := func(sku string) error {
		_, err := c.must(201, "PUT", "/v1/shops/bench/admin/products/"+sku, c.shopKey,
			fmt.Sprintf(`{"title":"%s","price":1000,"currency":"EUR","stock":%d}`, sku, stock))
		return err
	}
	for _, sku := range []string{"HOT", "NAIVE"} {
		if err := product(sku); err != nil {
			return err
		}
	}
	if err := parallel(coldSKUs, func(i int) error { return product(fmt.Sprintf("COLD-%d", i)) }); err != nil {
		return err
	}
	if _, err := c.must(200, "PUT", "/v1/shops/bench/admin/sales/HOT", c.shopKey,
		fmt.Sprintf(`{"stock":%d,"buckets":%d,"admission_burst":1000000,"admission_rate":1}`, stock, buckets)); err != nil {
		return err
	}
	c.tokens = make([]string, customers)
	c.tickets = make([]string, customers)
	return parallel(customers, func(i int) error {
		b, err := c.must(201, "POST", "/v1/shops/bench/customers", "", "")
		if err != nil {
			return err
		}
		var cu struct{ Token string }
		if err := json.Unmarshal(b, &cu); err != nil {
			return err
		}
		b, err = c.must(200, "POST", "/v1/shops/bench/sales/HOT/queue", cu.Token, "")
		if err != nil {
			return err
		}
		var tk struct{ Token, Status string }
		if err := json.Unmarshal(b, &tk); err != nil || tk.Status != "admitted" {
			return fmt.Errorf("ticket: %s %v", b, err)
		}
		c.tokens[i], c.tickets[i] = cu.Token, tk.Token
		return nil
	})
}

// checkout buys one unit as the next customer, with a fresh key; only a
// 201 (paid) counts.
func (c *client) checkout(seq *atomic.Int64, sku func(int64) string, ticket bool) bool {
	n := seq.Add(1)
	who := n % customers
	header := []string{"Idempotency-Key", fmt.Sprintf("k%d", n)}
	if ticket {
		header = append(header, "Surge-Queue-Ticket", c.tickets[who])
	}
	code, _, err := c.do("POST", "/v1/shops/bench/checkout", c.tokens[who],
		`{"items":[{"sku":"`+sku(n)+`","quantity":1}]}`, header...)
	return err == nil && code == 201
}
