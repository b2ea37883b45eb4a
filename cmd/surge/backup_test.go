package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// A backup taken while checkouts commit is a consistent copy; one taken
// at a quiet moment restores into a fresh instance that holds every order
// and passes the audit (docs/DR.md).
func TestBackupAndRestore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := startSurge(t, map[string]string{"SURGE_DATA": filepath.Join(dir, "a"), "SURGE_RATE_LIMITS": "off"}, "--demo")
	key := demoShopKey(t, a)
	buy := func(n int) {
		_, _, body := do(t, "POST", a.URL+"/v1/shops/demo/customers", "", "")
		var cu struct{ Token string }
		_ = json.Unmarshal([]byte(body), &cu)
		code, _, body := do(t, "POST", a.URL+"/v1/shops/demo/checkout", cu.Token,
			`{"items":[{"sku":"NOTEBOOK-A5","quantity":1}]}`, "Idempotency-Key", fmt.Sprintf("backup-%d", n))
		if code != 201 {
			t.Errorf("checkout %d: %d %s", n, code, body)
		}
	}
	for i := range 5 {
		buy(i)
	}

	// Online: checkouts go on while the copy is taken.
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 100; !stop.Load(); i++ {
			buy(i)
		}
	})
	online := filepath.Join(dir, "online.tar.gz")
	runOK(t, "backup", "--out", online, "--data", filepath.Join(dir, "a"))
	stop.Store(true)
	wg.Wait()
	out := runOK(t, "restore", "--from", online, "--data", filepath.Join(dir, "online"))
	if !strings.Contains(out, "restored the sqlite backup") {
		t.Fatalf("restore said: %s", out)
	}

	// Quiet: the restored instance is the one backed up.
	requireAudit(t, a.URL, a.AdminKey)
	orders := countOrders(t, a.URL, key)
	quiet := filepath.Join(dir, "quiet.tar.gz")
	runOK(t, "backup", "--out", quiet, "--data", filepath.Join(dir, "a"))
	runOK(t, "restore", "--from", quiet, "--data", filepath.Join(dir, "b"))
	if _, err := cli(t, nil, "restore", "--from", quiet, "--data", filepath.Join(dir, "b")); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("restoring over a restored directory: %v, want a refusal", err)
	}
	b := startSurge(t, map[string]string{"SURGE_DATA": filepath.Join(dir, "b"), "SURGE_RATE_LIMITS": "off"})
	if got := countOrders(t, b.URL, key); got != orders {
		t.Fatalf("restored instance holds %d orders, the original %d", got, orders)
	}
	requireAudit(t, b.URL, b.AdminKey)
}

// demoShopKey makes a shop key for the demo shop (its own is printed once).
func demoShopKey(t *testing.T, s *surge) string {
	t.Helper()
	_, _, body := do(t, "POST", s.URL+"/v1/admin/shops/demo/keys", s.AdminKey, `{"grace_seconds":3600}`)
	var key struct {
		APIKey string `json:"api_key"`
	}
	if err := json.Unmarshal([]byte(body), &key); err != nil || key.APIKey == "" {
		t.Fatalf("demo shop key: %s", body)
	}
	return key.APIKey
}

func countOrders(t *testing.T, base, key string) int {
	t.Helper()
	n, cursor := 0, ""
	for {
		code, _, body := do(t, "GET", base+"/v1/shops/demo/admin/orders?limit=100&cursor="+cursor, key, "")
		var page struct {
			Items      []json.RawMessage `json:"items"`
			NextCursor string            `json:"next_cursor"`
		}
		if code != 200 || json.Unmarshal([]byte(body), &page) != nil {
			t.Fatalf("orders: %d %s", code, body)
		}
		n += len(page.Items)
		if page.NextCursor == "" {
			return n
		}
		cursor = page.NextCursor
	}
}
