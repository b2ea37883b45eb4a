package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/customer"
	"github.com/surge-commerce/surge/internal/psp"
	"github.com/surge-commerce/surge/internal/testrig"
)

// ckStartPSP runs the payment simulator as its own HTTP server, the way a
// real provider sits outside Surge, so a test can turn its faults on and
// off while Surge runs.
func ckStartPSP(t *testing.T, f psp.Faults) *psp.Server {
	t.Helper()
	sim, err := psp.NewServer(psp.Config{Faults: f, MaxHang: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Stop)
	return sim
}

// ckLedger reads the simulator's whole ledger over its HTTP API.
func ckLedger(t *testing.T, sim *psp.Server) []psp.Payment {
	t.Helper()
	var all []psp.Payment
	after := ""
	for {
		u := sim.URL() + "/v1/ledger?limit=100"
		if after != "" {
			u += "&after=" + after
		}
		r := ckDo("GET", u, "", "")
		var page struct {
			Data []psp.Payment
			Next string
		}
		if r.code != http.StatusOK || json.Unmarshal([]byte(r.body), &page) != nil {
			t.Fatalf("ledger: %s", r)
		}
		all = append(all, page.Data...)
		if page.Next == "" {
			return all
		}
		after = page.Next
	}
}

// awaitSettled polls until no order of the shop is pending_payment and
// returns the orders.
func (s ckShop) awaitSettled(t *testing.T) []ckOrder {
	t.Helper()
	var orders []ckOrder
	testrig.Eventually(t, "no order still pending_payment", func() bool {
		orders = s.orders(t, "")
		return !slices.ContainsFunc(orders, func(o ckOrder) bool { return o.Status == "pending_payment" })
	})
	return orders
}

// TestCheckoutFaultyProvider runs a burst of checkouts against a provider
// failing 30% of calls, hanging 20% and losing 10% of its answers; once it
// heals, every order ends paid or cancelled, no order is captured twice,
// the stock adds up and the audit passes.
func TestCheckoutFaultyProvider(t *testing.T) {
	for _, eng := range ckEngines {
		t.Run(eng.name, func(t *testing.T) {
			sim := ckStartPSP(t, psp.Faults{ErrorRate: 0.3, TimeoutRate: 0.2, DropResponseRate: 0.1})
			env := ckLoadEnv(eng.env(t))
			env["SURGE_PSP_URL"] = sim.URL()
			env["SURGE_CHARGE_BUDGET"] = "2s"
			env["SURGE_RECONCILE_INTERVAL"] = "200ms"
			s := startSurge(t, env)
			shop := ckNewShop(t, s.URL, s.AdminKey, "faulty")
			shop.product(t, "TEE", 1000, 0)
			const n = 100
			tokens := shop.customers(t, n)

			answers := make([]ckResp, n)
			var wg sync.WaitGroup
			sem := make(chan struct{}, 25) // a burst, not a stampede: the faults are the point
			for i := range n {
				sem <- struct{}{}
				wg.Go(func() {
					defer func() { <-sem }()
					answers[i] = ckCheckout(s.URL, "faulty", tokens[i], fmt.Sprintf("k-%d", i), ckItems("TEE", 1), false, nil)
				})
			}
			wg.Wait()
			acked := map[string]bool{}
			codes := map[int]int{}
			for i, r := range answers {
				codes[r.code]++
				switch {
				case r.err == nil && (r.code == http.StatusCreated || r.code == http.StatusAccepted):
					acked[r.ckOrderID()] = true
				case r.err == nil && r.code == http.StatusPaymentRequired:
					acked[r.ckOrderID()] = true // declined: cancelled, still an order
				default:
					t.Fatalf("checkout %d: %s, want 201, 202 or 402", i, r)
				}
			}
			t.Logf("answers during the faults: %v", codes)
			if len(acked) != n {
				t.Fatalf("%d distinct orders acknowledged, want %d", len(acked), n)
			}

			if err := sim.SetFaults(psp.Faults{}); err != nil {
				t.Fatal(err)
			}
			orders := shop.awaitSettled(t)
			if len(orders) != n {
				t.Fatalf("%d orders, want %d", len(orders), n)
			}
			paid := map[string]bool{}
			for _, o := range orders {
				if !acked[o.ID] {
					t.Fatalf("order %s was never acknowledged", o.ID)
				}
				switch o.Status {
				case "paid":
					paid[o.ID] = true
				case "cancelled":
				default:
					t.Fatalf("order %s ended %s, want paid or cancelled", o.ID, o.Status)
				}
			}
			captures := map[string]int{}
			for _, p := range ckLedger(t, sim) {
				if p.Status == psp.StatusCaptured {
					captures[p.MerchantReference]++
				}
			}
			for id, c := range captures {
				if c > 1 || !paid[id] {
					t.Fatalf("order %s: %d captures, paid=%v; want one capture per paid order", id, c, paid[id])
				}
			}
			if len(captures) != len(paid) {
				t.Fatalf("%d captured orders in the ledger, %d paid orders", len(captures), len(paid))
			}
			l := shop.level(t, "TEE")
			if l.Sold != int64(len(paid)) || l.Reserved != 0 || l.Available != 1000-l.Sold {
				t.Fatalf("inventory %+v with %d paid orders", l, len(paid))
			}
			t.Logf("%d paid, %d cancelled", len(paid), n-len(paid))
			requireAudit(t, s.URL, s.AdminKey)
		})
	}
}

// TestCheckoutSurvivesSIGKILL kills Surge with SIGKILL in the middle of a
// checkout burst and restarts it on the same data: every order that was
// acknowledged exists, every client retrying with its key gets its
// original order back (or, if it never got an answer, exactly one order),
// and the audit passes.
func TestCheckoutSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	for _, eng := range ckEngines {
		t.Run(eng.name, func(t *testing.T) {
			env := ckLoadEnv(eng.env(t))
			env["SURGE_DATA"] = t.TempDir()
			env["SURGE_CHARGE_BUDGET"] = "2s"
			env["SURGE_RECONCILE_INTERVAL"] = "200ms"
			p := startProcess(t, env)
			shop := ckNewShop(t, p.URL, p.AdminKey, "crash")
			shop.product(t, "TEE", 100000, 0)
			const workers = 30
			tokens := shop.customers(t, workers)

			// Each worker checks out again and again until the server dies;
			// it remembers every key it sent and every order acknowledged.
			type attempt struct {
				token, key, order string
			}
			var mu sync.Mutex
			var attempts []*attempt
			ackedCount := 0
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					for i := range 1000 {
						a := &attempt{token: tokens[w], key: fmt.Sprintf("w%d-%d", w, i)}
						mu.Lock()
						attempts = append(attempts, a)
						mu.Unlock()
						r := ckCheckout(p.URL, "crash", a.token, a.key, ckItems("TEE", 1), false, nil)
						if r.err != nil {
							return // the server is gone
						}
						if r.code != http.StatusCreated && r.code != http.StatusAccepted {
							t.Errorf("checkout before the kill: %s", r)
							return
						}
						mu.Lock()
						a.order = r.ckOrderID()
						ackedCount++
						mu.Unlock()
					}
				})
			}
			testrig.Eventually(t, "60 acknowledged checkouts", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return ackedCount >= 60
			})
			p.Kill(t)
			wg.Wait()
			if t.Failed() {
				return
			}

			p = startProcess(t, env)
			shop.base = p.URL
			ids := map[string]bool{}
			for _, a := range attempts {
				r := ckCheckout(p.URL, "crash", a.token, a.key, ckItems("TEE", 1), true, nil)
				if r.code != http.StatusCreated && r.code != http.StatusAccepted {
					t.Fatalf("retry of %s after the restart: %s", a.key, r)
				}
				id := r.ckOrderID()
				if a.order != "" && id != a.order {
					t.Fatalf("retry of %s: order %s, acknowledged before the kill as %s", a.key, id, a.order)
				}
				if ids[id] {
					t.Fatalf("order %s answered for two keys", id)
				}
				ids[id] = true
				if a.order != "" {
					if g := ckDo("GET", p.URL+"/v1/shops/crash/admin/orders/"+id, shop.key, ""); g.code != http.StatusOK {
						t.Fatalf("acknowledged order %s: %s", id, g)
					}
				}
			}
			orders := shop.awaitSettled(t)
			if len(orders) != len(attempts) {
				t.Fatalf("%d orders for %d keys, want one each", len(orders), len(attempts))
			}
			t.Logf("%d keys, %d acknowledged before the kill", len(attempts), ackedCount)
			requireAudit(t, p.URL, p.AdminKey)
		})
	}
}

