package main

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/surge-commerce/surge/internal/testrig"
)

// TestCheckoutSurvivesSIGKILL kills Surge with SIGKILL in the middle of a
// checkout burst and restarts it on the same data: every order that was
// acknowledged exists, every client retrying with its key gets its
// original order back (or, if it never got an answer, exactly one order),
// and the audit passes.
func TestCheckoutSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			env := ckLoadEnv(eng.env(t))
			env["SURGE_DATA"] = t.TempDir()
			env["SURGE_CHARGE_BUDGET"] = "2s"
			env["SURGE_RECONCILE_INTERVAL"] = "200ms"
			p := startProcess(t, env)
			shop := newShop(t, p.URL, p.AdminKey, "crash")
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
						a.order = r.orderID()
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
				id := r.orderID()
				if a.order != "" && id != a.order {
					t.Fatalf("retry of %s: order %s, acknowledged before the kill as %s", a.key, id, a.order)
				}
				if ids[id] {
					t.Fatalf("order %s answered for two keys", id)
				}
				ids[id] = true
				if a.order != "" {
					if g := api.call("GET", p.URL+"/v1/shops/crash/admin/orders/"+id, shop.key, ""); g.code != http.StatusOK {
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
