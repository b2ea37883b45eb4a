package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/surge-commerce/surge/internal/drill"
)

// sqliteFaultCheckout is one checkout sent while the database was broken.
type sqliteFaultCheckout struct{ key, order string }

// checkoutDuringFault sends a checkout while the database cannot take
// writes: the answer must be an acknowledgement or a clean 503
// problem, never a 500 or a hang (the client gives up after 90 s).
func checkoutDuringFault(t *testing.T, shop shop, token, key string) (acked string, refused bool) {
	t.Helper()
	r := api.call("POST", shop.url("/checkout"), token, ckItems("TEE", 1), "Idempotency-Key", key)
	switch {
	case r.err != nil:
		t.Fatalf("checkout %s: %v", key, r.err)
	case r.code == http.StatusCreated || r.code == http.StatusAccepted:
		return r.orderID(), false
	case r.code != http.StatusServiceUnavailable:
		t.Fatalf("checkout %s while the database cannot write: %s, want 201, 202 or 503", key, r)
	case !strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") || !strings.Contains(r.body, `"type"`):
		t.Fatalf("checkout %s: a 503 that is not a problem: %s", key, r)
	}
	return "", true
}

// requireCheckoutsKept retries every key once the database is back: each
// must end in one order, and an order acknowledged during the fault must be
// the one answered again (docs/INVARIANTS.md, I3 and I4).
func requireCheckoutsKept(t *testing.T, shop shop, token string, sent []sqliteFaultCheckout) {
	t.Helper()
	for _, c := range sent {
		r := ckCheckout(shop.base, shop.slug, token, c.key, ckItems("TEE", 1), true, nil)
		if r.code != http.StatusCreated && r.code != http.StatusAccepted {
			t.Fatalf("retry of %s after the fault: %s", c.key, r)
		}
		if c.order != "" && r.orderID() != c.order {
			t.Fatalf("retry of %s: order %s, acknowledged during the fault as %s", c.key, r.orderID(), c.order)
		}
	}
	requireAudit(t, shop.base, shop.admin)
}

// TestSQLiteLockedDatabase: another process holds an exclusive lock on the
// database for a while. Checkouts are refused with a 503 problem within
// their deadline instead of hanging, and go through once the lock is gone.
func TestSQLiteLockedDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	env := ckLoadEnv(map[string]string{"SURGE_REQUEST_TIMEOUT": "2s"})
	p := startProcess(t, env)
	shop := newShop(t, p.URL, p.AdminKey, "locked")
	shop.product(t, "TEE", 1000, 0)
	token := shop.customers(t, 1)[0]
	if r := ckCheckout(p.URL, "locked", token, "before", ckItems("TEE", 1), true, nil); r.code != http.StatusCreated && r.code != http.StatusAccepted {
		t.Fatalf("checkout before the lock: %s", r)
	}

	// The lock waits for surge's own short writes (the sweeper, the relay)
	// to finish, as a second program would.
	release, err := drill.LockSQLite(t.Context(), filepath.Join(p.Data, "surge.db"))
	if err != nil {
		t.Fatal(err)
	}
	var sent []sqliteFaultCheckout
	refused := 0
	for i := range 3 {
		key := fmt.Sprintf("locked-%d", i)
		order, no := checkoutDuringFault(t, shop, token, key)
		sent = append(sent, sqliteFaultCheckout{key, order})
		if no {
			refused++
		}
	}
	if refused == 0 {
		t.Fatal("every checkout was acknowledged while another process held the database's exclusive lock")
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	requireCheckoutsKept(t, shop, token, sent)
}

// TestSQLiteFullDisk puts the data directory on a small tmpfs and fills
// it: checkouts are refused with a 503 problem, nothing acknowledged is
// lost, and once space is freed checkouts go through and the audit passes.
func TestSQLiteFullDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	mnt := t.TempDir()
	if err := drill.MountTmpfs(mnt, "64m"); err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", mnt).Run() })
	data := filepath.Join(mnt, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	env := ckLoadEnv(map[string]string{"SURGE_DATA": data})
	p := startProcess(t, env)
	shop := newShop(t, p.URL, p.AdminKey, "full")
	shop.product(t, "TEE", 100000, 0)
	token := shop.customers(t, 1)[0]
	if r := ckCheckout(p.URL, "full", token, "before", ckItems("TEE", 1), true, nil); r.code != http.StatusCreated && r.code != http.StatusAccepted {
		t.Fatalf("checkout before the disk is full: %s", r)
	}

	filler := filepath.Join(mnt, "filler")
	if err := drill.FillDisk(filler); err != nil {
		t.Fatal(err)
	}
	var sent []sqliteFaultCheckout
	refused := 0
	// SQLite reuses its write-ahead log's pages, so a few writes may still
	// fit; the disk is full once one is refused.
	for i := 0; i < 500 && refused == 0; i++ {
		key := fmt.Sprintf("full-%d", i)
		order, no := checkoutDuringFault(t, shop, token, key)
		sent = append(sent, sqliteFaultCheckout{key, order})
		if no {
			refused++
		}
	}
	if refused == 0 {
		t.Fatalf("%d checkouts acknowledged on a full disk and none refused", len(sent))
	}
	t.Logf("full disk: %d checkouts, the last refused", len(sent))
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	requireCheckoutsKept(t, shop, token, sent)
}
