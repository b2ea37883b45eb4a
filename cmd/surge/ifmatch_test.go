package main

import (
	"net/http"
	"strings"
	"sync"
	"testing"
)

// Admin product writes honour If-Match and If-None-Match: a stale ETag is
// 412 problem+json and changes nothing, a create-only put never replaces,
// every read and write carries the ETag the next write compares, and of
// two admins racing with the same ETag exactly one wins.
func TestProductPreconditions(t *testing.T) {
	for _, e := range catEngines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			productPreconditions(t, catCreateShop(t, startSurge(t, e.env(t)), "precond"))
		})
	}
}

func productPreconditions(t *testing.T, c catShop) {
	url := c.url("/admin/products/TEE")
	isPrecondFailed := func(code int, h http.Header, body string) bool {
		return code == http.StatusPreconditionFailed && h.Get("Content-Type") == "application/problem+json" &&
			strings.Contains(body, `/problems/precondition-failed"`)
	}

	code, h, body := do(t, "PUT", url, c.key, catProduct("TEE", "Tee", 1000), "If-Match", `"v1"`)
	if !isPrecondFailed(code, h, body) {
		t.Fatalf("If-Match on a missing product: %d %s", code, body)
	}
	code, h, body = do(t, "PUT", url, c.key, catProduct("TEE", "Tee", 1000), "If-None-Match", "*")
	if code != http.StatusCreated || h.Get("ETag") == "" {
		t.Fatalf("create-only put: %d %v %s", code, h, body)
	}
	created := h.Get("ETag")
	code, h, body = do(t, "PUT", url, c.key, catProduct("TEE", "Replaced", 1000), "If-None-Match", "*")
	if !isPrecondFailed(code, h, body) {
		t.Fatalf("create-only put over an existing product: %d %s", code, body)
	}
	code, h, _ = do(t, "GET", url, c.key, "")
	if code != 200 || h.Get("ETag") != created {
		t.Fatalf("admin GET: %d ETag %q, want %q", code, h.Get("ETag"), created)
	}

	code, h, body = do(t, "PUT", url, c.key, catProduct("TEE", "Tee 2", 1200), "If-Match", created)
	if code != 200 || h.Get("ETag") == "" || h.Get("ETag") == created {
		t.Fatalf("matching put: %d ETag %q %s", code, h.Get("ETag"), body)
	}
	current := h.Get("ETag")
	code, h, body = do(t, "PUT", url, c.key, catProduct("TEE", "Stale", 1), "If-Match", created)
	if !isPrecondFailed(code, h, body) {
		t.Fatalf("stale put: %d %s", code, body)
	}
	code, h, body = do(t, "DELETE", url, c.key, "", "If-Match", created)
	if !isPrecondFailed(code, h, body) {
		t.Fatalf("stale delete: %d %s", code, body)
	}
	if _, _, body = do(t, "GET", url, c.key, ""); !strings.Contains(body, `"Tee 2"`) {
		t.Fatalf("failed preconditions changed the product: %s", body)
	}

	// Two admins holding the same ETag: exactly one write lands.
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _, _ = do(t, "PUT", url, c.key, catProduct("TEE", "Racer", 1300+i), "If-Match", current)
		}()
	}
	wg.Wait()
	won := 0
	for _, code := range codes {
		if code/100 == 2 {
			won++
		} else if code != http.StatusPreconditionFailed {
			t.Errorf("racing put: %d, want 2xx or 412", code)
		}
	}
	if won != 1 {
		t.Fatalf("racing puts answered %v; want exactly one 2xx", codes)
	}
	code, h, _ = do(t, "GET", url, c.key, "")
	if code != 200 {
		t.Fatal(code)
	}
	if code, _, body = do(t, "DELETE", url, c.key, "", "If-Match", h.Get("ETag")); code != http.StatusNoContent {
		t.Fatalf("matching delete: %d %s", code, body)
	}
}
