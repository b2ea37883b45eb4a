package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/testrig"
)

// Flash-sale end-to-end tests: the helpers and a crowd of buyers over HTTP
// for a few units; the per-customer limit and the bot limits are in
// flashsale_limits_test.go, the waiting room in flashsale_queue_test.go.

// fsMaxTries bounds how often a buyer sends one request again after 429 or
// 503 before giving up, as a real client would.
const fsMaxTries = 20

// fsSend behaves like a well-mannered client: on 429 or 503 it waits the
// Retry-After and sends the very same request again (same Idempotency-Key),
// at most fsMaxTries times; gaveUp reports that the last answer was still
// one of those. why is set for what no answer may be: a transport error, a
// 5xx other than 503, or a 429/503 without a valid Retry-After.
func fsSend(c *client, method, url, token, body string, header ...string) (r reply, gaveUp bool, why string) {
	for try := 1; ; try++ {
		r = c.call(method, url, token, body, header...)
		if r.err != nil {
			return r, false, method + " " + url + ": " + r.err.Error()
		}
		// A 409 the same request can pass a moment later (its first try
		// still running, or a lost lock race) says so with Retry-After.
		inProgress := r.code == http.StatusConflict && (r.problemType() == "request-in-progress" || r.problemType() == "conflict-retry")
		if r.code != http.StatusTooManyRequests && r.code != http.StatusServiceUnavailable && !inProgress {
			if r.code >= 500 {
				return r, false, fmt.Sprintf("%s %s: %d %s", method, url, r.code, r.body)
			}
			return r, false, ""
		}
		secs, err := strconv.Atoi(r.header.Get("Retry-After"))
		if !inProgress && (err != nil || secs < 1) {
			return r, false, fmt.Sprintf("%s %s: %d with Retry-After %q", method, url, r.code, r.header.Get("Retry-After"))
		}
		if try == fsMaxTries {
			if inProgress {
				return r, false, fmt.Sprintf("%s %s: still in progress after %d tries", method, url, try)
			}
			return r, true, ""
		}
		// Honour Retry-After, plus jitter so refused clients don't all come
		// back in the same instant.
		time.Sleep(time.Duration(max(secs, 1))*time.Second + rand.N(time.Second))
	}
}

// fsShop is a shop under test, with the setup calls every test needs.
type fsShop struct {
	s    *surge
	slug string
	key  string // the shop's API key
	c    *client
	hdr  func() []string // extra headers on every setup call (nil: none)
}

type fsCustomer struct {
	ID    string `json:"id"`
	Token string `json:"token"`
}

type fsTicket struct {
	Token        string `json:"token"`
	SKU          string `json:"sku"`
	Position     int64  `json:"position"`
	Status       string `json:"status"`
	AdmittedUpTo int64  `json:"admitted_up_to"`
	RetryAfter   int    `json:"retry_after"`
	ETA          string `json:"eta"`
}

func fsNewShop(t *testing.T, s *surge, slug string, hdr func() []string) *fsShop {
	t.Helper()
	sh := &fsShop{s: s, slug: slug, c: newClient(t, 12), hdr: hdr}
	r := sh.must(t, http.StatusCreated, "POST", s.URL+"/v1/admin/shops", s.AdminKey, `{"slug":"`+slug+`","name":"Flash"}`)
	var out struct {
		APIKey string `json:"api_key"`
	}
	if err := json.Unmarshal([]byte(r.body), &out); err != nil || out.APIKey == "" {
		t.Fatalf("create shop: %s", r.body)
	}
	sh.key = out.APIKey
	return sh
}

func (sh *fsShop) url(path string) string { return sh.s.URL + "/v1/shops/" + sh.slug + path }

// send is fsSend with the shop's extra headers.
func (sh *fsShop) send(method, url, token, body string, header ...string) (reply, bool, string) {
	if sh.hdr != nil {
		header = append(header, sh.hdr()...)
	}
	return fsSend(sh.c, method, url, token, body, header...)
}

// must sends a setup request (retrying overload answers) and fails the test
// unless it gets want.
func (sh *fsShop) must(t *testing.T, want int, method, url, token, body string, header ...string) reply {
	t.Helper()
	r, gaveUp, why := sh.send(method, url, token, body, header...)
	if why != "" || gaveUp || r.code != want {
		t.Fatalf("%s %s: %d %s (want %d; %s)", method, url, r.code, r.body, want, why)
	}
	return r
}

func (sh *fsShop) product(t *testing.T, sku string, stock int64) {
	t.Helper()
	sh.must(t, http.StatusCreated, "PUT", sh.url("/admin/products/"+sku), sh.key,
		fmt.Sprintf(`{"title":"Flash %s","price":2500,"currency":"EUR","stock":%d}`, sku, stock))
}

func (sh *fsShop) sale(t *testing.T, sku, body string) {
	t.Helper()
	sh.must(t, http.StatusOK, "PUT", sh.url("/admin/sales/"+sku), sh.key, body)
}