// TestCheckoutExpiredReservationsReturn holds the provider down so orders
// stay pending_payment with their stock reserved; once the reservations
// expire the sweeper cancels the orders and the stock is on sale again.
func TestCheckoutExpiredReservationsReturn(t *testing.T) {
	for _, eng := range ckEngines {
		t.Run(eng.name, func(t *testing.T) {
			// Every call fails before doing anything: no payment can exist.
			sim := ckStartPSP(t, psp.Faults{ErrorRate: 1})
			env := ckLoadEnv(eng.env(t))
			env["SURGE_PSP_URL"] = sim.URL()
			env["SURGE_RESERVATION_TTL"] = "7s" // longer than the charge budget plus its margin
			env["SURGE_CHARGE_BUDGET"] = "1s"
			env["SURGE_RECONCILE_INTERVAL"] = "200ms"
			s := startSurge(t, env)
			shop := ckNewShop(t, s.URL, s.AdminKey, "expiry")
			shop.product(t, "TEE", 10, 0)
			tokens := shop.customers(t, 4)
			var ids []string
			for i, tok := range tokens {
				r := ckCheckout(s.URL, "expiry", tok, "k", ckItems("TEE", 2), false, nil)
				if r.code != http.StatusAccepted || !strings.Contains(r.body, `"status":"pending_payment"`) {
					t.Fatalf("checkout %d with the provider down: %s, want 202 pending_payment", i, r)
				}
				ids = append(ids, r.ckOrderID())
			}
			// Reserved right after checkout, unless the sweeper already ran
			// on a very slow machine: then it must all be back.
			if l := shop.level(t, "TEE"); l.Available+l.Reserved != 10 || l.Sold != 0 {
				t.Fatalf("inventory while pending: %+v", l)
			}
			shop.awaitLevel(t, "TEE", func(l ckLevel) bool { return l.Available == 10 })
			if l := shop.level(t, "TEE"); l != (ckLevel{SKU: "TEE", Received: 10, Available: 10}) {
				t.Fatalf("inventory after expiry: %+v, want all 10 available", l)
			}
			for _, o := range shop.awaitSettled(t) {
				if o.Status != "cancelled" {
					t.Fatalf("order %s is %s after its reservation expired, want cancelled", o.ID, o.Status)
				}
			}
			if n := len(shop.orders(t, "cancelled")); n != len(ids) {
				t.Fatalf("%d cancelled orders, want %d", n, len(ids))
			}
			// The released stock sells again. The payment breaker may still
			// be open from the outage, leaving an order pending until its
			// short reservation lapses, so a buyer may need a few tries.
			if err := sim.SetFaults(psp.Faults{}); err != nil {
				t.Fatal(err)
			}
			testrig.Eventually(t, "the released stock to be bought and paid", func() bool {
				key := fmt.Sprintf("again-%d", time.Now().UnixNano())
				r := ckCheckout(s.URL, "expiry", tokens[0], key, ckItems("TEE", 10), false, nil)
				if r.code != http.StatusCreated && r.code != http.StatusAccepted && r.code != http.StatusConflict {
					t.Fatalf("buying the released stock: %s", r)
				}
				shop.awaitSettled(t)
				return shop.level(t, "TEE").Sold == 10
			})
			shop.awaitSettled(t)
			if l := shop.level(t, "TEE"); l.Sold != 10 || l.Available != 0 {
				t.Fatalf("inventory after buying it all: %+v", l)
			}
			requireAudit(t, s.URL, s.AdminKey)
		})
	}
}

