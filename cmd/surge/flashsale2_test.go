package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/surge-commerce/surge/internal/testrig"
)

// TestFlashSalePerCustomerLimit sends 20 checkouts at once from one
// customer, each under its own Idempotency-Key, for a SKU limited to one
// per customer: exactly one unit is sold to them, the others get 409
// naming the limit, and another customer can still buy.
func TestFlashSalePerCustomerLimit(t *testing.T) {
	t.Parallel()
	fsEngines(t, func(t *testing.T, env map[string]string) {
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

		rs := make([]fsResp, 20)
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
				if json.Unmarshal(r.body, &p) != nil || p.Limit != 1 {
					t.Fatalf("purchase-limit problem without the limit: %s", r.body)
				}
			default:
				t.Fatalf("checkout %d: %d %s, want 201 once and 409 purchase-limit", i, r.code, r.body)
			}
		}
		if won < 0 {
			t.Fatal("none of the 20 checkouts sold the customer their one unit")
		}
		sh.waitLevel(t, "LTD", fsLevel{Received: 50, Available: 49, Reserved: 0, Sold: 1})

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
		sh.waitLevel(t, "LTD", fsLevel{Received: 50, Available: 48, Reserved: 0, Sold: 2})
		requireAudit(t, s.URL, s.AdminKey)
	})
}

