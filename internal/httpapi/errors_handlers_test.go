package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestOperationsHandlers(t *testing.T) {
	t.Parallel()
	eachEngine(t, nil, func(t *testing.T, r *rig) {
		r.run(t, []row{
			{name: "healthz", route: "GET /healthz", method: "GET", path: "/healthz",
				status: http.StatusOK, want: map[string]any{"status": "ok"}},
			{name: "readyz", route: "GET /readyz", method: "GET", path: "/readyz",
				status: http.StatusOK, want: map[string]any{"status": "ready", "draining": false, "checks.store.status": "ok"}},
			{name: "openapi", route: "GET /openapi.json", method: "GET", path: "/openapi.json",
				status: http.StatusOK, check: func(t *testing.T, res *httptest.ResponseRecorder) {
					if v, _ := decodeBody[map[string]any](t, res)["openapi"].(string); !strings.HasPrefix(v, "3.") {
						t.Errorf("openapi %q", v)
					}
				}},
			{name: "metrics", route: "GET /metrics", method: "GET", path: "/metrics",
				status: http.StatusOK, contentType: "text/plain", check: func(t *testing.T, res *httptest.ResponseRecorder) {
					if !strings.Contains(res.Body.String(), `surge_http_requests_total{code="200",method="GET",route="/healthz"} 1`) {
						t.Errorf("no count of the healthz request:\n%s", res.Body)
					}
				}},
		})
		r.srv.Drain()
		r.run(t, []row{
			{name: "readyz while draining", route: "GET /readyz", method: "GET", path: "/readyz",
				status: http.StatusServiceUnavailable, want: map[string]any{"status": "draining", "draining": true}},
			{name: "healthz while draining", route: "GET /healthz", method: "GET", path: "/healthz", status: http.StatusOK},
		})
	})
}

func TestGatewayErrors(t *testing.T) {
	t.Parallel()
	eachEngine(t, nil, func(t *testing.T, r *rig) {
		key := r.newShop("acme")
		r.run(t, []row{
			{name: "no such route", route: "/", method: "GET", path: "/v1/nothing",
				status: http.StatusNotFound, problem: "route-not-found"},
			{name: "no such route under a shop", route: "/", method: "GET", path: "/v1/shops/acme/admin/things", token: key,
				status: http.StatusNotFound, problem: "route-not-found"},
			{name: "a method the path lacks", route: "/", method: "DELETE", path: "/v1/admin/shops",
				status: http.StatusMethodNotAllowed, problem: "method-not-allowed", check: header("Allow", "POST")},
			{name: "a method a product lacks", route: "/", method: "PATCH", path: "/v1/shops/acme/admin/products/TEE", token: key,
				status: http.StatusMethodNotAllowed, problem: "method-not-allowed", check: header("Allow", "GET, HEAD, PUT, DELETE")},
			{name: "a path with dot segments", method: "GET", path: "/v1/shops/acme/products/../search",
				status: http.StatusBadRequest, problem: "non-canonical-path", want: map[string]any{"canonical_path": "/v1/shops/acme/search"}},
			{name: "a doubled slash", method: "GET", path: "/v1/shops//acme/products",
				status: http.StatusBadRequest, problem: "non-canonical-path", want: map[string]any{"canonical_path": "/v1/shops/acme/products"}},
			{name: "a request id is echoed", route: "/", method: "GET", path: "/v1/nothing", header: map[string]string{"X-Request-Id": "req-42"},
				status: http.StatusNotFound, problem: "route-not-found", want: map[string]any{"request_id": "req-42", "instance": "/v1/nothing"},
				check: header("X-Request-Id", "req-42")},
			{name: "a request id that is not plain is replaced", route: "GET /healthz", method: "GET", path: "/healthz",
				header: map[string]string{"X-Request-Id": "a b"}, status: http.StatusOK, check: func(t *testing.T, res *httptest.ResponseRecorder) {
					if id := res.Header().Get("X-Request-Id"); id == "" || id == "a b" {
						t.Errorf("X-Request-Id %q", id)
					}
				}},
		})
	})
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	eachEngine(t, map[string]string{"SURGE_MAX_BODY_BYTES": "64"}, func(t *testing.T, r *rig) {
		key := r.newShop("acme")
		r.run(t, []row{
			{name: "a body over the limit", route: "PUT /v1/shops/{shop}/admin/products/{sku}", method: "PUT", path: "/v1/shops/acme/admin/products/TEE",
				token: key, body: `{"title":"` + strings.Repeat("x", 100) + `","price":1,"currency":"EUR"}`,
				status: http.StatusRequestEntityTooLarge, problem: "too-large"},
			{name: "nothing was created", route: "GET /v1/shops/{shop}/admin/products/{sku}", method: "GET", path: "/v1/shops/acme/admin/products/TEE",
				token: key, status: http.StatusNotFound, problem: "product-not-found"},
		})
	})
}

