package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCustomerHandlers(t *testing.T) {
	t.Parallel()
	eachEngine(t, nil, func(t *testing.T, r *rig) {
		key := r.newShop("acme")
		otherKey := r.newShop("other")
		_, otherToken := r.newCustomer("other")
		const signup = "POST /v1/shops/{shop}/customers"
		const signOut = "POST /v1/shops/{shop}/customers/me/sign-out"
		const revokeMine = "POST /v1/shops/{shop}/customers/me/revoke-tokens"
		const revokeAdmin = "POST /v1/shops/{shop}/admin/customers/{customer}/revoke-tokens"
		const carts = "POST /v1/shops/{shop}/carts"
		var token, second string
		created := func(t *testing.T, res *httptest.ResponseRecorder) {
			c := decodeBody[map[string]any](t, res)
			tok, _ := c["token"].(string)
			cid, _ := c["id"].(string)
			if !strings.HasPrefix(tok, "ct1.") || !strings.HasPrefix(cid, "cus_") || c["expires_at"] == nil {
				t.Errorf("customer %v", c)
			}
			header("Cache-Control", "no-store")(t, res)
			token = tok
		}
		r.run(t, []row{
			{name: "sign up", route: signup, method: "POST", path: "/v1/shops/acme/customers",
				body: `{"email":"ada@example.com","name":"Ada"}`, status: http.StatusCreated, check: created},
			{name: "sign up without a body", route: signup, method: "POST", path: "/v1/shops/acme/customers",
				status: http.StatusCreated},
			{name: "sign up with a bad email", route: signup, method: "POST", path: "/v1/shops/acme/customers",
				body: `{"email":"Ada <ada@example.com>"}`, status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("email")},
			{name: "sign up with an unknown field", route: signup, method: "POST", path: "/v1/shops/acme/customers",
				body: `{"email":"ada@example.com","password":"x"}`, status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("password")},
			{name: "sign up malformed", route: signup, method: "POST", path: "/v1/shops/acme/customers",
				body: `{"email":}`, status: http.StatusBadRequest, problem: "malformed-json"},
			{name: "sign up in an unknown shop", route: signup, method: "POST", path: "/v1/shops/nope/customers",
				body: `{}`, status: http.StatusNotFound, problem: "shop-not-found"},
		})
		r.run(t, []row{
			{name: "a second token", route: signup, method: "POST", path: "/v1/shops/acme/customers",
				status: http.StatusCreated, check: func(t *testing.T, res *httptest.ResponseRecorder) {
					second = decodeBody[map[string]any](t, res)["token"].(string)
				}},
		})
		r.run(t, []row{
			{name: "sign out without a token", route: signOut, method: "POST", path: "/v1/shops/acme/customers/me/sign-out",
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "sign out with a forged token", route: signOut, method: "POST", path: "/v1/shops/acme/customers/me/sign-out",
				token: token + "x", status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "sign out with another shop's token", route: signOut, method: "POST", path: "/v1/shops/acme/customers/me/sign-out",
				token: otherToken, status: http.StatusForbidden, problem: "forbidden"},
			{name: "sign out", route: signOut, method: "POST", path: "/v1/shops/acme/customers/me/sign-out",
				token: token, status: http.StatusNoContent},
			{name: "a signed-out token", route: carts, method: "POST", path: "/v1/shops/acme/carts",
				token: token, status: http.StatusUnauthorized, problem: "token-revoked"},
			{name: "revoke my tokens without a token", route: revokeMine, method: "POST", path: "/v1/shops/acme/customers/me/revoke-tokens",
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "revoke my tokens", route: revokeMine, method: "POST", path: "/v1/shops/acme/customers/me/revoke-tokens",
				token: second, status: http.StatusNoContent},
			{name: "a revoked token", route: carts, method: "POST", path: "/v1/shops/acme/carts",
				token: second, status: http.StatusUnauthorized, problem: "token-revoked"},
		})
		victim, victimToken := r.newCustomer("acme")
		r.run(t, []row{
			{name: "shop revokes without a key", route: revokeAdmin, method: "POST", path: "/v1/shops/acme/admin/customers/" + victim + "/revoke-tokens",
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "shop revokes with another shop's key", route: revokeAdmin, method: "POST", path: "/v1/shops/acme/admin/customers/" + victim + "/revoke-tokens",
				token: otherKey, status: http.StatusForbidden, problem: "forbidden"},
			{name: "shop revokes with a customer token", route: revokeAdmin, method: "POST", path: "/v1/shops/acme/admin/customers/" + victim + "/revoke-tokens",
				token: victimToken, status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "still signed in", route: carts, method: "POST", path: "/v1/shops/acme/carts",
				token: victimToken, status: http.StatusCreated},
			{name: "shop revokes", route: revokeAdmin, method: "POST", path: "/v1/shops/acme/admin/customers/" + victim + "/revoke-tokens",
				token: key, status: http.StatusNoContent},
			{name: "revoked by the shop", route: carts, method: "POST", path: "/v1/shops/acme/carts",
				token: victimToken, status: http.StatusUnauthorized, problem: "token-revoked"},
		})
	})
}

