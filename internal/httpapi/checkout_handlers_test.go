package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	psp "github.com/surge-commerce/surge/internal/payment/simulator"
)

func TestCheckoutHandlers(t *testing.T) {
	t.Parallel()
	eachEngine(t, nil, func(t *testing.T, r *rig) {
		key := r.newShop("acme")
		r.newShop("other")
		r.newProduct("acme", key, "TEE", 3)
		_, token := r.newCustomer("acme")
		_, otherToken := r.newCustomer("other")
		const co = "POST /v1/shops/{shop}/checkout"
		const path = "/v1/shops/acme/checkout"
		idem := func(k string) map[string]string { return map[string]string{"Idempotency-Key": k} }
		one := `{"items":[{"sku":"TEE","quantity":1}]}`
		var location, firstBody string
		r.run(t, []row{
			{name: "pays", route: co, method: "POST", path: path, token: token, header: idem(`"k1"`), body: one,
				status: http.StatusCreated, want: map[string]any{"order.status": "paid", "order.total": 1500, "order.currency": "EUR",
					"order.lines": []any{map[string]any{"sku": "TEE", "title": "Product TEE", "quantity": 1, "unit_price": 1500}}},
				check: func(t *testing.T, res *httptest.ResponseRecorder) {
					location, firstBody = res.Header().Get("Location"), res.Body.String()
					if !strings.HasPrefix(location, "/v1/shops/acme/orders/ord_") || res.Header().Get("Idempotent-Replayed") != "" {
						t.Errorf("Location %q, Idempotent-Replayed %q", location, res.Header().Get("Idempotent-Replayed"))
					}
					header("Cache-Control", "no-store")(t, res)
				}},
			{name: "replays the same key", route: co, method: "POST", path: path, token: token, header: idem(`"k1"`), body: one,
				status: http.StatusCreated, check: func(t *testing.T, res *httptest.ResponseRecorder) {
					header("Idempotent-Replayed", "true")(t, res)
					header("Location", location)(t, res)
					if res.Body.String() != firstBody {
						t.Errorf("replay body %s, first %s", res.Body, firstBody)
					}
				}},
			{name: "the key with another body", route: co, method: "POST", path: path, token: token, header: idem(`"k1"`),
				body: `{"items":[{"sku":"TEE","quantity":2}]}`, status: http.StatusUnprocessableEntity, problem: "idempotency-key-reused"},
			{name: "no key", route: co, method: "POST", path: path, token: token, body: one,
				status: http.StatusBadRequest, problem: "idempotency-key-missing"},
			{name: "a key with a space", route: co, method: "POST", path: path, token: token, header: idem("a b"), body: one,
				status: http.StatusBadRequest, problem: "idempotency-key-invalid"},
			{name: "no token", route: co, method: "POST", path: path, header: idem("k2"), body: one,
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "a shop key", route: co, method: "POST", path: path, token: key, header: idem("k2"), body: one,
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "another shop's token", route: co, method: "POST", path: path, token: otherToken, header: idem("k2"), body: one,
				status: http.StatusForbidden, problem: "forbidden"},
			{name: "an unknown shop", route: co, method: "POST", path: "/v1/shops/nope/checkout", token: token, header: idem("k2"), body: one,
				status: http.StatusNotFound, problem: "shop-not-found"},
			{name: "malformed", route: co, method: "POST", path: path, token: token, header: idem("k2"), body: `{"items":[`,
				status: http.StatusBadRequest, problem: "malformed-json"},
			{name: "an unknown field", route: co, method: "POST", path: path, token: token, header: idem("k2"),
				body: `{"items":[{"sku":"TEE","quantity":1}],"total":0}`, status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("total")},
			{name: "no items", route: co, method: "POST", path: path, token: token, header: idem("k2"), body: `{}`,
				status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("items")},
			{name: "items and a cart", route: co, method: "POST", path: path, token: token, header: idem("k2"),
				body: `{"items":[{"sku":"TEE","quantity":1}],"cart_id":"cart_x"}`, status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("items")},
			{name: "a zero quantity", route: co, method: "POST", path: path, token: token, header: idem("k2"),
				body: `{"items":[{"sku":"TEE","quantity":0}]}`, status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("items[0].quantity")},
			{name: "an unknown cart", route: co, method: "POST", path: path, token: token, header: idem("k2"),
				body: `{"cart_id":"cart_nope"}`, status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("cart_id")},
			{name: "more than the stock", route: co, method: "POST", path: path, token: token, header: idem("k3"),
				body: `{"items":[{"sku":"TEE","quantity":3}]}`, status: http.StatusConflict, problem: "out-of-stock", want: map[string]any{"sku": "TEE"}},
			{name: "an unknown sku", route: co, method: "POST", path: path, token: token, header: idem("k4"),
				body: `{"items":[{"sku":"NOPE","quantity":1}]}`, status: http.StatusUnprocessableEntity, problem: "validation", want: map[string]any{"sku": "NOPE"}, check: fieldErrors("items")},
			{name: "inventory after the refusals", route: "GET /v1/shops/{shop}/admin/inventory/{sku}", method: "GET",
				path: "/v1/shops/acme/admin/inventory/TEE", token: key, status: http.StatusOK,
				want: map[string]any{"available": 2, "reserved": 0, "sold": 1}},
		})

		// A cart checks out as its lines.
		var cart string
		r.run(t, []row{
			{name: "a cart", route: "POST /v1/shops/{shop}/carts", method: "POST", path: "/v1/shops/acme/carts", token: token,
				status: http.StatusCreated, check: func(t *testing.T, res *httptest.ResponseRecorder) {
					cart = decodeBody[map[string]any](t, res)["id"].(string)
				}},
		})
		r.run(t, []row{
			{name: "an empty cart", route: co, method: "POST", path: path, token: token, header: idem("k5"), body: `{"cart_id":"` + cart + `"}`,
				status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("cart_id")},
			{name: "a line", route: "PUT /v1/shops/{shop}/carts/{cart}/lines/{sku}", method: "PUT", path: "/v1/shops/acme/carts/" + cart + "/lines/TEE",
				token: token, body: `{"quantity":2}`, status: http.StatusOK},
			{name: "the cart", route: co, method: "POST", path: path, token: token, header: idem("k6"), body: `{"cart_id":"` + cart + `"}`,
				status: http.StatusCreated, want: map[string]any{"order.status": "paid", "order.total": 3000}},
		})

		// A declined payment is a problem that carries the cancelled order.
		r.newProduct("acme", key, "MUG", 1)
		if err := r.sim.SetFaults(psp.Faults{DeclineRate: 1}); err != nil {
			t.Fatal(err)
		}
		r.run(t, []row{
			{name: "declined", route: co, method: "POST", path: path, token: token, header: idem("k7"),
				body: `{"items":[{"sku":"MUG","quantity":1}]}`, status: http.StatusPaymentRequired, problem: "payment-declined",
				want: map[string]any{"order.status": "cancelled"}, check: func(t *testing.T, res *httptest.ResponseRecorder) {
					if !strings.HasPrefix(res.Header().Get("Location"), "/v1/shops/acme/orders/ord_") {
						t.Errorf("Location %q", res.Header().Get("Location"))
					}
				}},
			{name: "declined, replayed", route: co, method: "POST", path: path, token: token, header: idem("k7"),
				body: `{"items":[{"sku":"MUG","quantity":1}]}`, status: http.StatusPaymentRequired, problem: "payment-declined",
				check: header("Idempotent-Replayed", "true")},
			{name: "the declined order's stock is back", route: "GET /v1/shops/{shop}/admin/inventory/{sku}", method: "GET",
				path: "/v1/shops/acme/admin/inventory/MUG", token: key, status: http.StatusOK,
				want: map[string]any{"available": 1, "reserved": 0, "sold": 0}},
		})
	})
}

