package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TestFlashSalePerCustomerLimit sends 20 checkouts at once from one
// customer, each under its own Idempotency-Key, for a SKU limited to one
// per customer: exactly one unit is sold to them, the others get 409
// naming the limit, and another customer can still buy.
func TestFlashSalePerCustomerLimit(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, env map[string]string) {
		env["SURGE_RATE_LIMITS"] = "off"
		s := startSurge(t, env)
		sh := fsNewShop(t, s, "limit", nil)
		sh.product(t, "LTD", 50)
		sh.sale(t, "LTD", `{"stock":50,"per_customer_limit":1,"admission_burst":1000,"admission_rate":10}`)
		custs := sh.customers(t, 2)
		tk, _ := sh.join(t, "LTD", custs[0])
		if tk.Status != "admitted" {
			t.Fatalf("ticket inside the burst: %+v", tk)
		}

		rs := make([]reply, 20)
		whys := make([]string, 20)
		var wg sync.WaitGroup
		for i := range rs {
			wg.Go(func() {
				var gaveUp bool
				rs[i], gaveUp, whys[i] = sh.checkout("LTD", custs[0], fmt.Sprintf("limit-%d", i), tk.Token)
				if gaveUp && whys[i] == "" {
					whys[i] = "gave up on 429/503"
				}
			})
		}
		wg.Wait()
		won := -1
		for i, r := range rs {
			switch {
			case whys[i] != "":
				t.Fatalf("checkout %d: %s", i, whys[i])
			case r.code == http.StatusCreated || r.code == http.StatusAccepted:
				if won >= 0 {
					t.Fatalf("checkouts %d and %d both sold to one customer limited to 1", won, i)
				}
				won = i
			case r.code == http.StatusConflict && r.problemType() == "purchase-limit":
				var p struct{ Limit int64 }
				if json.Unmarshal([]byte(r.body), &p) != nil || p.Limit != 1 {
					t.Fatalf("purchase-limit problem without the limit: %s", r.body)
				}
			default:
				t.Fatalf("checkout %d: %d %s, want 201 once and 409 purchase-limit", i, r.code, r.body)
			}
		}
		if won < 0 {
			t.Fatal("none of the 20 checkouts sold the customer their one unit")
		}
		sh.waitLevel(t, "LTD", stockLevel{Received: 50, Available: 49, Reserved: 0, Sold: 1})

		// The winning key replays its answer and sells nothing more.
		r, _, why := sh.checkout("LTD", custs[0], fmt.Sprintf("limit-%d", won), tk.Token)
		if why != "" || r.code != rs[won].code || r.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay of the winning key: %d %v %s %s", r.code, r.header, r.body, why)
		}
		// The limit is per customer, not per SKU.
		other, _ := sh.join(t, "LTD", custs[1])
		if r, _, why := sh.checkout("LTD", custs[1], "other", other.Token); why != "" ||
			(r.code != http.StatusCreated && r.code != http.StatusAccepted) {
			t.Fatalf("another customer's checkout: %d %s %s", r.code, r.body, why)
		}
		sh.waitLevel(t, "LTD", stockLevel{Received: 50, Available: 48, Reserved: 0, Sold: 2})
		requireAudit(t, s.URL, s.AdminKey)
	})
}

