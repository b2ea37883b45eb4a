package storetest

import (
	"maps"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/flashsale"
	"github.com/surge-commerce/surge/internal/order"
	"github.com/surge-commerce/surge/internal/precondition"
	"github.com/surge-commerce/surge/internal/shop"
	"github.com/surge-commerce/surge/internal/store"
)

// Feature flags are stored by name, the last write winning, and read back
// all together.
func testFlags(t *testing.T, s *store.Store) {
	c := ctx(t)
	if got := must[map[string]bool](t)(s.Flags(c)); len(got) != 0 {
		t.Fatalf("fresh store has flags %v", got)
	}
	for _, f := range []struct {
		name string
		on   bool
	}{{"checkout.v2", true}, {"search.fuzzy", true}, {"checkout.v2", false}} {
		if err := s.SetFlag(c, f.name, f.on, t0); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]bool{"checkout.v2": false, "search.fuzzy": true}
	if got := must[map[string]bool](t)(s.Flags(c)); !maps.Equal(got, want) {
		t.Fatalf("Flags = %v, want %v", got, want)
	}
}

// A shop starts on the standard tier; a new tier is returned and kept, for
// that shop alone.
func testShopTiers(t *testing.T, s *store.Store) {
	c := ctx(t)
	sh := must[shop.Shop](t)(createShop(c, s, "tiered"))
	other := must[shop.Shop](t)(createShop(c, s, "untiered"))
	if sh.Tier != "standard" {
		t.Fatalf("new shop's tier = %q, want standard", sh.Tier)
	}
	got, err := s.SetShopTier(c, "tiered", "enterprise", precondition.Condition{})
	if err != nil || got.ID != sh.ID || got.Tier != "enterprise" {
		t.Fatalf("SetShopTier = %+v, %v; want shop %d on enterprise", got, err, sh.ID)
	}
	// Setting the tier a shop has already is no miss: the shop is found.
	if got := must[shop.Shop](t)(s.SetShopTier(c, "tiered", "enterprise", precondition.Condition{})); got.Tier != "enterprise" {
		t.Fatalf("SetShopTier to the same tier = %+v", got)
	}
	if got := must[shop.Shop](t)(s.ShopBySlug(c, "tiered")); got.Tier != "enterprise" {
		t.Fatalf("tier read back = %q, want enterprise", got.Tier)
	}
	if got := must[shop.Shop](t)(s.ShopBySlug(c, "untiered")); got != other {
		t.Fatalf("another shop changed: %+v, want %+v", got, other)
	}
	_, err = s.SetShopTier(c, "nope", "free", precondition.Condition{})
	wantCode(t, err, errcode.NotFound)
}

// Ping answers on a live store and fails once it is closed.
func testPing(t *testing.T, s *store.Store) {
	c := ctx(t)
	if err := s.Ping(c); err != nil {
		t.Fatalf("Ping on a live store: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(c); err == nil {
		t.Fatal("Ping on a closed store succeeded")
	}
}

// The relay's wake-up is signalled when an order or a sale commits its
// events, and not before (docs/INVARIANTS.md, I5). The signal is sent
// before the write returns.
func testOutboxWake(t *testing.T, s *store.Store) {
	sl := NewSeller(t, s, "wake", "SKU-1")
	woken := func() bool {
		select {
		case <-s.OutboxWake():
			return true
		default:
			return false
		}
	}
	if woken() {
		t.Fatal("wake-up signalled with no event committed")
	}
	sl.Order(t, order.PendingPayment, "SKU-1")
	if !woken() {
		t.Fatal("no wake-up after an order committed its event")
	}
	sale := flashsale.Sale{SKU: "SKU-1", Stock: 1_000_000, Buckets: 1, StartsAt: t0}
	if err := s.StartSale(ctx(t), sl.ShopID, sale, time.Now()); err != nil {
		t.Fatal(err)
	}
	if !woken() {
		t.Fatal("no wake-up after a sale committed its event")
	}
}
