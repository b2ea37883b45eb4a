package main

import (
	"context"
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
