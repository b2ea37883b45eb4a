package storetest

import (
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/audit"
	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/inventory"
	"github.com/surge-commerce/surge/internal/order"
	"github.com/surge-commerce/surge/internal/store"
)

// A SKU's level follows its orders; a restock adds to received and
// available with its ledger row, for that shop's SKU alone
// (docs/INVARIANTS.md, I10, I6).
func testInventory(t *testing.T, s *store.Store) {
	c := ctx(t)
	sl := NewSeller(t, s, "stocked", "SKU-1")
	other := NewSeller(t, s, "other", "SKU-1")
	const stock = 1_000_000 // what NewSeller stocks
	level := func(shopID int64) inventory.Level {
		t.Helper()
		return must[inventory.Level](t)(s.Level(c, shopID, "SKU-1"))
	}
	if got, want := level(sl.ShopID), (inventory.Level{SKU: "SKU-1", Received: stock, Available: stock, Version: 1}); got != want {
		t.Fatalf("fresh level = %+v, want %+v", got, want)
	}
	sl.Order(t, order.PendingPayment, "SKU-1")
	sl.Order(t, order.Paid, "SKU-1")
	sl.Order(t, order.Cancelled, "SKU-1")
	// Orders move units, not the version: only the shop's stock changes do.
	want := inventory.Level{SKU: "SKU-1", Received: stock, Available: stock - 2, Reserved: 1, Sold: 1, Version: 1}
	if got := level(sl.ShopID); got != want {
		t.Fatalf("level after orders = %+v, want %+v", got, want)
	}

	want.Received, want.Available, want.Version = want.Received+5, want.Available+5, 2
	if got := must[inventory.Level](t)(s.Restock(c, sl.ShopID, "SKU-1", 5)); got != want {
		t.Fatalf("Restock = %+v, want %+v", got, want)
	}
	if got := level(sl.ShopID); got != want {
		t.Fatalf("level read back = %+v, want %+v", got, want)
	}
	if got := level(other.ShopID); got.Received != stock || got.Available != stock {
		t.Fatalf("another shop's level changed: %+v", got)
	}
	wantLedger(t, s, sl.ShopID, "SKU-1", stock+5)

	_, err := s.Level(c, sl.ShopID, "NOPE")
	wantCode(t, err, errcode.NotFound)
	_, err = s.Restock(c, sl.ShopID, "NOPE", 5)
	wantCode(t, err, errcode.NotFound)
}

// A deleted product has no level, and restocking it is refused and
// changes nothing: neither its counters nor the stock ledger.
func testRestockDeleted(t *testing.T, s *store.Store) {
	c := ctx(t)
	sl := NewSeller(t, s, "gone", "SKU-1")
	if err := s.DeleteProduct(c, sl.ShopID, "SKU-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	_, err := s.Level(c, sl.ShopID, "SKU-1")
	wantCode(t, err, errcode.NotFound)
	_, err = s.Restock(c, sl.ShopID, "SKU-1", 5)
	wantCode(t, err, errcode.NotFound)
	wantLedger(t, s, sl.ShopID, "SKU-1", 1_000_000)
}

// wantLedger fails unless a SKU's received units and its stock ledger
// both come to received.
func wantLedger(t *testing.T, s *store.Store, shopID int64, sku string, received int64) {
	t.Helper()
	snap := must[audit.Snapshot](t)(s.AuditSnapshot(ctx(t), audit.SnapshotQuery{Cutoff: time.Now()}))
	for _, r := range snap.Stock {
		if r.ShopID == shopID && r.SKU == sku {
			if r.Received != received || r.Ledger != received {
				t.Fatalf("%s: received %d, ledger %d; want both %d", sku, r.Received, r.Ledger, received)
			}
			return
		}
	}
	t.Fatalf("no stock row for %s", sku)
}
