package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/testrig"
)

// The API reference at /docs is drawn in a real browser from the served
// /openapi.json by the vendored Redoc, under a policy that lets the page
// reach nothing but this server.
func TestAPIReferenceInABrowser(t *testing.T) {
	t.Parallel()
	s := startSurge(t, nil)
	code, h, body := do(t, "GET", s.URL+"/docs", "", "")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || h.Get("ETag") == "" {
		t.Fatalf("GET /docs: %d %s %q", code, h.Get("Content-Type"), h.Get("ETag"))
	}
	assets := regexp.MustCompile(`src="(/web/[0-9a-f]+/[^"]+)"`).FindAllStringSubmatch(body, -1)
	if len(assets) == 0 {
		t.Fatalf("/docs names no asset:\n%s", body)
	}
	for _, a := range assets {
		if code, h, _ := do(t, "GET", s.URL+a[1], "", ""); code != 200 || !strings.Contains(h.Get("Cache-Control"), "immutable") {
			t.Fatalf("GET %s: %d %q", a[1], code, h.Get("Cache-Control"))
		}
	}

	chromium := testrig.Chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=15000", "--dump-dom", s.URL+"/docs").Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	// Redoc drew the operations of this server's document: the checkout's
	// summary comes from /openapi.json, not from the page.
	dom := string(out)
	for _, want := range []string{`role="menuitem"`, "/v1/shops/{shop}/checkout"} {
		if !strings.Contains(dom, want) {
			t.Fatalf("the rendered page lacks %q; is Redoc running under the page's policy?\n%.2000s", want, dom)
		}
	}
}

// The pages in a real browser (internal/web/e2e, playwright-core driving
// Debian's chromium): a buyer pays on a 360 px screen, a double click
// places one order, a keyboard alone buys, a sale counts down to its start
// on the server's clock, a flash sale sells out while its page shows, and
// the ops console shows a sale's units falling and the audit passing.
func TestStorefrontInABrowser(t *testing.T) {
	t.Parallel()
	node, chromium := testrig.Node(t), testrig.Chromium(t)
	s := startSurge(t, map[string]string{"SURGE_RATE_LIMITS": "off"}, "--demo")
	_, _, body := do(t, "POST", s.URL+"/v1/admin/shops/demo/keys", s.AdminKey, `{"grace_seconds":600}`)
	var key struct {
		APIKey string `json:"api_key"`
	}
	if err := json.Unmarshal([]byte(body), &key); err != nil || key.APIKey == "" {
		t.Fatalf("a shop key for the demo shop: %s", body)
	}
	if code, _, body := do(t, "PUT", s.URL+"/v1/shops/demo/admin/products/DROP-E2E", key.APIKey,
		`{"title":"Browser drop","description":"Three pairs","price":9900,"currency":"EUR","stock":3}`); code/100 != 2 {
		t.Fatalf("product: %d %s", code, body)
	}
	if code, _, body := do(t, "PUT", s.URL+"/v1/shops/demo/admin/sales/DROP-E2E", key.APIKey,
		`{"stock":3,"admission_rate":50,"admission_burst":50}`); code/100 != 2 {
		t.Fatalf("sale: %d %s", code, body)
	}
	if code, _, body := do(t, "PUT", s.URL+"/v1/shops/demo/admin/products/DROP-OPS", key.APIKey,
		`{"title":"Console drop","description":"Watched live","price":4900,"currency":"EUR","stock":10}`); code/100 != 2 {
		t.Fatalf("product: %d %s", code, body)
	}
	if code, _, body := do(t, "PUT", s.URL+"/v1/shops/demo/admin/sales/DROP-OPS", key.APIKey, `{"stock":10}`); code/100 != 2 {
		t.Fatalf("sale: %d %s", code, body)
	}
	// A sale two hours away, for the countdown before anyone joins.
	if code, _, body := do(t, "PUT", s.URL+"/v1/shops/demo/admin/products/DROP-SOON", key.APIKey,
		`{"title":"Coming drop","description":"Not yet","price":5900,"currency":"EUR","stock":5}`); code/100 != 2 {
		t.Fatalf("product: %d %s", code, body)
	}
	soon := time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339)
	if code, _, body := do(t, "PUT", s.URL+"/v1/shops/demo/admin/sales/DROP-SOON", key.APIKey,
		`{"stock":5,"admission_rate":10,"starts_at":"`+soon+`"}`); code/100 != 2 {
		t.Fatalf("sale: %d %s", code, body)
	}
	dir := "../../internal/web/e2e"
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if _, err := os.Stat(dir + "/node_modules/playwright-core"); err != nil {
		install := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
		install.Dir = dir
		if out, err := install.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	cmd := exec.CommandContext(ctx, node, "--test", "storefront.test.js", "ops.test.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SURGE_URL="+s.URL, "CHROMIUM="+chromium, "SHOP_KEY="+key.APIKey, "SALE_SKU=DROP-E2E",
		"SOON_SKU=DROP-SOON", "OPS_SKU=DROP-OPS", "ADMIN_KEY="+s.AdminKey)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test storefront.test.js: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