// ckForgeExpired returns a customer token for the same shop and customer as
// tok, correctly signed with secret but expired an hour ago.
func ckForgeExpired(t *testing.T, tok, kid, secret string) string {
	t.Helper()
	body := strings.Split(strings.TrimPrefix(tok, "ct1."), ".")[0]
	raw, err := base64.RawURLEncoding.DecodeString(body)
	parts := strings.Split(string(raw), "|")
	if err != nil || len(parts) != 4 {
		t.Fatalf("token %q is not kid|shop|customer|expiry", raw)
	}
	shopID, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	past := func() time.Time { return time.Now().Add(-2 * time.Hour) }
	forged, _ := customer.NewTokens([]customer.Secret{{KID: kid, Secret: []byte(secret)}}, time.Hour, past).Issue(shopID, parts[2])
	return forged
}

// TestCheckoutBadInput sends the bad requests of issue 3 and checks each
// is refused with the right status and changes nothing: neither the stock
// nor the orders, not even a pending order a forged webhook claims paid.
func TestCheckoutBadInput(t *testing.T) {
	const kid, tokenSecret, hookSecret = "k1", "0123456789abcdef0123456789abcdef-test", "webhook-secret-for-the-test"
	sim := ckStartPSP(t, psp.Faults{})
	env := ckLoadEnv(map[string]string{})
	env["SURGE_PSP_URL"] = sim.URL()
	env["SURGE_PSP_WEBHOOK_SECRET"] = hookSecret
	env["SURGE_TOKEN_SECRETS"] = kid + ":" + tokenSecret
	env["SURGE_CHARGE_BUDGET"] = "1s"
	env["SURGE_RECONCILE_INTERVAL"] = "200ms"
	s := startSurge(t, env)
	shop := ckNewShop(t, s.URL, s.AdminKey, "bad")
	shop.product(t, "TEE", 10, 2)
	other := ckNewShop(t, s.URL, s.AdminKey, "other")
	other.product(t, "TEE", 10, 0)
	buyers := shop.customers(t, 2)
	tok := buyers[0]
	foreign := other.customers(t, 1)[0]

	// One paid order, and one left pending by a provider that is down.
	if r := ckCheckout(s.URL, "bad", tok, "paid", ckItems("TEE", 1), false, nil); r.code != http.StatusCreated {
		t.Fatalf("first checkout: %s", r)
	}
	if err := sim.SetFaults(psp.Faults{ErrorRate: 1}); err != nil {
		t.Fatal(err)
	}
	pending := ckCheckout(s.URL, "bad", buyers[1], "pending", ckItems("TEE", 1), false, nil)
	if pending.code != http.StatusAccepted {
		t.Fatalf("checkout with the provider down: %s, want 202", pending)
	}
	pendingID := pending.ckOrderID()
	wantLevel := ckLevel{SKU: "TEE", Received: 10, Available: 8, Reserved: 1, Sold: 1}
	if l := shop.level(t, "TEE"); l != wantLevel {
		t.Fatalf("inventory before the bad requests: %+v, want %+v", l, wantLevel)
	}
	wantOrders := fmt.Sprint(shop.orders(t, ""))

	checkout := func(token, body string) ckResp {
		return ckCheckout(s.URL, "bad", token, "bad-"+strconv.Itoa(int(time.Now().UnixNano())), body, false, nil)
	}
	event, _ := json.Marshal(psp.Event{ID: "evt_forged", Type: "payment.captured",
		Payment: psp.Payment{ID: "pay_forged", MerchantReference: pendingID, Amount: 1500, Currency: "EUR", Status: psp.StatusCaptured}})
	webhook := func(sig string) ckResp {
		return ckDo("POST", s.URL+"/v1/payments/webhook", "", string(event), psp.SignatureHeader, sig)
	}
	cases := []struct {
		name string
		send func() ckResp
		code int
		want string // in the body
	}{
		{"quantity 0", func() ckResp { return checkout(tok, ckItems("TEE", 0)) }, 422, "items[0].quantity"},
		{"negative quantity", func() ckResp { return checkout(tok, ckItems("TEE", -3)) }, 422, "items[0].quantity"},
		{"quantity above the cap", func() ckResp { return checkout(tok, ckItems("TEE", 1001)) }, 422, "items[0].quantity"},
		{"huge quantity", func() ckResp { return checkout(tok, ckItems("TEE", 1<<62)) }, 422, "items[0].quantity"},
		{"repeated lines above the cap", func() ckResp {
			return checkout(tok, `{"items":[{"sku":"TEE","quantity":600},{"sku":"TEE","quantity":600}]}`)
		}, 422, "TEE"},
		{"unknown SKU", func() ckResp {
			return checkout(tok, `{"items":[{"sku":"TEE","quantity":1},{"sku":"NOPE-7","quantity":1}]}`)
		}, 422, "NOPE-7"},
		{"purchase limit", func() ckResp { return checkout(tok, ckItems("TEE", 2)) }, 409, `"limit":2`},
		{"no token", func() ckResp { return checkout("", ckItems("TEE", 1)) }, 401, "problems/"},
		{"expired token", func() ckResp { return checkout(ckForgeExpired(t, tok, kid, tokenSecret), ckItems("TEE", 1)) }, 401, "token-expired"},
		{"token of another shop", func() ckResp { return checkout(foreign, ckItems("TEE", 1)) }, 403, "problems/"},
		{"tampered token", func() ckResp { return checkout(tok[:len(tok)-2]+"AA", ckItems("TEE", 1)) }, 401, "problems/"},
		{"webhook without signature", func() ckResp { return webhook("") }, 401, "problems/"},
		{"webhook signed with another secret", func() ckResp { return webhook(psp.Sign("not-the-secret", event, time.Now())) }, 401, "problems/"},
		{"webhook signature replayed an hour later", func() ckResp { return webhook(psp.Sign(hookSecret, event, time.Now().Add(-time.Hour))) }, 401, "problems/"},
	}
	for _, tc := range cases {
		r := tc.send()
		if r.code != tc.code || !strings.Contains(r.body, tc.want) {
			t.Errorf("%s: %s, want %d mentioning %q", tc.name, r, tc.code, tc.want)
		}
		if l := shop.level(t, "TEE"); l != wantLevel {
			t.Fatalf("%s changed the inventory: %+v, want %+v", tc.name, l, wantLevel)
		}
		if got := fmt.Sprint(shop.orders(t, "")); got != wantOrders {
			t.Fatalf("%s changed the orders:\n%s\nwant\n%s", tc.name, got, wantOrders)
		}
	}
	if l := other.level(t, "TEE"); l.Available != 10 {
		t.Fatalf("the other shop's stock moved: %+v", l)
	}

	// Healed, the provider's real answer completes the pending order.
	if err := sim.SetFaults(psp.Faults{}); err != nil {
		t.Fatal(err)
	}
	for _, o := range shop.awaitSettled(t) {
		if o.Status != "paid" {
			t.Fatalf("order %s ended %s, want paid", o.ID, o.Status)
		}
	}
	requireAudit(t, s.URL, s.AdminKey)
}
