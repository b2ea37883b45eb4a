package httpapi

import (
	"net/http"
	"strings"
	"testing"
)

// publicRoutes need no credential. Every other route of routes.go is
// swept by TestEveryRouteRefusesTheWrongCredential: a new route is
// protected, or listed here on purpose.
var publicRoutes = map[string]bool{
	"GET /healthz": true, "GET /readyz": true, "GET /metrics": true, "GET /openapi.json": true,
	"GET /v1/shops/{shop}/products/{sku}": true, "GET /v1/shops/{shop}/products": true,
	"GET /v1/shops/{shop}/search": true, "GET /v1/shops/{shop}/products/{sku}/recommendations": true,
	"POST /v1/shops/{shop}/customers": true, "GET /v1/shops/{shop}/sales/{sku}": true,
	// Signed by the payment provider instead (TestPaymentWebhookHandler).
	"POST /v1/payments/webhook": true,
}

// TestEveryRouteRefusesTheWrongCredential sends every protected route of
// routes.go each credential it must refuse, so that no route, new ones
// included, serves an anonymous caller, another shop's key or another
// shop's customer (docs/INVARIANTS.md, I6). A route's credential follows
// from its path: /v1/admin/ the platform admin key, /v1/shops/{shop}/admin/
// the shop's key, the rest of /v1/shops/{shop}/ a customer token of the
// shop. Another shop's credential is 403; no credential, or one of the
// wrong kind, is 401.
func TestEveryRouteRefusesTheWrongCredential(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil)
	shopKey := r.newShop("acme")
	otherKey := r.newShop("other")
	r.newProduct("acme", shopKey, "TEE", 5)
	_, customer := r.newCustomer("acme")
	_, otherCustomer := r.newCustomer("other")
	const unauthorized, forbidden = http.StatusUnauthorized, http.StatusForbidden
	refusals := map[string]map[string]int{
		"admin": {"none": unauthorized, "shop key": unauthorized, "customer": unauthorized},
		"shop": {"none": unauthorized, "admin key": unauthorized, "customer": unauthorized,
			"other shop's key": forbidden},
		"customer": {"none": unauthorized, "admin key": unauthorized, "shop key": unauthorized,
			"other shop's customer": forbidden},
	}
	credentials := map[string]string{
		"none": "", "admin key": r.adminKey, "shop key": shopKey, "other shop's key": otherKey,
		"customer": customer, "other shop's customer": otherCustomer,
	}
	values := strings.NewReplacer("{shop}", "acme", "{sku}", "TEE", "{cart}", "cart_x", "{order}", "ord_x",
		"{customer}", "cus_x", "{notification}", "ntf_x", "{flag}", "search")
	for _, route := range routePatterns(t) {
		if publicRoutes[route] {
			continue
		}
		method, path, _ := strings.Cut(route, " ")
		kind := "customer"
		switch {
		case strings.HasPrefix(path, "/v1/admin/"):
			kind = "admin"
		case strings.HasPrefix(path, "/v1/shops/{shop}/admin/"):
			kind = "shop"
		case !strings.HasPrefix(path, "/v1/shops/{shop}/"):
			t.Errorf("%s: which credential does it need? Add it to publicRoutes or give it a path that says", route)
			continue
		}
		for cred, status := range refusals[kind] {
			t.Run(route+"/"+cred, func(t *testing.T) {
				tc := row{route: route, method: method, path: values.Replace(path), token: credentials[cred],
					status: status, problem: strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "-"))}
				if method == http.MethodPost || method == http.MethodPut {
					tc.body = `{}`
				}
				r.serve(t, tc)
			})
		}
	}
}
