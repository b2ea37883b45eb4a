package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestPlatformAdminHandlers(t *testing.T) {
	t.Parallel()
	eachEngine(t, nil, func(t *testing.T, r *rig) {
		const create = "POST /v1/admin/shops"
		const tier = "PUT /v1/admin/shops/{shop}/tier"
		const getShop = "GET /v1/admin/shops/{shop}"
		const rotate = "POST /v1/admin/shops/{shop}/keys"
		const revoke = "POST /v1/admin/shops/{shop}/keys/revoke"
		A := r.adminKey
		var shopKey string
		r.run(t, []row{
			{name: "create a shop", route: create, method: "POST", path: "/v1/admin/shops", token: A, body: `{"slug":"acme","name":"Acme"}`,
				status: http.StatusCreated, want: map[string]any{"slug": "acme", "name": "Acme"}, check: func(t *testing.T, res *httptest.ResponseRecorder) {
					header("Location", "/v1/shops/acme/products")(t, res)
					header("Cache-Control", "no-store")(t, res)
					shopKey, _ = decodeBody[map[string]any](t, res)["api_key"].(string)
					if !strings.HasPrefix(shopKey, "sk_") {
						t.Errorf("api_key %q", shopKey)
					}
				}},
			{name: "create it again", route: create, method: "POST", path: "/v1/admin/shops", token: A, body: `{"slug":"acme","name":"Acme"}`,
				status: http.StatusConflict, problem: "shop-exists"},
			{name: "create without the admin key", route: create, method: "POST", path: "/v1/admin/shops", body: `{"slug":"b","name":"B"}`,
				status: http.StatusUnauthorized, problem: "unauthorized", check: header("WWW-Authenticate", `Bearer realm="surge"`)},
			{name: "create with a wrong admin key", route: create, method: "POST", path: "/v1/admin/shops", token: "wrong", body: `{"slug":"b","name":"B"}`,
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "create with a bad slug", route: create, method: "POST", path: "/v1/admin/shops", token: A, body: `{"slug":"Bad Slug","name":""}`,
				status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("slug", "name")},
			{name: "create with an unknown field", route: create, method: "POST", path: "/v1/admin/shops", token: A, body: `{"slug":"b","name":"B","tier":"free"}`,
				status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("tier")},
			{name: "create malformed", route: create, method: "POST", path: "/v1/admin/shops", token: A, body: `{"slug":"b",}`,
				status: http.StatusBadRequest, problem: "malformed-json"},
			{name: "create with two values", route: create, method: "POST", path: "/v1/admin/shops", token: A, body: `{"slug":"b","name":"B"} {}`,
				status: http.StatusBadRequest, problem: "malformed-json"},
		})
		r.run(t, []row{
			{name: "the shop key is no admin key", route: create, method: "POST", path: "/v1/admin/shops", token: shopKey, body: `{"slug":"b","name":"B"}`,
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "set the tier", route: tier, method: "PUT", path: "/v1/admin/shops/acme/tier", token: A, body: `{"tier":"enterprise"}`,
				status: http.StatusOK, want: map[string]any{"slug": "acme", "name": "Acme", "tier": "enterprise", "version": 2},
				check: header("ETag", `"v2"`)},
			{name: "get the shop", route: getShop, method: "GET", path: "/v1/admin/shops/acme", token: A,
				status: http.StatusOK, want: map[string]any{"slug": "acme", "tier": "enterprise", "version": 2}, check: header("ETag", `"v2"`)},
			{name: "set the tier with a stale If-Match", route: tier, method: "PUT", path: "/v1/admin/shops/acme/tier", token: A, body: `{"tier":"free"}`,
				header: map[string]string{"If-Match": `"v1"`}, status: http.StatusPreconditionFailed, problem: "precondition-failed"},
			{name: "set the tier create-only", route: tier, method: "PUT", path: "/v1/admin/shops/acme/tier", token: A, body: `{"tier":"free"}`,
				header: map[string]string{"If-None-Match": "*"}, status: http.StatusPreconditionFailed, problem: "precondition-failed"},
			{name: "set the tier with the current If-Match", route: tier, method: "PUT", path: "/v1/admin/shops/acme/tier", token: A, body: `{"tier":"enterprise"}`,
				header: map[string]string{"If-Match": `"v2"`}, status: http.StatusOK, want: map[string]any{"tier": "enterprise", "version": 3}},
			{name: "get an unknown shop", route: getShop, method: "GET", path: "/v1/admin/shops/nope", token: A,
				status: http.StatusNotFound, problem: "shop-not-found"},
			{name: "get the shop with its own key", route: getShop, method: "GET", path: "/v1/admin/shops/acme", token: shopKey,
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "set the tier with an unknown field", route: tier, method: "PUT", path: "/v1/admin/shops/acme/tier", token: A, body: `{"tier":"free","plan":"x"}`,
				status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("plan")},
			{name: "set an unknown tier", route: tier, method: "PUT", path: "/v1/admin/shops/acme/tier", token: A, body: `{"tier":"gold"}`,
				status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("tier")},
			{name: "set the tier of an unknown shop", route: tier, method: "PUT", path: "/v1/admin/shops/nope/tier", token: A, body: `{"tier":"free"}`,
				status: http.StatusNotFound, problem: "shop-not-found"},
			{name: "set the tier with the shop key", route: tier, method: "PUT", path: "/v1/admin/shops/acme/tier", token: shopKey, body: `{"tier":"free"}`,
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "admin rotates without a body", route: rotate, method: "POST", path: "/v1/admin/shops/acme/keys", token: A,
				status: http.StatusCreated, check: rotated},
			{name: "admin rotates", route: rotate, method: "POST", path: "/v1/admin/shops/acme/keys", token: A, body: `{"grace_seconds":60}`,
				status: http.StatusCreated, check: rotated},
			{name: "admin rotates with too much grace", route: rotate, method: "POST", path: "/v1/admin/shops/acme/keys", token: A, body: `{"grace_seconds":604801}`,
				status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("grace_seconds")},
			{name: "admin rotates an unknown shop", route: rotate, method: "POST", path: "/v1/admin/shops/nope/keys", token: A,
				status: http.StatusNotFound, problem: "shop-not-found"},
			{name: "rotate without the admin key", route: rotate, method: "POST", path: "/v1/admin/shops/acme/keys",
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "admin revokes old keys", route: revoke, method: "POST", path: "/v1/admin/shops/acme/keys/revoke", token: A,
				status: http.StatusOK, check: func(t *testing.T, res *httptest.ResponseRecorder) {
					if n, _ := decodeBody[map[string]any](t, res)["revoked"].(float64); n != 1 {
						t.Errorf("revoked %s, want the key in grace", res.Body)
					}
				}},
			{name: "admin revokes an unknown shop's keys", route: revoke, method: "POST", path: "/v1/admin/shops/nope/keys/revoke", token: A,
				status: http.StatusNotFound, problem: "shop-not-found"},
			{name: "revoke without the admin key", route: revoke, method: "POST", path: "/v1/admin/shops/acme/keys/revoke",
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "the first key is gone", route: "GET /v1/shops/{shop}/admin/orders", method: "GET", path: "/v1/shops/acme/admin/orders", token: shopKey,
				status: http.StatusUnauthorized, problem: "unauthorized"},
		})
	})
}

