package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCatalogHandlers(t *testing.T) {
	t.Parallel()
	eachEngine(t, nil, func(t *testing.T, r *rig) {
		key := r.newShop("acme")
		otherKey := r.newShop("other")
		r.newProduct("other", otherKey, "THEIRS", 1)
		const admin = "/v1/shops/acme/admin/products/"
		const put = "PUT /v1/shops/{shop}/admin/products/{sku}"
		const getAdmin = "GET /v1/shops/{shop}/admin/products/{sku}"
		const del = "DELETE /v1/shops/{shop}/admin/products/{sku}"
		const get = "GET /v1/shops/{shop}/products/{sku}"
		const list = "GET /v1/shops/{shop}/products"
		tee := `{"title":"Tee","description":"Blue cotton","price":1500,"currency":"EUR","stock":5,"attributes":{"colour":"blue"}}`
		var etag string
		r.run(t, []row{
			{name: "put creates", route: "PUT /v1/shops/{shop}/admin/products/{sku}", method: "PUT", path: admin + "TEE", token: key, body: tee,
				status: http.StatusCreated, want: map[string]any{"sku": "TEE", "title": "Tee", "price": 1500, "stock": 5, "version": 1},
				check: all(header("Location", "/v1/shops/acme/products/TEE"), header("ETag", `"v1"`))},
			{name: "put again updates", route: put, method: "PUT", path: admin + "TEE", token: key, body: tee,
				status: http.StatusOK, want: map[string]any{"version": 2}, check: header("Location", "")},
			{name: "put without a key", route: put, method: "PUT", path: admin + "TEE", body: tee,
				status: http.StatusUnauthorized, problem: "unauthorized", check: header("WWW-Authenticate", `Bearer realm="surge"`)},
			{name: "put with a wrong key", route: put, method: "PUT", path: admin + "TEE", token: "sk_wrong", body: tee,
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "put with another shop's key", route: put, method: "PUT", path: admin + "TEE", token: otherKey, body: tee,
				status: http.StatusForbidden, problem: "forbidden"},
			{name: "put to an unknown shop", route: put, method: "PUT", path: "/v1/shops/nope/admin/products/TEE", token: key, body: tee,
				status: http.StatusNotFound, problem: "shop-not-found"},
			{name: "put malformed JSON", route: put, method: "PUT", path: admin + "TEE", token: key, body: `{"title":`,
				status: http.StatusBadRequest, problem: "malformed-json"},
			{name: "put an unknown field", route: put, method: "PUT", path: admin + "TEE", token: key,
				body:   `{"title":"Tee","price":1,"currency":"EUR","colour":"red"}`,
				status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("colour")},
			{name: "put a wrong type", route: put, method: "PUT", path: admin + "TEE", token: key,
				body:   `{"title":"Tee","price":"cheap","currency":"EUR"}`,
				status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("price")},
			{name: "put without price or title", route: put, method: "PUT", path: admin + "TEE", token: key,
				body:   `{"currency":"EUR"}`,
				status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("title", "price")},
			{name: "put a bad sku", route: put, method: "PUT", path: admin + "BAD%20SKU", token: key, body: tee,
				status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("sku")},
			{name: "put as text", route: put, method: "PUT", path: admin + "TEE", token: key, body: tee,
				header: map[string]string{"Content-Type": "text/plain"},
				status: http.StatusUnsupportedMediaType, problem: "unsupported-media-type"},

			{name: "admin get", route: getAdmin, method: "GET", path: admin + "TEE", token: key,
				status: http.StatusOK, want: map[string]any{"sku": "TEE", "stock": 5, "version": 2}, check: header("Cache-Control", "no-store")},
			{name: "admin get without a key", route: getAdmin, method: "GET", path: admin + "TEE",
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "admin get another shop's product", route: getAdmin, method: "GET", path: admin + "THEIRS", token: key,
				status: http.StatusNotFound, problem: "product-not-found"},

			{name: "public get", route: get, method: "GET", path: "/v1/shops/acme/products/TEE",
				status: http.StatusOK, want: map[string]any{"sku": "TEE", "title": "Tee", "price": 1500, "currency": "EUR",
					"attributes": map[string]any{"colour": "blue"}, "images": []any{}, "version": 2},
				check: func(t *testing.T, res *httptest.ResponseRecorder) {
					if e := res.Header().Get("ETag"); e != `"v2"` || res.Header().Get("Cache-Control") == "" {
						t.Errorf("ETag %q, Cache-Control %q", e, res.Header().Get("Cache-Control"))
					}
					if _, ok := decodeBody[map[string]any](t, res)["stock"]; ok {
						t.Error("the public product shows its stock")
					}
				}},
			{name: "public get, If-None-Match", route: get, method: "GET", path: "/v1/shops/acme/products/TEE",
				header: map[string]string{"If-None-Match": `"v2"`}, status: http.StatusNotModified, check: header("ETag", `"v2"`)},
			{name: "public get, weak If-None-Match", route: get, method: "GET", path: "/v1/shops/acme/products/TEE",
				header: map[string]string{"If-None-Match": `"x", W/"v2"`}, status: http.StatusNotModified},
			{name: "public get, stale If-None-Match", route: get, method: "GET", path: "/v1/shops/acme/products/TEE",
				header: map[string]string{"If-None-Match": `"v1"`}, status: http.StatusOK},
			{name: "public get of another shop's product", route: get, method: "GET", path: "/v1/shops/acme/products/THEIRS",
				status: http.StatusNotFound, problem: "product-not-found"},
			{name: "public get in an unknown shop", route: get, method: "GET", path: "/v1/shops/nope/products/TEE",
				status: http.StatusNotFound, problem: "shop-not-found"},

			{name: "list", route: list, method: "GET", path: "/v1/shops/acme/products",
				status: http.StatusOK, check: func(t *testing.T, res *httptest.ResponseRecorder) {
					if skus := listSKUs(t, res); len(skus) != 1 || skus[0] != "TEE" {
						t.Errorf("items %v", skus)
					}
					etag = res.Header().Get("ETag")
				}},
			{name: "list, another ETag", route: list, method: "GET", path: "/v1/shops/acme/products",
				header: map[string]string{"If-None-Match": `"l"`}, status: http.StatusOK},
			{name: "list with a bad limit", route: list, method: "GET", path: "/v1/shops/acme/products?limit=0",
				status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("limit")},
			{name: "list in an unknown shop", route: list, method: "GET", path: "/v1/shops/nope/products",
				status: http.StatusNotFound, problem: "shop-not-found"},
		})
		// The list's own ETag answers 304 while the list is the same.
		r.run(t, []row{
			{name: "list, its ETag", route: list, method: "GET", path: "/v1/shops/acme/products",
				header: map[string]string{"If-None-Match": etag}, status: http.StatusNotModified, check: header("ETag", etag)},
			{name: "delete without a key", route: del, method: "DELETE", path: admin + "TEE",
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "delete another shop's product", route: del, method: "DELETE", path: admin + "THEIRS", token: key,
				status: http.StatusNotFound, problem: "product-not-found"},
			{name: "delete", route: del, method: "DELETE", path: admin + "TEE", token: key, status: http.StatusNoContent},
			{name: "delete again", route: del, method: "DELETE", path: admin + "TEE", token: key,
				status: http.StatusNotFound, problem: "product-not-found"},
			{name: "admin get after delete", route: getAdmin, method: "GET", path: admin + "TEE", token: key,
				status: http.StatusNotFound, problem: "product-not-found"},
			{name: "list after a change, its old ETag", route: list, method: "GET", path: "/v1/shops/acme/products",
				header: map[string]string{"If-None-Match": etag}, status: http.StatusOK},
		})
	})
}

