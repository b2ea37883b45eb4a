package httpapi

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestOrderHandlers(t *testing.T) {
	t.Parallel()
	eachEngine(t, nil, func(t *testing.T, r *rig) {
		key := r.newShop("acme")
		otherKey := r.newShop("other")
		r.newProduct("acme", key, "TEE", 5)
		r.newProduct("other", otherKey, "THEIRS", 5)
		buyer, token := r.newCustomer("acme")
		_, stranger := r.newCustomer("acme")
		_, otherToken := r.newCustomer("other")
		first := r.newOrder("acme", token, "TEE", 1)
		second := r.newOrder("acme", token, "TEE", 2)
		theirs := r.newOrder("other", otherToken, "THEIRS", 1)
		const get = "GET /v1/shops/{shop}/orders/{order}"
		const list = "GET /v1/shops/{shop}/admin/orders"
		const getAdmin = "GET /v1/shops/{shop}/admin/orders/{order}"
		const refund = "POST /v1/shops/{shop}/admin/orders/{order}/refund"
		const fulfil = "POST /v1/shops/{shop}/admin/orders/{order}/fulfil"
		admin := "/v1/shops/acme/admin/orders/"
		r.run(t, []row{
			{name: "customer gets an order", route: get, method: "GET", path: "/v1/shops/acme/orders/" + first, token: token,
				status: http.StatusOK, want: map[string]any{"order.id": first, "order.status": "paid", "order.total": 1500},
				check: func(t *testing.T, res *httptest.ResponseRecorder) {
					header("Cache-Control", "no-store")(t, res)
					if o, _ := decodeBody[map[string]map[string]any](t, res)["order"]; o["customer_id"] != nil || o["payment_ref"] != nil {
						t.Errorf("the customer's view shows the shop's fields: %v", o)
					}
				}},
			{name: "another customer's order", route: get, method: "GET", path: "/v1/shops/acme/orders/" + first, token: stranger,
				status: http.StatusNotFound, problem: "order-not-found"},
			{name: "another shop's order", route: get, method: "GET", path: "/v1/shops/acme/orders/" + theirs, token: token,
				status: http.StatusNotFound, problem: "order-not-found"},
			{name: "customer get without a token", route: get, method: "GET", path: "/v1/shops/acme/orders/" + first,
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "customer get with a shop key", route: get, method: "GET", path: "/v1/shops/acme/orders/" + first, token: key,
				status: http.StatusUnauthorized, problem: "unauthorized"},

			{name: "list", route: list, method: "GET", path: "/v1/shops/acme/admin/orders", token: key,
				status: http.StatusOK, check: orderIDs(first, second)},
			{name: "list by customer", route: list, method: "GET", path: "/v1/shops/acme/admin/orders?customer_id=" + buyer, token: key,
				status: http.StatusOK, check: orderIDs(first, second)},
			{name: "list a page", route: list, method: "GET", path: "/v1/shops/acme/admin/orders?limit=1", token: key,
				status: http.StatusOK, check: func(t *testing.T, res *httptest.ResponseRecorder) {
					if len(decodeBody[orderList](t, res).Items) != 1 || decodeBody[orderList](t, res).NextCursor == "" {
						t.Errorf("one order and a cursor: %s", res.Body)
					}
				}},
			{name: "list a bad status", route: list, method: "GET", path: "/v1/shops/acme/admin/orders?status=lost", token: key,
				status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("status")},
			{name: "list a bad limit", route: list, method: "GET", path: "/v1/shops/acme/admin/orders?limit=x", token: key,
				status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("limit")},
			{name: "list a forged cursor", route: list, method: "GET", path: "/v1/shops/acme/admin/orders?cursor=forged", token: key,
				status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("cursor")},
			{name: "list without a key", route: list, method: "GET", path: "/v1/shops/acme/admin/orders",
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "list with another shop's key", route: list, method: "GET", path: "/v1/shops/acme/admin/orders", token: otherKey,
				status: http.StatusForbidden, problem: "forbidden"},

			{name: "admin get", route: getAdmin, method: "GET", path: admin + first, token: key,
				status: http.StatusOK, want: map[string]any{"id": first, "status": "paid", "customer_id": buyer}, check: func(t *testing.T, res *httptest.ResponseRecorder) {
					if decodeBody[map[string]any](t, res)["payment_ref"] == nil {
						t.Errorf("no payment_ref: %s", res.Body)
					}
				}},
			{name: "admin get of another shop's order", route: getAdmin, method: "GET", path: admin + theirs, token: key,
				status: http.StatusNotFound, problem: "order-not-found"},
			{name: "admin get without a key", route: getAdmin, method: "GET", path: admin + first,
				status: http.StatusUnauthorized, problem: "unauthorized"},

			{name: "admin get carries the ETag", route: getAdmin, method: "GET", path: admin + first, token: key,
				status: http.StatusOK, check: func(t *testing.T, res *httptest.ResponseRecorder) {
					v, _ := decodeBody[map[string]any](t, res)["version"].(float64)
					header("ETag", fmt.Sprintf(`"v%d"`, int(v)))(t, res)
				}},
			{name: "fulfil with a stale If-Match", route: fulfil, method: "POST", path: admin + first + "/fulfil", token: key,
				header: map[string]string{"If-Match": `"v99"`}, status: http.StatusPreconditionFailed, problem: "precondition-failed"},
			{name: "refund with a stale If-Match", route: refund, method: "POST", path: admin + second + "/refund", token: key,
				header: map[string]string{"If-Match": `"v99"`}, status: http.StatusPreconditionFailed, problem: "precondition-failed"},
			{name: "fulfil", route: fulfil, method: "POST", path: admin + first + "/fulfil", token: key,
				status: http.StatusOK, want: map[string]any{"id": first, "status": "fulfilled"}},
			{name: "fulfil again", route: fulfil, method: "POST", path: admin + first + "/fulfil", token: key,
				status: http.StatusConflict, problem: "order-not-fulfillable"},
			// The status is answered before the precondition (RFC 9110 §13.2.1).
			{name: "fulfil again with a stale If-Match", route: fulfil, method: "POST", path: admin + first + "/fulfil", token: key,
				header: map[string]string{"If-Match": `"v99"`}, status: http.StatusConflict, problem: "order-not-fulfillable"},
			{name: "refund a fulfilled order", route: refund, method: "POST", path: admin + first + "/refund", token: key,
				status: http.StatusConflict, problem: "order-not-refundable"},
			{name: "fulfil another shop's order", route: fulfil, method: "POST", path: admin + theirs + "/fulfil", token: key,
				status: http.StatusNotFound, problem: "order-not-found"},
			{name: "fulfil without a key", route: fulfil, method: "POST", path: admin + second + "/fulfil",
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "refund without a key", route: refund, method: "POST", path: admin + second + "/refund",
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "refund another shop's order", route: refund, method: "POST", path: admin + theirs + "/refund", token: key,
				status: http.StatusNotFound, problem: "order-not-found"},
			{name: "refund", route: refund, method: "POST", path: admin + second + "/refund", token: key,
				status: http.StatusOK, want: map[string]any{"id": second, "status": "refunded"}},
			{name: "refund again", route: refund, method: "POST", path: admin + second + "/refund", token: key,
				status: http.StatusConflict, problem: "order-not-refundable"},
			{name: "list the refunded", route: list, method: "GET", path: "/v1/shops/acme/admin/orders?status=refunded", token: key,
				status: http.StatusOK, check: orderIDs(second)},
		})
	})
}

type orderList struct {
	Items []struct {
		ID string `json:"id"`
	} `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// orderIDs asserts an admin order list holds these orders, in this order.
func orderIDs(ids ...string) func(t *testing.T, res *httptest.ResponseRecorder) {
	return func(t *testing.T, res *httptest.ResponseRecorder) {
		t.Helper()
		var got []string
		for _, it := range decodeBody[orderList](t, res).Items {
			got = append(got, it.ID)
		}
		if !sameJSON(got, ids) {
			t.Errorf("orders %v, want %v", got, ids)
		}
	}
}