// A replica without the api role serves operations routes only.
func TestReplicaWithoutAPIRole(t *testing.T) {
	t.Parallel()
	eachEngine(t, map[string]string{"SURGE_ROLES": "worker,relay"}, func(t *testing.T, r *rig) {
		r.run(t, []row{
			{name: "healthz", route: "GET /healthz", method: "GET", path: "/healthz", status: http.StatusOK},
			{name: "no API", route: "/", method: "POST", path: "/v1/admin/shops", token: r.adminKey, body: `{"slug":"a","name":"A"}`,
				status: http.StatusNotFound, problem: "route-not-found"},
		})
	})
}

func TestRateLimitHandlers(t *testing.T) {
	t.Parallel()
	eachEngine(t, map[string]string{"SURGE_RATE_LIMITS": "on", "SURGE_RATE_LIMIT_CUSTOMER": "1", "SURGE_SIGNUP_LIMIT": "1"}, func(t *testing.T, r *rig) {
		key := r.newShop("acme")
		r.newProduct("acme", key, "TEE", 5)
		// The signup limit refills once a minute: the second signup is refused
		// however slowly this runs.
		var token string
		r.run(t, []row{
			{name: "a signup", route: "POST /v1/shops/{shop}/customers", method: "POST", path: "/v1/shops/acme/customers",
				status: http.StatusCreated, check: func(t *testing.T, res *httptest.ResponseRecorder) {
					token = decodeBody[map[string]any](t, res)["token"].(string)
					if res.Header().Get("RateLimit") == "" || !strings.Contains(res.Header().Get("RateLimit-Policy"), `"signup";q=1;w=60`) {
						t.Errorf("RateLimit %q, RateLimit-Policy %q", res.Header().Get("RateLimit"), res.Header().Get("RateLimit-Policy"))
					}
				}},
			{name: "a second signup", route: "POST /v1/shops/{shop}/customers", method: "POST", path: "/v1/shops/acme/customers",
				status: http.StatusTooManyRequests, problem: "rate-limited", want: map[string]any{"limit": "signup"},
				check: func(t *testing.T, res *httptest.ResponseRecorder) {
					if res.Header().Get("Retry-After") == "" || !strings.HasPrefix(res.Header().Get("RateLimit"), `"signup";r=0;`) {
						t.Errorf("Retry-After %q, RateLimit %q", res.Header().Get("Retry-After"), res.Header().Get("RateLimit"))
					}
				}},
			{name: "operations routes are never limited", route: "GET /healthz", method: "GET", path: "/healthz",
				status: http.StatusOK, check: header("RateLimit", "")},
		})
		// A customer's limit (1/s, burst 2) refills every second, so the
		// refusal is looked for over more requests than a second could refill.
		get := row{route: "GET /v1/shops/{shop}/products/{sku}", method: "GET", path: "/v1/shops/acme/products/TEE", token: token}
		for i := 0; i < 50; i++ {
			res := httptest.NewRecorder()
			r.srv.ServeHTTP(res, get.request())
			if res.Code == http.StatusOK {
				continue
			}
			if res.Code != http.StatusTooManyRequests || res.Header().Get("Content-Type") != "application/problem+json" ||
				!strings.Contains(res.Body.String(), `"limit":"customer"`) || res.Header().Get("Retry-After") == "" {
				t.Fatalf("status %d, Content-Type %q, Retry-After %q: %s",
					res.Code, res.Header().Get("Content-Type"), res.Header().Get("Retry-After"), res.Body)
			}
			return
		}
		t.Fatal("50 requests of one customer token in a row were all served")
	})
}
