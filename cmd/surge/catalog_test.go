package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// catEngines are the engines the catalog runs on: it must behave the same
// on both.
var catEngines = engines

// catShop is a shop the catalog tests fill.
type catShop struct{ shop }

func catCreateShop(t *testing.T, s *surge, slug string) catShop {
	t.Helper()
	return catShop{newShop(t, s.URL, s.AdminKey, slug)}
}

func (c catShop) put(t *testing.T, sku, body string) (int, string) {
	t.Helper()
	code, _, resp := do(t, "PUT", c.url("/admin/products/"+sku), c.key, body)
	return code, resp
}

// catList follows next_cursor through the whole public listing.
func catList(t *testing.T, c catShop, limit int) []string {
	t.Helper()
	var skus []string
	cursor := ""
	for range 1000 {
		code, _, body := do(t, "GET", c.url(fmt.Sprintf("/products?limit=%d&cursor=%s", limit, url.QueryEscape(cursor))), "", "")
		if code != http.StatusOK {
			t.Fatalf("list: %d %s", code, body)
		}
		var page struct {
			Items []struct {
				SKU string `json:"sku"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		if err := json.Unmarshal([]byte(body), &page); err != nil {
			t.Fatal(err)
		}
		if len(page.Items) > limit {
			t.Fatalf("page of %d items for limit %d", len(page.Items), limit)
		}
		for _, it := range page.Items {
			skus = append(skus, it.SKU)
		}
		if page.NextCursor == "" {
			return skus
		}
		cursor = page.NextCursor
	}
	t.Fatal("the listing never ended")
	return nil
}

func catProduct(sku, title string, price int) string {
	return fmt.Sprintf(`{"title":%q,"description":"plain cotton","price":%d,"currency":"EUR","stock":7,"attributes":{"size":"M"},"images":["https://img.example/%s.png"]}`, title, price, sku)
}

// TestCatalog walks the catalog API on both engines: shops, product
// create/update/delete, conditional reads, pagination, search, bad input
// that changes nothing, and tenant isolation.
func TestCatalog(t *testing.T) {
	for _, e := range catEngines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			s := startSurge(t, e.env(t))
			acme := catCreateShop(t, s, "acme")
			other := catCreateShop(t, s, "other")
			t.Run("products", func(t *testing.T) { catProducts(t, acme) })
			t.Run("bad input", func(t *testing.T) { catBadInput(t, acme) })
			t.Run("tenants", func(t *testing.T) { catTenants(t, acme, other) })
		})
	}
}

func catProducts(t *testing.T, c catShop) {
	for i := range 23 {
		sku := fmt.Sprintf("P%02d", i)
		if code, body := c.put(t, sku, catProduct(sku, "Tee "+sku, 1000+i)); code != http.StatusCreated {
			t.Fatalf("create %s: %d %s", sku, code, body)
		}
	}
	code, body := c.put(t, "SCARF", `{"title":"Red wool scarf","description":"a warm scarf for winter","price":2500,"currency":"EUR","stock":3}`)
	if code != http.StatusCreated {
		t.Fatalf("create SCARF: %d %s", code, body)
	}
	if code, body := c.put(t, "HAT", `{"title":"Wool hat","description":"goes with the scarf","price":1500,"currency":"EUR","stock":3}`); code != http.StatusCreated {
		t.Fatalf("create HAT: %d %s", code, body)
	}

	// Conditional reads, then an update that must be visible at once.
	code, h, body := do(t, "GET", c.url("/products/P00"), "", "")
	etag := h.Get("ETag")
	if code != http.StatusOK || etag == "" || !strings.Contains(h.Get("Cache-Control"), "stale-while-revalidate") ||
		!strings.Contains(body, `"title":"Tee P00"`) || !strings.Contains(body, `"price":1000`) {
		t.Fatalf("get: %d %v %s", code, h, body)
	}
	if code, _, body := do(t, "GET", c.url("/products/P00"), "", "", "If-None-Match", etag); code != http.StatusNotModified || body != "" {
		t.Fatalf("If-None-Match: %d %q", code, body)
	}
	if code, body := c.put(t, "P00", catProduct("P00", "Tee renamed", 1111)); code != http.StatusOK || !strings.Contains(body, `"version":2`) {
		t.Fatalf("update: %d %s", code, body)
	}
	code, h, body = do(t, "GET", c.url("/products/P00"), "", "", "If-None-Match", etag)
	if code != http.StatusOK || h.Get("ETag") == etag || !strings.Contains(body, `"title":"Tee renamed"`) || !strings.Contains(body, `"price":1111`) {
		t.Fatalf("after update: %d %v %s", code, h, body)
	}

	// Every product exactly once across pages, whatever the page size.
	for _, limit := range []int{1, 7, 100} {
		skus := catList(t, c, limit)
		seen := map[string]bool{}
		for _, sku := range skus {
			if seen[sku] {
				t.Fatalf("limit %d: %s listed twice", limit, sku)
			}
			seen[sku] = true
		}
		if len(skus) != 25 {
			t.Fatalf("limit %d: listed %d products, want 25: %v", limit, len(skus), skus)
		}
	}

	code, _, body = do(t, "GET", c.url("/search?q=scarf"), "", "")
	var found struct {
		Items []struct {
			SKU string `json:"sku"`
		} `json:"items"`
	}
	if code != http.StatusOK || json.Unmarshal([]byte(body), &found) != nil {
		t.Fatalf("search: %d %s", code, body)
	}
	if len(found.Items) != 2 || found.Items[0].SKU != "SCARF" || found.Items[1].SKU != "HAT" {
		t.Fatalf("search scarf = %s; want SCARF (title) ranked above HAT (description)", body)
	}

	if code, _, body := do(t, "DELETE", c.url("/admin/products/HAT"), c.key, ""); code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", code, body)
	}
	if code, _, _ := do(t, "GET", c.url("/products/HAT"), "", ""); code != http.StatusNotFound {
		t.Fatalf("deleted product: %d, want 404", code)
	}
	if code, _, _ := do(t, "DELETE", c.url("/admin/products/HAT"), c.key, ""); code != http.StatusNotFound {
		t.Fatalf("second delete: %d, want 404", code)
	}
	if n := len(catList(t, c, 100)); n != 24 {
		t.Fatalf("%d products listed after delete, want 24", n)
	}
}

// catBadInput sends each kind of bad request and proves it changed
// nothing: the product it aimed at and the listing read back the same.
func catBadInput(t *testing.T, c catShop) {
	if code, body := c.put(t, "KEEP", catProduct("KEEP", "Kept", 500)); code != http.StatusCreated && code != http.StatusOK {
		t.Fatalf("create KEEP: %d %s", code, body)
	}
	snapshot := func() string {
		_, _, kept := do(t, "GET", c.url("/admin/products/KEEP"), c.key, "")
		return kept + "|" + strings.Join(catList(t, c, 100), ",")
	}
	before := snapshot()
	long := strings.Repeat("x", 10_000)
	tests := []struct {
		name, method, path, body string
		status                   int
		problem, field           string
	}{
		{"malformed JSON", "PUT", "/admin/products/KEEP", `{"title":`, 400, "malformed-json", ""},
		{"unknown field", "PUT", "/admin/products/KEEP", `{"title":"T","price":1,"currency":"EUR","stock":1,"colour":"red"}`, 422, "validation", "colour"},
		{"over-long title", "PUT", "/admin/products/KEEP", `{"title":"` + long + `","price":1,"currency":"EUR","stock":1}`, 422, "validation", "title"},
		{"NUL in the title", "PUT", "/admin/products/KEEP", `{"title":"a\u0000b","price":1,"currency":"EUR","stock":1}`, 422, "validation", "title"},
		{"NUL in an attribute", "PUT", "/admin/products/KEEP", `{"title":"T","price":1,"currency":"EUR","stock":1,"attributes":{"k":"a\u0000"}}`, 422, "validation", "attributes.k"},
		{"negative price", "PUT", "/admin/products/KEEP", `{"title":"T","price":-1,"currency":"EUR","stock":1}`, 422, "validation", "price"},
		{"fractional price", "PUT", "/admin/products/KEEP", `{"title":"T","price":1.5,"currency":"EUR","stock":1}`, 422, "validation", "price"},
		{"unknown currency", "PUT", "/admin/products/KEEP", `{"title":"T","price":1,"currency":"XQZ","stock":1}`, 422, "validation", "currency"},
		{"negative stock", "PUT", "/admin/products/KEEP", `{"title":"T","price":1,"currency":"EUR","stock":-1}`, 422, "validation", "stock"},
		{"SKU with a space", "PUT", "/admin/products/BAD%20SKU", catProduct("X", "T", 1), 422, "validation", "sku"},
		{"SKU too long", "PUT", "/admin/products/" + strings.Repeat("S", 65), catProduct("X", "T", 1), 422, "validation", "sku"},
		{"body over the cap", "PUT", "/admin/products/KEEP", `{"title":"T","description":"` + strings.Repeat("d", 2<<20) + `","price":1,"currency":"EUR","stock":1}`, 413, "", ""},
		{"unknown SKU", "GET", "/products/NOPE", "", 404, "", ""},
		{"unknown SKU delete", "DELETE", "/admin/products/NOPE", "", 404, "", ""},
		{"bad cursor", "GET", "/products?cursor=not-a-cursor", "", 422, "validation", "cursor"},
		{"limit over the cap", "GET", "/products?limit=101", "", 422, "validation", "limit"},
	}
	for _, tc := range tests {
		code, h, body := do(t, tc.method, c.url(tc.path), c.key, tc.body)
		if code != tc.status || !strings.HasPrefix(h.Get("Content-Type"), "application/problem+json") {
			t.Errorf("%s: %d %s %.300s; want %d problem+json", tc.name, code, h.Get("Content-Type"), body, tc.status)
			continue
		}
		if tc.problem != "" && !strings.Contains(body, `/problems/`+tc.problem+`"`) {
			t.Errorf("%s: problem type in %.300s; want %s", tc.name, body, tc.problem)
		}
		if tc.field != "" && !strings.Contains(body, `"field":"`+tc.field+`"`) {
			t.Errorf("%s: %.300s does not name field %q", tc.name, body, tc.field)
		}
		if after := snapshot(); after != before {
			t.Fatalf("%s changed the catalog:\nbefore %s\nafter  %s", tc.name, before, after)
		}
	}

	// Shop creation: bad payloads create nothing, a duplicate slug is 409.
	for _, body := range []string{`{"slug":"Bad Slug","name":"x"}`, `{"slug":"ok-slug","name":"x","extra":1}`, `{"slug":"ok-slug"`} {
		code, _, resp := do(t, "POST", c.base+"/v1/admin/shops", c.admin, body)
		if code != http.StatusBadRequest && code != http.StatusUnprocessableEntity {
			t.Errorf("create shop %s: %d %s; want 400 or 422", body, code, resp)
		}
	}
	if code, _, _ := do(t, "GET", c.base+"/v1/shops/ok-slug/products", "", ""); code != http.StatusNotFound {
		t.Errorf("a rejected shop exists: %d", code)
	}
	if code, _, body := do(t, "POST", c.base+"/v1/admin/shops", c.admin, `{"slug":"`+c.slug+`","name":"Again"}`); code != http.StatusConflict {
		t.Errorf("duplicate slug: %d %s; want 409", code, body)
	}
	if code, _, _ := do(t, "GET", c.base+"/v1/shops/no-such-shop/products/KEEP", "", ""); code != http.StatusNotFound {
		t.Errorf("unknown shop: %d, want 404", code)
	}
}

// catTenants proves that one shop's key opens nothing of another's, that
// no key or a wrong key is 401, and that a rotated key stops working.
func catTenants(t *testing.T, acme, other catShop) {
	if code, body := other.put(t, "SECRET", catProduct("SECRET", "Other's", 900)); code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	_, _, before := do(t, "GET", other.url("/admin/products/SECRET"), other.key, "")
	requests := []struct{ method, path, body string }{
		{"GET", "/admin/products/SECRET", ""},
		{"PUT", "/admin/products/SECRET", catProduct("SECRET", "Stolen", 1)},
		{"PUT", "/admin/products/NEW", catProduct("NEW", "Planted", 1)},
		{"DELETE", "/admin/products/SECRET", ""},
		{"GET", "/admin/inventory/SECRET", ""},
		{"POST", "/admin/inventory/SECRET/restock", `{"quantity":5}`},
		{"GET", "/admin/orders", ""},
		{"POST", "/admin/keys", `{}`},
	}
	for _, r := range requests {
		for _, k := range []struct {
			name, key string
			want      int
		}{
			{"another shop's key", acme.key, http.StatusForbidden},
			{"no key", "", http.StatusUnauthorized},
			{"a wrong key", "sk_wrong", http.StatusUnauthorized},
			{"the platform admin key", acme.admin, http.StatusUnauthorized},
		} {
			code, h, body := do(t, r.method, other.url(r.path), k.key, r.body)
			if code != k.want || !strings.HasPrefix(h.Get("Content-Type"), "application/problem+json") {
				t.Errorf("%s %s with %s: %d %.200s; want %d", r.method, r.path, k.name, code, body, k.want)
			}
		}
	}
	if _, _, after := do(t, "GET", other.url("/admin/products/SECRET"), other.key, ""); after != before {
		t.Fatalf("another shop's requests changed the product:\nbefore %s\nafter  %s", before, after)
	}
	if code, _, _ := do(t, "GET", other.url("/products/NEW"), "", ""); code != http.StatusNotFound {
		t.Fatalf("another shop's key planted a product: %d", code)
	}
	if code, _, _ := do(t, "PUT", acme.base+"/v1/admin/shops/other/tier", acme.key, `{"tier":"premium"}`); code != http.StatusUnauthorized {
		t.Errorf("a shop key on a platform route: %d, want 401", code)
	}

	// Rotation: the new key works at once, the old one stops.
	code, _, body := do(t, "POST", other.url("/admin/keys"), other.key, `{}`)
	var rotated struct {
		APIKey string `json:"api_key"`
	}
	if code != http.StatusOK && code != http.StatusCreated || json.Unmarshal([]byte(body), &rotated) != nil || rotated.APIKey == "" {
		t.Fatalf("rotate: %d %s", code, body)
	}
	if code, _, _ := do(t, "GET", other.url("/admin/products/SECRET"), other.key, ""); code != http.StatusUnauthorized {
		t.Errorf("old key after rotation: %d, want 401", code)
	}
	if code, _, _ := do(t, "GET", other.url("/admin/products/SECRET"), rotated.APIKey, ""); code != http.StatusOK {
		t.Errorf("new key after rotation: %d, want 200", code)
	}
}
