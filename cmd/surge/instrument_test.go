package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// A purchase limit also counts per payment instrument: many customers
// paying with one card buy no more than one customer may, and nothing is
// charged for the refused; different cards each buy their own
// (docs/INVARIANTS.md, I11).
func TestPurchaseLimitPerPaymentInstrument(t *testing.T) {
	t.Parallel()
	s := startSurge(t, map[string]string{"SURGE_RATE_LIMITS": "off"}, "--demo")
	key := demoShopKey(t, s)
	if code, _, body := do(t, "PUT", s.URL+"/v1/shops/demo/admin/products/ONE-EACH", key,
		`{"title":"One each","description":"Limit one","price":2500,"currency":"EUR","stock":50,"purchase_limit":1}`); code/100 != 2 {
		t.Fatalf("product: %d %s", code, body)
	}
	buy := func(n int, card string) (int, string) {
		_, _, body := do(t, "POST", s.URL+"/v1/shops/demo/customers", "", "")
		var cu struct{ Token string }
		_ = json.Unmarshal([]byte(body), &cu)
		code, _, body := do(t, "POST", s.URL+"/v1/shops/demo/checkout", cu.Token,
			`{"items":[{"sku":"ONE-EACH","quantity":1}],"payment_method":"`+card+`"}`, "Idempotency-Key", fmt.Sprintf("card-%s-%d", card, n))
		return code, body
	}
	paid := 0
	for i := range 5 {
		code, body := buy(i, "pm_card_shared")
		switch {
		case code == 201:
			paid++
		case code == 409 && strings.Contains(body, "instrument-limit"):
		default:
			t.Fatalf("checkout %d with the shared card: %d %s", i, code, body)
		}
	}
	if paid != 1 {
		t.Fatalf("5 customers with one card bought %d units of a limit-1 product, want 1", paid)
	}
	for i := range 5 {
		if code, body := buy(i, fmt.Sprintf("pm_card_%d", i)); code != 201 {
			t.Fatalf("a customer with a card of their own: %d %s", code, body)
		}
	}
	if code, _, body := do(t, "POST", s.URL+"/v1/shops/demo/checkout", "", `{"items":[{"sku":"ONE-EACH","quantity":1}],"payment_method":"no spaces"}`,
		"Idempotency-Key", "bad-card"); code != 401 {
		t.Fatalf("no token: %d %s", code, body)
	}
	requireAudit(t, s.URL, s.AdminKey)
}