func TestSearchAndRecommendationHandlers(t *testing.T) {
	t.Parallel()
	eachEngine(t, nil, func(t *testing.T, r *rig) {
		key := r.newShop("acme")
		r.newProduct("acme", key, "TEE", 5)
		r.newProduct("acme", key, "MUG", 5)
		const search = "GET /v1/shops/{shop}/search"
		const recs = "GET /v1/shops/{shop}/products/{sku}/recommendations"
		r.run(t, []row{
			{name: "search", route: search, method: "GET", path: "/v1/shops/acme/search?q=MUG",
				status: http.StatusOK, check: func(t *testing.T, res *httptest.ResponseRecorder) {
					if skus := listSKUs(t, res); len(skus) != 1 || skus[0] != "MUG" {
						t.Errorf("items %v", skus)
					}
					if res.Header().Get("ETag") == "" {
						t.Error("no ETag")
					}
				}},
			{name: "search with a bad limit", route: search, method: "GET", path: "/v1/shops/acme/search?q=x&limit=101",
				status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("limit")},
			{name: "search in an unknown shop", route: search, method: "GET", path: "/v1/shops/nope/search?q=x",
				status: http.StatusNotFound, problem: "shop-not-found"},
			{name: "recommendations", route: recs, method: "GET", path: "/v1/shops/acme/products/TEE/recommendations",
				status: http.StatusOK, check: func(t *testing.T, res *httptest.ResponseRecorder) {
					listSKUs(t, res) // a list, empty before any sale
				}},
			{name: "recommendations of an unknown product", route: recs, method: "GET", path: "/v1/shops/acme/products/NOPE/recommendations",
				status: http.StatusNotFound, problem: "product-not-found"},
			{name: "switch search off", route: "PUT /v1/admin/flags/{flag}", method: "PUT", path: "/v1/admin/flags/search", token: r.adminKey,
				body: `{"enabled":false}`, status: http.StatusOK},
			{name: "search, switched off, lists", route: search, method: "GET", path: "/v1/shops/acme/search?q=MUG",
				status: http.StatusOK, check: func(t *testing.T, res *httptest.ResponseRecorder) {
					header("Surge-Degraded", "search-disabled")(t, res)
					if skus := listSKUs(t, res); len(skus) != 2 {
						t.Errorf("items %v, want the whole listing", skus)
					}
				}},
			{name: "switch recommendations off", route: "PUT /v1/admin/flags/{flag}", method: "PUT", path: "/v1/admin/flags/recommendations", token: r.adminKey,
				body: `{"enabled":false}`, status: http.StatusOK},
			{name: "recommendations, switched off", route: recs, method: "GET", path: "/v1/shops/acme/products/TEE/recommendations",
				status: http.StatusOK, check: header("Surge-Degraded", "recommendations-disabled")},
		})
	})
}

