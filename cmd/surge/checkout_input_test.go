package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/customer"
	psp "github.com/surge-commerce/surge/internal/payment/simulator"
)

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
	shop := newShop(t, s.URL, s.AdminKey, "bad")
	shop.product(t, "TEE", 10, 2)
	other := newShop(t, s.URL, s.AdminKey, "other")
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
	pendingID := pending.orderID()
	wantLevel := stockLevel{SKU: "TEE", Received: 10, Available: 8, Reserved: 1, Sold: 1}
	if l := shop.level(t, "TEE"); l != wantLevel {
		t.Fatalf("inventory before the bad requests: %+v, want %+v", l, wantLevel)
	}
	wantOrders := fmt.Sprint(shop.orders(t, ""))

	checkout := func(token, body string) reply {
		return ckCheckout(s.URL, "bad", token, "bad-"+strconv.Itoa(int(time.Now().UnixNano())), body, false, nil)
	}
	event, _ := json.Marshal(psp.Event{ID: "evt_forged", Type: "payment.captured",
		Payment: psp.Payment{ID: "pay_forged", MerchantReference: pendingID, Amount: 1500, Currency: "EUR", Status: psp.StatusCaptured}})
	webhook := func(sig string) reply {
		return api.call("POST", s.URL+"/v1/payments/webhook", "", string(event), psp.SignatureHeader, sig)
	}
	cases := []struct {
		name string
		send func() reply
		code int
		want string // in the body
	}{
		{"quantity 0", func() reply { return checkout(tok, ckItems("TEE", 0)) }, 422, "items[0].quantity"},
		{"negative quantity", func() reply { return checkout(tok, ckItems("TEE", -3)) }, 422, "items[0].quantity"},
		{"quantity above the cap", func() reply { return checkout(tok, ckItems("TEE", 1001)) }, 422, "items[0].quantity"},
		{"huge quantity", func() reply { return checkout(tok, ckItems("TEE", 1<<62)) }, 422, "items[0].quantity"},
		{"repeated lines above the cap", func() reply {
			return checkout(tok, `{"items":[{"sku":"TEE","quantity":600},{"sku":"TEE","quantity":600}]}`)
		}, 422, "TEE"},
		{"unknown SKU", func() reply {
			return checkout(tok, `{"items":[{"sku":"TEE","quantity":1},{"sku":"NOPE-7","quantity":1}]}`)
		}, 422, "NOPE-7"},
		{"purchase limit", func() reply { return checkout(tok, ckItems("TEE", 2)) }, 409, `"limit":2`},
		{"no token", func() reply { return checkout("", ckItems("TEE", 1)) }, 401, "problems/"},
		{"expired token", func() reply { return checkout(ckForgeExpired(t, tok, kid, tokenSecret), ckItems("TEE", 1)) }, 401, "token-expired"},
		{"token of another shop", func() reply { return checkout(foreign, ckItems("TEE", 1)) }, 403, "problems/"},
		{"tampered token", func() reply { return checkout(tok[:len(tok)-2]+"AA", ckItems("TEE", 1)) }, 401, "problems/"},
		{"webhook without signature", func() reply { return webhook("") }, 401, "problems/"},
		{"webhook signed with another secret", func() reply { return webhook(psp.Sign("not-the-secret", event, time.Now())) }, 401, "problems/"},
		{"webhook signature replayed an hour later", func() reply { return webhook(psp.Sign(hookSecret, event, time.Now().Add(-time.Hour))) }, 401, "problems/"},
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