func TestCartHandlers(t *testing.T) {
	t.Parallel()
	eachEngine(t, nil, func(t *testing.T, r *rig) {
		key := r.newShop("acme")
		r.newShop("other")
		r.newProduct("acme", key, "TEE", 5)
		_, token := r.newCustomer("acme")
		_, stranger := r.newCustomer("acme")
		_, otherToken := r.newCustomer("other")
		const create = "POST /v1/shops/{shop}/carts"
		const get = "GET /v1/shops/{shop}/carts/{cart}"
		const put = "PUT /v1/shops/{shop}/carts/{cart}/lines/{sku}"
		const del = "DELETE /v1/shops/{shop}/carts/{cart}/lines/{sku}"
		var cart string
		r.run(t, []row{
			{name: "create", route: create, method: "POST", path: "/v1/shops/acme/carts", token: token,
				status: http.StatusCreated, want: map[string]any{"lines": []any{}}, check: func(t *testing.T, res *httptest.ResponseRecorder) {
					cart, _ = decodeBody[map[string]any](t, res)["id"].(string)
					header("Location", "/v1/shops/acme/carts/"+cart)(t, res)
				}},
			{name: "create without a token", route: create, method: "POST", path: "/v1/shops/acme/carts",
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "create with a shop key", route: create, method: "POST", path: "/v1/shops/acme/carts", token: key,
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "create with another shop's token", route: create, method: "POST", path: "/v1/shops/acme/carts", token: otherToken,
				status: http.StatusForbidden, problem: "forbidden"},
			{name: "create in an unknown shop", route: create, method: "POST", path: "/v1/shops/nope/carts", token: token,
				status: http.StatusNotFound, problem: "shop-not-found"},
		})
		cartPath := "/v1/shops/acme/carts/" + cart
		r.run(t, []row{
			{name: "set a line", route: put, method: "PUT", path: cartPath + "/lines/TEE", token: token, body: `{"quantity":2}`,
				status: http.StatusOK, want: map[string]any{"id": cart, "lines": []any{map[string]any{"sku": "TEE", "quantity": 2}}}},
			{name: "set an unknown sku", route: put, method: "PUT", path: cartPath + "/lines/NOPE", token: token, body: `{"quantity":1}`,
				status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("sku")},
			{name: "set too many", route: put, method: "PUT", path: cartPath + "/lines/TEE", token: token, body: `{"quantity":1001}`,
				status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("quantity")},
			{name: "set a fraction", route: put, method: "PUT", path: cartPath + "/lines/TEE", token: token, body: `{"quantity":1.5}`,
				status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("quantity")},
			{name: "set with an unknown field", route: put, method: "PUT", path: cartPath + "/lines/TEE", token: token, body: `{"quantity":1,"price":0}`,
				status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("price")},
			{name: "set with no body", route: put, method: "PUT", path: cartPath + "/lines/TEE", token: token,
				status: http.StatusBadRequest, problem: "malformed-json"},
			{name: "set in another customer's cart", route: put, method: "PUT", path: cartPath + "/lines/TEE", token: stranger, body: `{"quantity":1}`,
				status: http.StatusNotFound, problem: "cart-not-found"},
			{name: "get", route: get, method: "GET", path: cartPath, token: token,
				status: http.StatusOK, want: map[string]any{"lines": []any{map[string]any{"sku": "TEE", "quantity": 2}}}, check: header("Cache-Control", "no-store")},
			{name: "get another customer's cart", route: get, method: "GET", path: cartPath, token: stranger,
				status: http.StatusNotFound, problem: "cart-not-found"},
			{name: "get from another shop", route: get, method: "GET", path: "/v1/shops/other/carts/" + cart, token: otherToken,
				status: http.StatusNotFound, problem: "cart-not-found"},
			{name: "get without a token", route: get, method: "GET", path: cartPath,
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "get an unknown cart", route: get, method: "GET", path: "/v1/shops/acme/carts/cart_nope", token: token,
				status: http.StatusNotFound, problem: "cart-not-found"},
			{name: "delete a line in another customer's cart", route: del, method: "DELETE", path: cartPath + "/lines/TEE", token: stranger,
				status: http.StatusNotFound, problem: "cart-not-found"},
			{name: "delete a line without a token", route: del, method: "DELETE", path: cartPath + "/lines/TEE",
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "delete a line", route: del, method: "DELETE", path: cartPath + "/lines/TEE", token: token,
				status: http.StatusOK, want: map[string]any{"lines": []any{}}},
		})
	})
}