// TestFlashSaleBots keeps rate limits on and tight: one customer hammering
// the queue (from ever new addresses) and one address hammering checkout
// (with many customers) get 429 with Retry-After and RateLimit headers,
// while an honest buyer at the same time joins and buys.
func TestFlashSaleBots(t *testing.T) {
	t.Parallel()
	s := startSurge(t, map[string]string{
		"SURGE_TRUSTED_PROXIES": "127.0.0.1/32", "SURGE_RATE_LIMIT_IP": "1", "SURGE_RATE_LIMIT_CUSTOMER": "1",
	})
	var ips atomic.Int64
	fresh := func() string { n := ips.Add(1); return fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255) }
	// Setup calls each come from an address of their own, so only the
	// bots below meet the limits.
	sh := fsNewShop(t, s, "bots", func() []string { return []string{"X-Forwarded-For", fresh()} })
	sh.product(t, "BOT", 1000)
	sh.sale(t, "BOT", `{"stock":1000,"per_customer_limit":1,"admission_burst":100000,"admission_rate":1}`)
	custs := sh.customers(t, 10)
	bot, honest, farm := custs[0], custs[1], custs[2:]

	// hammer sends 80 requests, 8 at a time, without retrying, and checks
	// every 429 names the expected limit with the headers a client needs.
	hammer := func(what, limit string, send func(i int) reply, ok func(reply) bool) {
		t.Helper()
		var limited atomic.Int64
		errs := make(chan string, 80)
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := w * 10; i < w*10+10; i++ {
					r := send(i)
					switch {
					case r.err != nil:
						errs <- r.err.Error()
					case r.code == http.StatusTooManyRequests:
						var p struct{ Limit string }
						_ = json.Unmarshal([]byte(r.body), &p)
						if r.header.Get("Retry-After") == "" || r.header.Get("RateLimit-Policy") == "" ||
							!strings.Contains(r.header.Get("RateLimit"), `"`+p.Limit+`"`) {
							errs <- fmt.Sprintf("429 without rate-limit headers: %v", r.header)
						}
						if p.Limit == limit {
							limited.Add(1)
						}
					case !ok(r):
						errs <- fmt.Sprintf("%d %s", r.code, r.body)
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Fatalf("%s: %s", what, e)
		}
		if limited.Load() == 0 {
			t.Fatalf("%s: 80 requests at once never hit the %s limit", what, limit)
		}
		t.Logf("%s: %d of 80 refused by the %s limit", what, limited.Load(), limit)
	}

	// One customer joins over and over from everywhere: the customer cap.
	hammer("queue joins by one customer", "customer", func(int) reply {
		return sh.c.call("POST", sh.url("/sales/BOT/queue"), bot.Token, "", "X-Forwarded-For", fresh())
	}, func(r reply) bool { return r.code == http.StatusOK })

	// Many customers check out from one address: the IP cap. Each farm
	// customer has an admitted ticket, got from an address of its own.
	tickets := make([]string, len(farm))
	for i, c := range farm {
		tk, _ := sh.join(t, "BOT", c)
		tickets[i] = tk.Token
	}
	var sold atomic.Int64
	hammer("checkouts from one address", "ip", func(i int) reply {
		c := i % len(farm)
		return sh.c.call("POST", sh.url("/checkout"), farm[c].Token, `{"items":[{"sku":"BOT","quantity":1}]}`,
			"Idempotency-Key", fmt.Sprintf("farm-%d", i), "Surge-Queue-Ticket", tickets[c], "X-Forwarded-For", "203.0.113.66")
	}, func(r reply) bool {
		if r.code == http.StatusCreated || r.code == http.StatusAccepted {
			sold.Add(1)
			return true
		}
		return r.code == http.StatusConflict && r.problemType() == "purchase-limit"
	})

	// Meanwhile an honest buyer, from an address of their own, is served.
	tk, _ := sh.join(t, "BOT", honest)
	if r, gaveUp, why := sh.checkout("BOT", honest, "honest", tk.Token); why != "" || gaveUp ||
		(r.code != http.StatusCreated && r.code != http.StatusAccepted) {
		t.Fatalf("honest buyer: %d %s %s", r.code, r.body, why)
	}
	if sold.Load() > int64(len(farm)) {
		t.Fatalf("%d units sold to %d customers limited to 1 each", sold.Load(), len(farm))
	}
	sh.waitLevel(t, "BOT", stockLevel{Received: 1000, Available: 1000 - sold.Load() - 1, Sold: sold.Load() + 1})
	requireAudit(t, s.URL, s.AdminKey)
}