func TestInventoryHandlers(t *testing.T) {
	t.Parallel()
	eachEngine(t, nil, func(t *testing.T, r *rig) {
		key := r.newShop("acme")
		otherKey := r.newShop("other")
		r.newProduct("acme", key, "TEE", 5)
		r.newProduct("other", otherKey, "THEIRS", 1)
		const get = "GET /v1/shops/{shop}/admin/inventory/{sku}"
		const restock = "POST /v1/shops/{shop}/admin/inventory/{sku}/restock"
		r.run(t, []row{
			{name: "level", route: get, method: "GET", path: "/v1/shops/acme/admin/inventory/TEE", token: key,
				status: http.StatusOK, want: map[string]any{"sku": "TEE", "received": 5, "available": 5, "reserved": 0, "sold": 0}},
			{name: "level without a key", route: get, method: "GET", path: "/v1/shops/acme/admin/inventory/TEE",
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "level of another shop's product", route: get, method: "GET", path: "/v1/shops/acme/admin/inventory/THEIRS", token: key,
				status: http.StatusNotFound, problem: "product-not-found"},
			{name: "restock", route: restock, method: "POST", path: "/v1/shops/acme/admin/inventory/TEE/restock", token: key,
				body: `{"quantity":3}`, status: http.StatusOK, want: map[string]any{"received": 8, "available": 8, "version": 2}, check: header("ETag", `"v2"`)},
			{name: "restock with a stale If-Match", route: restock, method: "POST", path: "/v1/shops/acme/admin/inventory/TEE/restock", token: key,
				header: map[string]string{"If-Match": `"v1"`}, body: `{"quantity":3}`, status: http.StatusPreconditionFailed, problem: "precondition-failed"},
			{name: "restock zero", route: restock, method: "POST", path: "/v1/shops/acme/admin/inventory/TEE/restock", token: key,
				body: `{"quantity":0}`, status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("quantity")},
			{name: "restock an unknown field", route: restock, method: "POST", path: "/v1/shops/acme/admin/inventory/TEE/restock", token: key,
				body: `{"quantity":1,"units":1}`, status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("units")},
			{name: "restock malformed", route: restock, method: "POST", path: "/v1/shops/acme/admin/inventory/TEE/restock", token: key,
				body: `[`, status: http.StatusBadRequest, problem: "malformed-json"},
			{name: "restock another shop's product", route: restock, method: "POST", path: "/v1/shops/acme/admin/inventory/THEIRS/restock", token: key,
				body: `{"quantity":1}`, status: http.StatusNotFound, problem: "product-not-found"},
			{name: "restock with another shop's key", route: restock, method: "POST", path: "/v1/shops/acme/admin/inventory/TEE/restock", token: otherKey,
				body: `{"quantity":1}`, status: http.StatusForbidden, problem: "forbidden"},
			{name: "level after restock", route: get, method: "GET", path: "/v1/shops/acme/admin/inventory/TEE", token: key,
				status: http.StatusOK, want: map[string]any{"received": 8, "available": 8}, check: header("ETag", `"v2"`)},
		})
	})
}

// listSKUs returns the SKUs of a product list answer.
func listSKUs(t *testing.T, res *httptest.ResponseRecorder) []string {
	t.Helper()
	body := decodeBody[struct {
		Items []struct {
			SKU string `json:"sku"`
		} `json:"items"`
	}](t, res)
	if body.Items == nil {
		t.Fatalf("no items array: %s", res.Body)
	}
	skus := []string{}
	for _, it := range body.Items {
		skus = append(skus, it.SKU)
	}
	return skus
}