func TestPaymentWebhookHandler(t *testing.T) {
	t.Parallel()
	eachEngine(t, nil, func(t *testing.T, r *rig) {
		key := r.newShop("acme")
		r.newProduct("acme", key, "TEE", 3)
		_, token := r.newCustomer("acme")
		order := r.newOrder("acme", token, "TEE", 1)
		const hook = "POST /v1/payments/webhook"
		event := func(id, status, ref string) string {
			return `{"id":"` + id + `","type":"payment.` + status + `","payment":{"id":"pay_x","merchant_reference":"` + ref +
				`","amount":1500,"currency":"EUR","status":"` + status + `"}}`
		}
		signed := func(body string) map[string]string {
			return map[string]string{"Psp-Signature": psp.Sign(r.webhookSecret, []byte(body), time.Now())}
		}
		captured := event("evt_1", "captured", order)
		r.run(t, []row{
			{name: "unsigned", route: hook, method: "POST", path: "/v1/payments/webhook", body: captured,
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "signed with another secret", route: hook, method: "POST", path: "/v1/payments/webhook", body: captured,
				header: map[string]string{"Psp-Signature": psp.Sign("not the secret", []byte(captured), time.Now())},
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "signed long ago", route: hook, method: "POST", path: "/v1/payments/webhook", body: captured,
				header: map[string]string{"Psp-Signature": psp.Sign(r.webhookSecret, []byte(captured), time.Now().Add(-time.Hour))},
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "not a payment event", route: hook, method: "POST", path: "/v1/payments/webhook", body: `{"id":"evt_0"}`,
				header: signed(`{"id":"evt_0"}`), status: http.StatusBadRequest, problem: "malformed-json"},
			{name: "a status checkout ignores", route: hook, method: "POST", path: "/v1/payments/webhook",
				body: event("evt_2", "authorized", order), header: signed(event("evt_2", "authorized", order)), status: http.StatusNoContent},
			{name: "an unknown order", route: hook, method: "POST", path: "/v1/payments/webhook",
				body: event("evt_3", "captured", "ord_nope"), header: signed(event("evt_3", "captured", "ord_nope")), status: http.StatusNoContent},
			{name: "captured", route: hook, method: "POST", path: "/v1/payments/webhook", body: captured,
				header: signed(captured), status: http.StatusNoContent},
			{name: "captured again", route: hook, method: "POST", path: "/v1/payments/webhook", body: captured,
				header: signed(captured), status: http.StatusNoContent},
			{name: "the order stays paid", route: "GET /v1/shops/{shop}/orders/{order}", method: "GET", path: "/v1/shops/acme/orders/" + order,
				token: token, status: http.StatusOK, want: map[string]any{"order.status": "paid"}},
		})

		// The provider does not answer (the client gives up after its
		// 2.5 s): the checkout is accepted, pending, for the webhook to settle.
		if err := r.sim.SetFaults(psp.Faults{TimeoutRate: 1}); err != nil {
			t.Fatal(err)
		}
		var pending string
		idem := map[string]string{"Idempotency-Key": "slow-1"}
		r.run(t, []row{
			{name: "pending", route: "POST /v1/shops/{shop}/checkout", method: "POST", path: "/v1/shops/acme/checkout", token: token,
				header: idem, body: `{"items":[{"sku":"TEE","quantity":1}]}`, status: http.StatusAccepted,
				want: map[string]any{"order.status": "pending_payment"}, check: func(t *testing.T, res *httptest.ResponseRecorder) {
					pending = strings.TrimPrefix(res.Header().Get("Location"), "/v1/shops/acme/orders/")
				}},
			{name: "pending, replayed", route: "POST /v1/shops/{shop}/checkout", method: "POST", path: "/v1/shops/acme/checkout", token: token,
				header: idem, body: `{"items":[{"sku":"TEE","quantity":1}]}`, status: http.StatusAccepted,
				want: map[string]any{"order.status": "pending_payment"}, check: header("Idempotent-Replayed", "true")},
		})
		if err := r.sim.SetFaults(psp.Faults{}); err != nil {
			t.Fatal(err)
		}
		paid := event("evt_4", "captured", pending)
		r.run(t, []row{
			{name: "the capture of the pending order", route: hook, method: "POST", path: "/v1/payments/webhook", body: paid,
				header: signed(paid), status: http.StatusNoContent},
			{name: "the pending order is paid", route: "GET /v1/shops/{shop}/orders/{order}", method: "GET", path: "/v1/shops/acme/orders/" + pending,
				token: token, status: http.StatusOK, want: map[string]any{"order.status": "paid"}},
		})
	})
}