func TestShopKeyHandlers(t *testing.T) {
	t.Parallel()
	eachEngine(t, nil, func(t *testing.T, r *rig) {
		key := r.newShop("acme")
		otherKey := r.newShop("other")
		const rotate = "POST /v1/shops/{shop}/admin/keys"
		const revoke = "POST /v1/shops/{shop}/admin/keys/revoke"
		var current string
		r.run(t, []row{
			{name: "rotate without a key", route: rotate, method: "POST", path: "/v1/shops/acme/admin/keys",
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "rotate with another shop's key", route: rotate, method: "POST", path: "/v1/shops/acme/admin/keys", token: otherKey,
				status: http.StatusForbidden, problem: "forbidden"},
			{name: "rotate with a bad grace", route: rotate, method: "POST", path: "/v1/shops/acme/admin/keys", token: key, body: `{"grace_seconds":-1}`,
				status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("grace_seconds")},
			{name: "rotate with an unknown field", route: rotate, method: "POST", path: "/v1/shops/acme/admin/keys", token: key, body: `{"grace":1}`,
				status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("grace")},
			{name: "rotate", route: rotate, method: "POST", path: "/v1/shops/acme/admin/keys", token: key, body: `{"grace_seconds":3600}`,
				status: http.StatusCreated, check: func(t *testing.T, res *httptest.ResponseRecorder) {
					rotated(t, res)
					current = decodeBody[map[string]any](t, res)["api_key"].(string)
				}},
		})
		r.run(t, []row{
			{name: "the old key in grace still works", route: "GET /v1/shops/{shop}/admin/orders", method: "GET", path: "/v1/shops/acme/admin/orders", token: key,
				status: http.StatusOK},
			{name: "the old key in grace cannot rotate", route: rotate, method: "POST", path: "/v1/shops/acme/admin/keys", token: key,
				status: http.StatusForbidden, problem: "key-in-grace"},
			{name: "the old key in grace cannot revoke", route: revoke, method: "POST", path: "/v1/shops/acme/admin/keys/revoke", token: key,
				status: http.StatusForbidden, problem: "key-in-grace"},
			{name: "revoke without a key", route: revoke, method: "POST", path: "/v1/shops/acme/admin/keys/revoke",
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "revoke with another shop's key", route: revoke, method: "POST", path: "/v1/shops/acme/admin/keys/revoke", token: otherKey,
				status: http.StatusForbidden, problem: "forbidden"},
			{name: "revoke", route: revoke, method: "POST", path: "/v1/shops/acme/admin/keys/revoke", token: current,
				status: http.StatusOK, want: map[string]any{"revoked": 1}},
			{name: "the old key is gone", route: "GET /v1/shops/{shop}/admin/orders", method: "GET", path: "/v1/shops/acme/admin/orders", token: key,
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "revoke again", route: revoke, method: "POST", path: "/v1/shops/acme/admin/keys/revoke", token: current,
				status: http.StatusOK, want: map[string]any{"revoked": 0}},
		})
	})
}