// TestFlashSaleWaitingRoom checks the waiting room on one server: who
// joins before the start is in a pre-queue and gets a random place at the
// start, ahead of later arrivals; places are admitted in order; a ticket
// is useless to anyone but its customer; when the stock is gone every
// waiting buyer's next poll says sold out; the sale events reach the
// broker and the sale gauges reach /metrics.
func TestFlashSaleWaitingRoom(t *testing.T) {
	t.Parallel()
	broker := testrig.StartNATS(t) // a broker of its own, so the test can read the SALES stream
	s := startSurge(t, map[string]string{"SURGE_RATE_LIMITS": "off", "SURGE_NATS_URL": broker.URL()})
	sh := fsNewShop(t, s, "room", nil)

	t.Run("pre-queue, then in order", func(t *testing.T) {
		const n = 15
		sh.product(t, "FIFO", 100)
		custs := sh.customers(t, n+1)
		early, late := custs[:n], custs[n]
		// Nobody is let in before the start; then 5 a second.
		startsAt := time.Now().Add(5 * time.Second)
		sh.sale(t, "FIFO", `{"stock":100,"starts_at":"`+startsAt.UTC().Format(time.RFC3339Nano)+`","admission_burst":0,"admission_rate":5}`)
		tickets := make([]fsTicket, n)
		round := make([]int, n) // polling round in which each buyer was first seen admitted
		for i, c := range early {
			tk, r := sh.join(t, "FIFO", c)
			if time.Now().Before(startsAt) && (tk.Position != 0 || tk.Status != "waiting" || !strings.Contains(string(r.body), `"pre_queue":true`)) {
				t.Fatalf("buyer %d joined before the start: %s, want the pre-queue", i+1, r.body)
			}
			tickets[i], round[i] = tk, -1
		}
		if time.Now().After(startsAt) {
			t.Fatalf("15 joins took over 5 s: the pre-queue closed before the last")
		}
		testrig.Eventually(t, "the sale to start", func() bool { return time.Now().After(startsAt) })
		// After the start: a late arrival queues behind the whole pre-queue.
		if tk, _ := sh.join(t, "FIFO", late); tk.Position <= n {
			t.Fatalf("a buyer arriving after the start got place %d, ahead of the pre-queue of %d", tk.Position, n)
		}

		// Poll everyone still waiting, round after round.
		places := map[int64]int{}
		var lastUpTo int64
		r := 0
		testrig.Eventually(t, "every early buyer admitted", func() bool {
			r++
			for i, c := range early {
				if round[i] >= 0 {
					continue
				}
				res := sh.must(t, http.StatusOK, "GET", sh.url("/sales/FIFO/queue"), c.Token, "", "Surge-Queue-Ticket", tickets[i].Token)
				var tk fsTicket
				if err := json.Unmarshal(res.body, &tk); err != nil {
					t.Fatal(err)
				}
				if tk.Position < 1 || tk.Position > n || (tickets[i].Position != 0 && tk.Position != tickets[i].Position) ||
					tk.AdmittedUpTo < lastUpTo || (tk.Status == "admitted") != (tk.Position <= tk.AdmittedUpTo) {
					t.Fatalf("inconsistent ticket after admitted_up_to %d: %s", lastUpTo, res.body)
				}
				if other, taken := places[tk.Position]; taken && other != i {
					t.Fatalf("place %d given to buyers %d and %d", tk.Position, other+1, i+1)
				}
				places[tk.Position] = i
				tickets[i] = tk
				lastUpTo = tk.AdmittedUpTo
				if tk.Status == "admitted" {
					round[i] = r
				}
			}
			return !slices.Contains(round, -1)
		})
		if len(places) != n {
			t.Fatalf("%d places for %d buyers of the pre-queue", len(places), n)
		}
		// Admitted in the order of the places the start gave, within one
		// polling round.
		for i := range n {
			for j := range n {
				if tickets[i].Position < tickets[j].Position && round[i] > round[j]+1 {
					t.Fatalf("place %d admitted in round %d, after place %d in round %d", tickets[i].Position, round[i], tickets[j].Position, round[j])
				}
			}
		}
		t.Logf("places in join order: %v", func() []int64 {
			out := make([]int64, n)
			for i := range n {
				out[i] = tickets[i].Position
			}
			return out
		}())
	})

	t.Run("ticket bound to its customer", func(t *testing.T) {
		sh.product(t, "LATER", 10)
		later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		sh.sale(t, "LATER", `{"stock":10,"starts_at":"`+later+`","admission_burst":0,"admission_rate":1}`)
		custs := sh.customers(t, 2)
		a, b := custs[0], custs[1]
		tk, r := sh.join(t, "LATER", a)
		if tk.Status != "waiting" || tk.Position != 0 || r.header.Get("Retry-After") != "30" {
			t.Fatalf("ticket an hour before the sale: %v %s", r.header, r.body)
		}
		expect := func(what string, want int, typ string, r fsResp, gaveUp bool, why string) {
			t.Helper()
			if why != "" || gaveUp || r.code != want || (typ != "" && r.problemType() != typ) {
				t.Fatalf("%s: %d %s %s, want %d %s", what, r.code, r.body, why, want, typ)
			}
		}
		// Checkout by a client that stops on the first answer.
		raw := func(c fsCustomer, key, ticket string) (fsResp, bool, string) {
			r, err := sh.c.call("POST", sh.url("/checkout"), c.Token, `{"items":[{"sku":"LATER","quantity":1}]}`,
				"Idempotency-Key", key, "Surge-Queue-Ticket", ticket)
			if err != nil {
				return r, false, err.Error()
			}
			return r, false, ""
		}
		r, gaveUp, why := raw(a, "a-early", tk.Token)
		expect("own ticket before the sale", http.StatusConflict, "sale-not-started", r, gaveUp, why)
		r, gaveUp, why = raw(a, "a-none", "")
		expect("checkout without a ticket", http.StatusForbidden, "queue-ticket-required", r, gaveUp, why)
		r, gaveUp, why = raw(b, "b-stolen", tk.Token)
		expect("checkout with another customer's ticket", http.StatusForbidden, "queue-ticket-required", r, gaveUp, why)
		r, gaveUp, why = sh.send("GET", sh.url("/sales/LATER/queue"), b.Token, "", "Surge-Queue-Ticket", tk.Token)
		expect("status with another customer's ticket", http.StatusForbidden, "", r, gaveUp, why)
		r, gaveUp, why = sh.send("GET", sh.url("/sales/FIFO/queue"), a.Token, "", "Surge-Queue-Ticket", tk.Token)
		expect("status with a ticket of another sale", http.StatusForbidden, "", r, gaveUp, why)
		forged := tk.Token[:len(tk.Token)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(tk.Token, "AA")]
		r, gaveUp, why = sh.send("GET", sh.url("/sales/LATER/queue"), a.Token, "", "Surge-Queue-Ticket", forged)
		expect("status with a forged ticket", http.StatusUnauthorized, "", r, gaveUp, why)

		// Nothing changed: no unit moved and B never joined.
		if l := sh.level(t, "LATER"); l != (fsLevel{Received: 10, Available: 10}) {
			t.Fatalf("inventory after refused checkouts: %+v", l)
		}
		if v := fsFigure(t, sh, "LATER", "queue_length"); v != 1 {
			t.Fatalf("queue_length = %v, want 1", v)
		}
	})

	t.Run("sold out wakes everybody", func(t *testing.T) {
		const n = 13
		sh.product(t, "LAST", 3)
		// Three are admitted at once, the others at one a second.
		sh.sale(t, "LAST", `{"stock":3,"per_customer_limit":1,"admission_burst":3,"admission_rate":1}`)
		custs := sh.customers(t, n+1)
		tickets := make([]fsTicket, n)
		for i := range n {
			tickets[i], _ = sh.join(t, "LAST", custs[i])
			if tickets[i].Position != int64(i+1) || (i < 3 && tickets[i].Status != "admitted") {
				t.Fatalf("join %d: %+v", i+1, tickets[i])
			}
		}
		for i := range 3 {
			if r, gaveUp, why := sh.checkout("LAST", custs[i], "last", tickets[i].Token); why != "" || gaveUp ||
				(r.code != http.StatusCreated && r.code != http.StatusAccepted) {
				t.Fatalf("admitted buyer %d: %d %s %s", i+1, r.code, r.body, why)
			}
		}
		sh.waitLevel(t, "LAST", fsLevel{Received: 3, Sold: 3})
		// Everyone still in line learns it on their very next poll.
		for i := 3; i < n; i++ {
			r := sh.must(t, http.StatusOK, "GET", sh.url("/sales/LAST/queue"), custs[i].Token, "", "Surge-Queue-Ticket", tickets[i].Token)
			var tk fsTicket
			if json.Unmarshal(r.body, &tk) != nil || tk.Status != "sold_out" || tk.RetryAfter != 0 || r.header.Get("Retry-After") != "" {
				t.Fatalf("buyer %d after the sell-out: %v %s", i+1, r.header, r.body)
			}
		}
		if tk, _ := sh.join(t, "LAST", custs[n]); tk.Status != "sold_out" {
			t.Fatalf("a newcomer after the sell-out: %+v", tk)
		}
		for name, want := range map[string]float64{"units_left": 0, "queue_length": n + 1, "admission_rate": 1} {
			if v := fsFigure(t, sh, "LAST", name); v != want {
				t.Fatalf("%s = %v, want %v", name, v, want)
			}
		}
		requireAudit(t, s.URL, s.AdminKey)
	})

	t.Run("sale events", func(t *testing.T) {
		nc, err := nats.Connect(broker.URL(), nats.Timeout(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		// Three sales opened, one sold out, each announced once.
		want := map[string]uint64{"surge.room.sale.opened": 3, "surge.room.sale.sold_out": 1}
		var got map[string]uint64
		testrig.Eventually(t, "the sale events in the SALES stream", func() bool {
			st, err := js.Stream(ctx, "SALES")
			if err != nil {
				return false
			}
			info, err := st.Info(ctx, jetstream.WithSubjectFilter("surge.room.sale.>"))
			if err != nil {
				return false
			}
			got = info.State.Subjects
			return got["surge.room.sale.sold_out"] >= 1 && got["surge.room.sale.opened"] >= 3
		})
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("SALES stream subjects %v, want %v", got, want)
		}
		st, _ := js.Stream(ctx, "SALES")
		msg, err := st.GetLastMsgForSubject(ctx, "surge.room.sale.sold_out")
		if err != nil {
			t.Fatal(err)
		}
		var ev struct {
			Type string
			Data struct{ SKU string }
		}
		if json.Unmarshal(msg.Data, &ev) != nil || ev.Type != "sale.sold_out" || ev.Data.SKU != "LAST" {
			t.Fatalf("sold-out event: %s", msg.Data)
		}
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
	hammer := func(what, limit string, send func(i int) (fsResp, error), ok func(fsResp) bool) {
		t.Helper()
		var limited atomic.Int64
		errs := make(chan string, 80)
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := w * 10; i < w*10+10; i++ {
					r, err := send(i)
					switch {
					case err != nil:
						errs <- err.Error()
					case r.code == http.StatusTooManyRequests:
						var p struct{ Limit string }
						_ = json.Unmarshal(r.body, &p)
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
	hammer("queue joins by one customer", "customer", func(int) (fsResp, error) {
		return sh.c.call("POST", sh.url("/sales/BOT/queue"), bot.Token, "", "X-Forwarded-For", fresh())
	}, func(r fsResp) bool { return r.code == http.StatusOK })

	// Many customers check out from one address: the IP cap. Each farm
	// customer has an admitted ticket, got from an address of its own.
	tickets := make([]string, len(farm))
	for i, c := range farm {
		tk, _ := sh.join(t, "BOT", c)
		tickets[i] = tk.Token
	}
	var sold atomic.Int64
	hammer("checkouts from one address", "ip", func(i int) (fsResp, error) {
		c := i % len(farm)
		return sh.c.call("POST", sh.url("/checkout"), farm[c].Token, `{"items":[{"sku":"BOT","quantity":1}]}`,
			"Idempotency-Key", fmt.Sprintf("farm-%d", i), "Surge-Queue-Ticket", tickets[c], "X-Forwarded-For", "203.0.113.66")
	}, func(r fsResp) bool {
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
	sh.waitLevel(t, "BOT", fsLevel{Received: 1000, Available: 1000 - sold.Load() - 1, Sold: sold.Load() + 1})
	requireAudit(t, s.URL, s.AdminKey)
}
