package storetest

import (
	"sync"
	"testing"

	"github.com/surge-commerce/surge/internal/catalog"
	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/flashsale"
	"github.com/surge-commerce/surge/internal/inventory"
	"github.com/surge-commerce/surge/internal/notify"
	"github.com/surge-commerce/surge/internal/order"
	"github.com/surge-commerce/surge/internal/precondition"
	"github.com/surge-commerce/surge/internal/shop"
	"github.com/surge-commerce/surge/internal/store"
)

// Every admin write other than a product's takes If-Match the same way:
// a stale version changes nothing, If-None-Match: * never replaces what
// exists, a good version writes and moves the version on, and of two
// writers holding one version exactly one wins.
func testAdminPreconditions(t *testing.T, s *store.Store) {
	match := func(v ...int64) precondition.Condition { return precondition.Condition{Match: true, Versions: v} }
	absent := precondition.Condition{Absent: true}

	t.Run("Tier", func(t *testing.T) {
		c := ctx(t)
		sh := must[shop.Shop](t)(createShop(c, s, "pre-tier"))
		v := must[shop.Shop](t)(s.ShopBySlug(c, sh.Slug)).Version
		_, err := s.SetShopTier(c, sh.Slug, "free", match(v+1))
		wantCode(t, err, errcode.PreconditionFailed)
		_, err = s.SetShopTier(c, sh.Slug, "free", absent)
		wantCode(t, err, errcode.PreconditionFailed)
		_, err = s.SetShopTier(c, "pre-nobody", "free", match(1))
		wantCode(t, err, errcode.NotFound)
		if got := must[shop.Shop](t)(s.ShopBySlug(c, sh.Slug)); got.Tier != sh.Tier || got.Version != v {
			t.Fatalf("failed preconditions changed the shop: %+v", got)
		}
		got := must[shop.Shop](t)(s.SetShopTier(c, sh.Slug, "enterprise", match(v)))
		if got.Tier != "enterprise" || got.Version != v+1 {
			t.Fatalf("matching tier change = %+v", got)
		}
		race(t, "tier", func(i int) error {
			_, err := s.SetShopTier(c, sh.Slug, shop.Tiers[i], match(v+1))
			return err
		})
		if got := must[shop.Shop](t)(s.ShopBySlug(c, sh.Slug)); got.Version != v+2 {
			t.Fatalf("after the race the shop is at version %d, want %d", got.Version, v+2)
		}
	})

	t.Run("Flag", func(t *testing.T) {
		c := ctx(t)
		name := "pre-flag"
		f, found, err := s.Flag(c, name)
		if err != nil || found || f.Version != 0 {
			t.Fatalf("a flag never set = %+v %v %v, want version 0 and not found", f, found, err)
		}
		wantCode(t, s.SetFlagIf(c, name, false, t0, match(1)), errcode.PreconditionFailed)
		wantCode(t, s.SetFlagIf(c, name, false, t0, absent), errcode.PreconditionFailed) // known flags always exist
		// Two admins who both saw the flag unset (version 0): one wins.
		race(t, "flag insert", func(i int) error { return s.SetFlagIf(c, name, i == 0, t0, match(0)) })
		if f, found, _ := s.Flag(c, name); !found || f.Version != 1 {
			t.Fatalf("after the first race the flag is %+v, want version 1", f)
		}
		wantCode(t, s.SetFlagIf(c, name, true, t0, match(0)), errcode.PreconditionFailed)
		race(t, "flag update", func(i int) error { return s.SetFlagIf(c, name, i == 0, t0, match(1)) })
		if f, _, _ := s.Flag(c, name); f.Version != 2 {
			t.Fatalf("after the second race the flag is at version %d, want 2", f.Version)
		}
		if err := s.SetFlag(c, name, true, t0); err != nil { // unconditional: still moves the version
			t.Fatal(err)
		}
		if f, _, _ := s.Flag(c, name); f.Version != 3 || !f.Enabled {
			t.Fatalf("after an unconditional set the flag is %+v", f)
		}
	})

	t.Run("Sale", func(t *testing.T) {
		c := ctx(t)
		ss := &saleShop{s: s, shop: must[shop.Shop](t)(createShop(c, s, "pre-sale")), sku: "HOT"}
		must[catalog.Product](t)(first(s.PutProduct(c, product(ss.shop.ID, ss.sku, 10), t0)))
		sale := ss.sale(10, 2)
		wantCode(t, s.StartSaleIf(c, ss.shop.ID, sale, t0, match(1)), errcode.PreconditionFailed) // no sale yet
		if err := s.StartSaleIf(c, ss.shop.ID, sale, t0, absent); err != nil {
			t.Fatal(err)
		}
		wantCode(t, s.StartSaleIf(c, ss.shop.ID, sale, t0, absent), errcode.PreconditionFailed)
		got := must[flashsale.Sale](t)(s.Sale(c, ss.shop.ID, ss.sku))
		if got.Version != 1 {
			t.Fatalf("a new sale at version %d, want 1", got.Version)
		}
		changed := ss.sale(8, 2)
		wantCode(t, s.StartSaleIf(c, ss.shop.ID, changed, t0, match(2)), errcode.PreconditionFailed)
		ss.checkStock(t, 10)
		race(t, "sale", func(i int) error { return s.StartSaleIf(c, ss.shop.ID, ss.sale(int64(8+i), 2), t0, match(1)) })
		if got := must[flashsale.Sale](t)(s.Sale(c, ss.shop.ID, ss.sku)); got.Version != 2 {
			t.Fatalf("after the race the sale is at version %d, want 2", got.Version)
		}
		wantCode(t, s.EndSaleIf(c, ss.shop.ID, ss.sku, match(1)), errcode.PreconditionFailed)
		if _, err := s.Sale(c, ss.shop.ID, ss.sku); err != nil {
			t.Fatalf("a stale end ended the sale: %v", err)
		}
		if err := s.EndSaleIf(c, ss.shop.ID, ss.sku, match(2)); err != nil {
			t.Fatal(err)
		}
		wantCode(t, s.EndSaleIf(c, ss.shop.ID, ss.sku, match(2)), errcode.NotFound)
	})

	t.Run("Restock", func(t *testing.T) {
		c := ctx(t)
		sl := NewSeller(t, s, "pre-stock", "RS-1")
		l := must[inventory.Level](t)(s.Level(c, sl.ShopID, "RS-1"))
		_, err := s.RestockIf(c, sl.ShopID, "RS-1", 5, match(l.Version+1))
		wantCode(t, err, errcode.PreconditionFailed)
		_, err = s.RestockIf(c, sl.ShopID, "RS-1", 5, absent)
		wantCode(t, err, errcode.PreconditionFailed)
		_, err = s.RestockIf(c, sl.ShopID, "RS-9", 5, match(1))
		wantCode(t, err, errcode.NotFound)
		// A sale moves units, not the version: only the shop's changes do.
		sl.Order(t, order.Paid, "RS-1")
		after := must[inventory.Level](t)(s.Level(c, sl.ShopID, "RS-1"))
		if after.Received != l.Received || after.Version != l.Version {
			t.Fatalf("failed restocks or a sale changed the inventory's stock or version: %+v, before %+v", after, l)
		}
		race(t, "restock", func(int) error {
			_, err := s.RestockIf(c, sl.ShopID, "RS-1", 5, match(l.Version))
			return err
		})
		got := must[inventory.Level](t)(s.Level(c, sl.ShopID, "RS-1"))
		if got.Received != l.Received+5 || got.Version != l.Version+1 {
			t.Fatalf("after the race %+v, want 5 more received once and the version moved on once from %+v", got, l)
		}
	})

	t.Run("Order", func(t *testing.T) {
		c := ctx(t)
		sl := NewSeller(t, s, "pre-order", "PO-1")
		o := sl.Order(t, order.Paid, "PO-1")
		_, err := s.TransitionOrderIf(c, o.ID, order.Paid, order.Fulfilled, t0, match(o.Version+1))
		wantCode(t, err, errcode.PreconditionFailed)
		_, err = s.RefundOrderIf(c, o.ID, t0, match(o.Version+1))
		wantCode(t, err, errcode.PreconditionFailed)
		// Fulfil and refund race from the same version: one wins.
		race(t, "order", func(i int) error {
			var err error
			if i == 0 {
				_, err = s.TransitionOrderIf(c, o.ID, order.Paid, order.Fulfilled, t0, match(o.Version))
			} else {
				_, err = s.RefundOrderIf(c, o.ID, t0, match(o.Version))
			}
			return err
		})
		got := must[order.Order](t)(s.Order(c, o.ID))
		if got.Version != o.Version+1 || (got.Status != order.Fulfilled && got.Status != order.Refunded) {
			t.Fatalf("after the race %s at version %d, want one transition from version %d", got.Status, got.Version, o.Version)
		}
		// A good version but the wrong status is the status's conflict.
		_, err = s.TransitionOrderIf(c, o.ID, order.Paid, order.Fulfilled, t0, match(got.Version))
		wantCode(t, err, errcode.Conflict)
	})

	t.Run("Notification", func(t *testing.T) {
		c := ctx(t)
		sh := must[shop.Shop](t)(createShop(c, s, "pre-ntf"))
		_, err := s.ApplyNotifications(c, []notify.Rendered{{EventID: "evt_pre", Notification: notify.Notification{ShopID: sh.ID,
			ID: "ntf_pre", OrderID: "ord_pre", Kind: "order.paid", Recipient: "a@example.com", Subject: "s", Body: "b", CreatedAt: t0}}})
		if err != nil {
			t.Fatal(err)
		}
		version := func() int64 {
			ns := must[[]notify.Notification](t)(s.Notifications(c, sh.ID, "ord_pre", 1))
			if len(ns) != 1 {
				t.Fatalf("%d notifications", len(ns))
			}
			return ns[0].Version
		}
		v := version()
		wantCode(t, s.RetryNotificationIf(c, sh.ID, "ntf_pre", match(v)), errcode.NotFound) // not failed
		if err := s.NotificationFailed(c, sh.ID, "ntf_pre", "550 no such user", t0, true, t0); err != nil {
			t.Fatal(err)
		}
		if version() != v+1 {
			t.Fatalf("a failed attempt left the version at %d", version())
		}
		wantCode(t, s.RetryNotificationIf(c, sh.ID, "ntf_pre", match(v)), errcode.PreconditionFailed)
		wantCode(t, s.RetryNotificationIf(c, sh.ID, "ntf_pre", absent), errcode.PreconditionFailed)
		wantCode(t, s.RetryNotificationIf(c, sh.ID, "ntf_none", match(v)), errcode.NotFound)
		race(t, "notification", func(int) error { return s.RetryNotificationIf(c, sh.ID, "ntf_pre", match(v+1)) })
		if version() != v+2 {
			t.Fatalf("after the race the notification is at version %d, want %d", version(), v+2)
		}
	})
}

// race runs two writers at once and wants exactly one to win; the other
// must fail its precondition, or find the state moved on (not found: a
// notification no longer failed; conflict: an order no longer paid, or on
// PostgreSQL a serialization failure). The callers check that exactly one
// write happened.
func race(t *testing.T, what string, write func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() { errs[i] = write(i) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case errcode.Is(err, errcode.PreconditionFailed), errcode.Is(err, errcode.Conflict), errcode.Is(err, errcode.NotFound):
		default:
			t.Fatalf("racing %s: %v", what, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d of 2 racing %s writers won (%v), want 1", won, what, errs)
	}
}
