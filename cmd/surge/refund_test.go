package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	psp "github.com/surge-commerce/surge/internal/payment/simulator"
)

// A shop's refund decides at once and owes the money until the provider
// confirms it: with the provider down the order is refunded (never to be
// fulfilled), the refund is retried, and once the provider answers again
// the audit finds the money back — on both engines.
func TestRefundIsOwedUntilConfirmed(t *testing.T) {
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			sim := ckStartPSP(t, psp.Faults{})
			env := ckLoadEnv(eng.env(t))
			env["SURGE_PSP_URL"] = sim.URL()
			env["SURGE_RECONCILE_INTERVAL"] = "200ms"
			s := startSurge(t, env)
			shop := newShop(t, s.URL, s.AdminKey, "refunds")
			shop.product(t, "TEE", 10, 0)
			token := shop.customers(t, 1)[0]
			r := ckCheckout(s.URL, "refunds", token, "k-1", ckItems("TEE", 1), false, nil)
			if r.code != http.StatusCreated {
				t.Fatalf("checkout: %s", r)
			}
			order := r.orderID()
			if err := sim.SetFaults(psp.Faults{ErrorRate: 1}); err != nil {
				t.Fatal(err)
			}
			code, _, body := do(t, "POST", fmt.Sprintf("%s/v1/shops/refunds/admin/orders/%s/refund", s.URL, order), shop.key, "")
			if code != http.StatusOK || !strings.Contains(body, `"refunded"`) {
				t.Fatalf("refund with the provider down: %d %s", code, body)
			}
			code, _, body = do(t, "POST", fmt.Sprintf("%s/v1/shops/refunds/admin/orders/%s/fulfil", s.URL, order), shop.key, "")
			if code != http.StatusConflict {
				t.Fatalf("fulfil of a refunded order: %d %s", code, body)
			}
			// While the provider is down, the money is still owed.
			if owed := metric(t, s.URL, "surge_refunds_owed"); owed != 1 {
				t.Fatalf("refunds owed with the provider down: %v, want 1", owed)
			}
			if err := sim.SetFaults(psp.Faults{}); err != nil {
				t.Fatal(err)
			}
			requireAudit(t, s.URL, s.AdminKey)
		})
	}
}