func TestFlagAndAuditHandlers(t *testing.T) {
	t.Parallel()
	eachEngine(t, nil, func(t *testing.T, r *rig) {
		key := r.newShop("acme")
		const list = "GET /v1/admin/flags"
		const set = "PUT /v1/admin/flags/{flag}"
		const get = "GET /v1/admin/flags/{flag}"
		const audit = "GET /v1/admin/audit"
		A := r.adminKey
		r.run(t, []row{
			{name: "list flags", route: list, method: "GET", path: "/v1/admin/flags", token: A,
				status: http.StatusOK, want: map[string]any{"flags": map[string]any{"recommendations": true, "search": true}}},
			{name: "list flags with a shop key", route: list, method: "GET", path: "/v1/admin/flags", token: key,
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "set a flag", route: set, method: "PUT", path: "/v1/admin/flags/search", token: A, body: `{"enabled":false}`,
				status: http.StatusOK, want: map[string]any{"name": "search", "enabled": false}},
			{name: "the flag is off", route: list, method: "GET", path: "/v1/admin/flags", token: A,
				status: http.StatusOK, want: map[string]any{"flags.search": false}},
			{name: "get the flag", route: get, method: "GET", path: "/v1/admin/flags/search", token: A,
				status: http.StatusOK, want: map[string]any{"name": "search", "enabled": false, "version": 1}, check: header("ETag", `"v1"`)},
			{name: "get a flag never set", route: get, method: "GET", path: "/v1/admin/flags/recommendations", token: A,
				status: http.StatusOK, want: map[string]any{"enabled": true, "version": 0}, check: header("ETag", `"v0"`)},
			{name: "set with a stale If-Match", route: set, method: "PUT", path: "/v1/admin/flags/search", token: A, body: `{"enabled":true}`,
				header: map[string]string{"If-Match": `"v0"`}, status: http.StatusPreconditionFailed, problem: "precondition-failed"},
			{name: "set create-only", route: set, method: "PUT", path: "/v1/admin/flags/search", token: A, body: `{"enabled":true}`,
				header: map[string]string{"If-None-Match": "*"}, status: http.StatusPreconditionFailed, problem: "precondition-failed"},
			{name: "the stale writes changed nothing", route: get, method: "GET", path: "/v1/admin/flags/search", token: A,
				status: http.StatusOK, want: map[string]any{"enabled": false, "version": 1}},
			{name: "set with the current If-Match", route: set, method: "PUT", path: "/v1/admin/flags/search", token: A, body: `{"enabled":false}`,
				header: map[string]string{"If-Match": `"v1"`}, status: http.StatusOK, want: map[string]any{"enabled": false, "version": 2}, check: header("ETag", `"v2"`)},
			{name: "get an unknown flag", route: get, method: "GET", path: "/v1/admin/flags/teleport", token: A,
				status: http.StatusNotFound, problem: "flag-not-found"},
			{name: "get a flag with a shop key", route: get, method: "GET", path: "/v1/admin/flags/search", token: key,
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "set an unknown flag", route: set, method: "PUT", path: "/v1/admin/flags/teleport", token: A, body: `{"enabled":true}`,
				status: http.StatusNotFound, problem: "flag-not-found"},
			{name: "set without enabled", route: set, method: "PUT", path: "/v1/admin/flags/search", token: A, body: `{}`,
				status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("enabled")},
			{name: "set with an unknown field", route: set, method: "PUT", path: "/v1/admin/flags/search", token: A, body: `{"enabled":true,"ttl":60}`,
				status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("ttl")},
			{name: "set a string", route: set, method: "PUT", path: "/v1/admin/flags/search", token: A, body: `{"enabled":"yes"}`,
				status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("enabled")},
			{name: "set without the admin key", route: set, method: "PUT", path: "/v1/admin/flags/search", body: `{"enabled":true}`,
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "audit", route: audit, method: "GET", path: "/v1/admin/audit", token: A,
				status: http.StatusOK, check: func(t *testing.T, res *httptest.ResponseRecorder) {
					header("Cache-Control", "no-store")(t, res)
					if checks, _ := decodeBody[map[string]any](t, res)["checks"].([]any); len(checks) == 0 {
						t.Errorf("no checks: %s", res.Body)
					}
				}},
			{name: "audit with a bad settle", route: audit, method: "GET", path: "/v1/admin/audit?settle=forever", token: A,
				status: http.StatusUnprocessableEntity, problem: "invalid-settle"},
			{name: "audit with too long a settle", route: audit, method: "GET", path: "/v1/admin/audit?settle=11m", token: A,
				status: http.StatusUnprocessableEntity, problem: "invalid-settle"},
			{name: "audit without the admin key", route: audit, method: "GET", path: "/v1/admin/audit", token: key,
				status: http.StatusUnauthorized, problem: "unauthorized"},
		})
	})
}

// rotated asserts a key rotation's answer.
func rotated(t *testing.T, res *httptest.ResponseRecorder) {
	t.Helper()
	body := decodeBody[map[string]any](t, res)
	if k, _ := body["api_key"].(string); !strings.HasPrefix(k, "sk_") || body["old_keys_expire_at"] == nil {
		t.Errorf("rotation %s", res.Body)
	}
	header("Cache-Control", "no-store")(t, res)
}
