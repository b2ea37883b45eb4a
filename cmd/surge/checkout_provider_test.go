package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	psp "github.com/surge-commerce/surge/internal/payment/simulator"
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
		r := api.call("GET", u, "", "")
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
func (s shop) awaitSettled(t *testing.T) []ckOrder {
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
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			sim := ckStartPSP(t, psp.Faults{ErrorRate: 0.3, TimeoutRate: 0.2, DropResponseRate: 0.1})
			env := ckLoadEnv(eng.env(t))
			env["SURGE_PSP_URL"] = sim.URL()
			env["SURGE_CHARGE_BUDGET"] = "2s"
			env["SURGE_RECONCILE_INTERVAL"] = "200ms"
			s := startSurge(t, env)
			shop := newShop(t, s.URL, s.AdminKey, "faulty")
			shop.product(t, "TEE", 1000, 0)
			const n = 100
			tokens := shop.customers(t, n)

			answers := make([]reply, n)
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
					acked[r.orderID()] = true
				case r.err == nil && r.code == http.StatusPaymentRequired:
					acked[r.orderID()] = true // declined: cancelled, still an order
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

// TestCheckoutExpiredReservationsReturn holds the provider down so orders
// stay pending_payment with their stock reserved; once the reservations
// expire the sweeper cancels the orders and the stock is on sale again.
func TestCheckoutExpiredReservationsReturn(t *testing.T) {
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			// Every call fails before doing anything: no payment can exist.
			sim := ckStartPSP(t, psp.Faults{ErrorRate: 1})
			env := ckLoadEnv(eng.env(t))
			env["SURGE_PSP_URL"] = sim.URL()
			env["SURGE_RESERVATION_TTL"] = "7s" // longer than the charge budget plus its margin
			env["SURGE_CHARGE_BUDGET"] = "1s"
			env["SURGE_RECONCILE_INTERVAL"] = "200ms"
			s := startSurge(t, env)
			shop := newShop(t, s.URL, s.AdminKey, "expiry")
			shop.product(t, "TEE", 10, 0)
			tokens := shop.customers(t, 4)
			var ids []string
			for i, tok := range tokens {
				r := ckCheckout(s.URL, "expiry", tok, "k", ckItems("TEE", 2), false, nil)
				if r.code != http.StatusAccepted || !strings.Contains(r.body, `"status":"pending_payment"`) {
					t.Fatalf("checkout %d with the provider down: %s, want 202 pending_payment", i, r)
				}
				ids = append(ids, r.orderID())
			}
			// Reserved right after checkout, unless the sweeper already ran
			// on a very slow machine: then it must all be back.
			if l := shop.level(t, "TEE"); l.Available+l.Reserved != 10 || l.Sold != 0 {
				t.Fatalf("inventory while pending: %+v", l)
			}
			shop.awaitLevel(t, "TEE", func(l stockLevel) bool { return l.Available == 10 })
			if l := shop.level(t, "TEE"); l != (stockLevel{SKU: "TEE", Received: 10, Available: 10}) {
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