func (sh *fsShop) level(t *testing.T, sku string) stockLevel {
	t.Helper()
	var l stockLevel
	r := sh.must(t, http.StatusOK, "GET", sh.url("/admin/inventory/"+sku), sh.key, "")
	if err := json.Unmarshal([]byte(r.body), &l); err != nil {
		t.Fatalf("inventory %s: %s", sku, r.body)
	}
	return l
}

// waitLevel polls the inventory until it settles at want (payments still
// pending move reserved to sold in the background).
func (sh *fsShop) waitLevel(t *testing.T, sku string, want stockLevel) {
	t.Helper()
	want.SKU = sku
	testrig.Eventually(t, fmt.Sprintf("the inventory of %s at %+v", sku, want), func() bool { return sh.level(t, sku) == want })
}

// customers registers n customers, a few at a time.
func (sh *fsShop) customers(t *testing.T, n int) []fsCustomer {
	t.Helper()
	out := make([]fsCustomer, n)
	errs := make(chan string, n)
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				r, gaveUp, why := sh.send("POST", sh.url("/customers"), "", "")
				if why != "" || gaveUp || r.code != http.StatusCreated || json.Unmarshal([]byte(r.body), &out[i]) != nil {
					errs <- fmt.Sprintf("create customer: %d %s %s", r.code, r.body, why)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	return out
}

// join puts a customer in a sale's waiting room and returns the ticket.
func (sh *fsShop) join(t *testing.T, sku string, c fsCustomer) (fsTicket, reply) {
	t.Helper()
	r := sh.must(t, http.StatusOK, "POST", sh.url("/sales/"+sku+"/queue"), c.Token, "")
	var tk fsTicket
	if err := json.Unmarshal([]byte(r.body), &tk); err != nil || tk.Token == "" {
		t.Fatalf("join %s: %s", sku, r.body)
	}
	return tk, r
}

// checkout buys one unit of sku with a queue ticket (none if empty).
func (sh *fsShop) checkout(sku string, c fsCustomer, key, ticket string) (reply, bool, string) {
	header := []string{"Idempotency-Key", key}
	if ticket != "" {
		header = append(header, "Surge-Queue-Ticket", ticket)
	}
	return sh.send("POST", sh.url("/checkout"), c.Token, `{"items":[{"sku":"`+sku+`","quantity":1}]}`, header...)
}

// fsFigure reads one live figure of a sale (units_left, queue_length,
// admission_rate) from the shop's admin API, where per-shop figures live
// (the public /metrics never shows them).
func fsFigure(t *testing.T, sh *fsShop, sku, field string) float64 {
	t.Helper()
	r := sh.must(t, http.StatusOK, "GET", sh.url("/admin/sales/"+sku), sh.key, "")
	var sale map[string]any
	if err := json.Unmarshal([]byte(r.body), &sale); err != nil {
		t.Fatal(err)
	}
	v, ok := sale[field].(float64)
	if !ok {
		t.Fatalf("sale %s has no %s: %s", sku, field, r.body)
	}
	return v
}

// fsLogErrors shows the server's error log lines, which name the cause
// behind a 500's request id.
func fsLogErrors(t *testing.T, s *surge) {
	t.Helper()
	n := 0
	for _, l := range strings.Split(s.Stdout.String()+s.Stderr.String(), "\n") {
		if strings.Contains(l, `"level":"ERROR"`) && n < 10 {
			t.Log(l)
			n++
		}
	}
}

// What became of a buyer.
type fsOutcome int

const (
	fsWon          fsOutcome = iota // 201 paid or 202 pending
	fsToldSoldOut                   // the waiting room answered sold_out
	fsRefusedStock                  // checkout answered 409 out-of-stock
	fsGaveUp                        // still 429/503 with Retry-After after fsMaxTries
	fsBad                           // anything else: a failure
	fsOutcomes
)

// fsBuy is one buyer of one unit: join the waiting room, poll honouring
// Retry-After until admitted or sold out, then check out with the ticket.
func fsBuy(sh *fsShop, sku string, c fsCustomer) (out fsOutcome, joined bool, why string) {
	queue := sh.url("/sales/" + sku + "/queue")
	r, gaveUp, why := sh.send("POST", queue, c.Token, "")
	if why != "" {
		return fsBad, false, why
	}
	if gaveUp {
		return fsGaveUp, false, ""
	}
	var tk fsTicket
	if r.code != http.StatusOK || json.Unmarshal([]byte(r.body), &tk) != nil {
		return fsBad, false, fmt.Sprintf("join: %d %s", r.code, r.body)
	}
	for polls := 0; tk.Status == "waiting"; polls++ {
		secs, err := strconv.Atoi(r.header.Get("Retry-After"))
		if err != nil || secs < 1 || polls == 100 {
			return fsBad, true, fmt.Sprintf("waiting ticket (poll %d): Retry-After %q, %s", polls, r.header.Get("Retry-After"), r.body)
		}
		time.Sleep(time.Duration(secs) * time.Second) // honouring Retry-After
		r, gaveUp, why = sh.send("GET", queue, c.Token, "", "Surge-Queue-Ticket", tk.Token)
		if why != "" {
			return fsBad, true, why
		}
		if gaveUp {
			return fsGaveUp, true, ""
		}
		if r.code != http.StatusOK || json.Unmarshal([]byte(r.body), &tk) != nil {
			return fsBad, true, fmt.Sprintf("poll: %d %s", r.code, r.body)
		}
	}
	switch tk.Status {
	case "sold_out":
		return fsToldSoldOut, true, ""
	case "admitted":
	default:
		return fsBad, true, "ticket status " + tk.Status
	}
	r, gaveUp, why = sh.checkout(sku, c, "buy-"+c.ID, tk.Token)
	switch {
	case why != "":
		return fsBad, true, why
	case gaveUp:
		return fsGaveUp, true, ""
	case r.code == http.StatusCreated || r.code == http.StatusAccepted:
		return fsWon, true, ""
	case r.code == http.StatusConflict && r.problemType() == "out-of-stock":
		return fsRefusedStock, true, ""
	}
	return fsBad, true, fmt.Sprintf("checkout: %d %s", r.code, r.body)
}

// TestFlashSaleCrowd sends 2,000 buyers, each a customer of their own, for
// 100 units of one SKU in flash-sale mode behind a waiting room: exactly
// 100 are sold, none oversold, every loser is told sold out (by the queue
// or a 409) or was still being held off with 429/503 and Retry-After, no
// other 5xx, and the audit passes. Not parallel: it is the heaviest test.
func TestFlashSaleCrowd(t *testing.T) {
	const buyers, units = 2000, 100
	eachEngine(t, func(t *testing.T, env map[string]string) {
		// One test process stands for all the buyers.
		env["SURGE_RATE_LIMITS"] = "off"
		env["SURGE_MAX_CONNS_PER_CLIENT"] = "100000"
		s := startSurge(t, env)
		sh := fsNewShop(t, s, "crowd", nil)
		sh.product(t, "HOT", units)
		setup := time.Now()
		custs := sh.customers(t, buyers)
		t.Logf("%d customers registered in %s", buyers, time.Since(setup).Round(time.Millisecond))
		// The admission clock starts here: as many as there are units at
		// once, then 50 a second. The units go to the first admitted; most
		// of the rest learn from the waiting room that it is sold out (a
		// cheap read) instead of all trying checkout (a write). Retry-After
		// of those still waiting is at most 30 s, which bounds the test.
		sh.sale(t, "HOT", fmt.Sprintf(`{"stock":%d,"per_customer_limit":1,"admission_burst":%d,"admission_rate":50}`, units, units))

		var counts [fsOutcomes]atomic.Int64
		var joined atomic.Int64
		var mu sync.Mutex
		var bad []string
		start := time.Now()
		var wg sync.WaitGroup
		for _, c := range custs {
			wg.Go(func() {
				out, j, why := fsBuy(sh, "HOT", c)
				counts[out].Add(1)
				if j {
					joined.Add(1)
				}
				if why != "" {
					mu.Lock()
					bad = append(bad, why)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		t.Logf("%d buyers in %s: won %d, told sold out %d, refused out-of-stock %d, gave up on 429/503 %d, bad %d",
			buyers, time.Since(start).Round(time.Millisecond), counts[fsWon].Load(), counts[fsToldSoldOut].Load(),
			counts[fsRefusedStock].Load(), counts[fsGaveUp].Load(), counts[fsBad].Load())
		if len(bad) > 0 {
			fsLogErrors(t, s)
			t.Fatalf("%d buyers got an answer no client should get, e.g. %q", len(bad), bad[:min(len(bad), 5)])
		}
		if won := counts[fsWon].Load(); won != units {
			t.Fatalf("%d buyers won, want exactly %d", won, units)
		}

		sh.waitLevel(t, "HOT", stockLevel{Received: units, Available: 0, Reserved: 0, Sold: units})
		r := sh.must(t, http.StatusOK, "GET", sh.url("/admin/sales/HOT"), sh.key, "")
		var sale struct {
			Stock            int64     `json:"stock"`
			PerCustomerLimit int64     `json:"per_customer_limit"`
			SoldOutAt        time.Time `json:"sold_out_at"`
		}
		if err := json.Unmarshal([]byte(r.body), &sale); err != nil || sale.Stock != units || sale.PerCustomerLimit != 1 || sale.SoldOutAt.IsZero() {
			t.Fatalf("sale after the crowd: %s", r.body)
		}
		if v := fsFigure(t, sh, "HOT", "units_left"); v != 0 {
			t.Fatalf("units_left = %v after selling out", v)
		}
		if v := fsFigure(t, sh, "HOT", "queue_length"); int64(v) != joined.Load() {
			t.Fatalf("queue_length = %v, %d buyers joined", v, joined.Load())
		}
		requireAudit(t, s.URL, s.AdminKey)
	})
}
