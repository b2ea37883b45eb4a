package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/cart"
	"github.com/surge-commerce/surge/internal/customer"
	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/shop"
	"github.com/surge-commerce/surge/internal/store"
)

// A cart's lines are set, changed and removed; an unknown cart is not
// found and changes nothing; a full cart refuses a new SKU but still takes
// a new quantity of one it holds, even when many lines arrive at once.
func testCarts(t *testing.T, s *store.Store) {
	c := ctx(t)
	sh := must[shop.Shop](t)(createShop(c, s, "carts"))
	if err := s.CreateCustomer(c, customer.Customer{ShopID: sh.ID, ID: "cus_c", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateCart(c, cart.Cart{ShopID: sh.ID, ID: "cart_1", CustomerID: "cus_c", CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	const maxLines = 3
	set := func(sku string, qty int64) error {
		return s.SetCartLine(c, sh.ID, "cart_1", sku, qty, maxLines, t0.Add(time.Minute))
	}
	for _, step := range []struct {
		sku string
		qty int64
	}{{"b", 2}, {"a", 1}, {"b", 5}, {"c", 1}, {"c", 0}} {
		if err := set(step.sku, step.qty); err != nil {
			t.Fatalf("set %s to %d: %v", step.sku, step.qty, err)
		}
	}
	got := must[cart.Cart](t)(s.Cart(c, sh.ID, "cart_1"))
	want := []cart.Line{{SKU: "a", Quantity: 1}, {SKU: "b", Quantity: 5}}
	if fmt.Sprint(got.Lines) != fmt.Sprint(want) || got.CustomerID != "cus_c" || !got.UpdatedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("cart %+v, want lines %v of cus_c, updated a minute later", got, want)
	}

	wantCode(t, s.SetCartLine(c, sh.ID, "cart_none", "a", 1, maxLines, t0), errcode.NotFound)
	wantCode(t, s.SetCartLine(c, sh.ID+1, "cart_1", "a", 1, maxLines, t0), errcode.NotFound)

	// Eight new SKUs at once into a cart with room for one more: exactly
	// one gets in.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() { errs <- set(fmt.Sprintf("n%d", i), 1) })
	}
	wg.Wait()
	close(errs)
	added := 0
	for err := range errs {
		switch {
		case err == nil:
			added++
		case errcode.Is(err, errcode.Conflict):
		default:
			t.Fatal(err)
		}
	}
	if got := must[cart.Cart](t)(s.Cart(c, sh.ID, "cart_1")); added != 1 || len(got.Lines) != maxLines {
		t.Fatalf("%d of 8 new SKUs added, cart has %d lines; want 1 and %d", added, len(got.Lines), maxLines)
	}
	if err := set("a", 9); err != nil {
		t.Fatalf("a full cart refused a new quantity of a SKU it holds: %v", err)
	}
	wantCode(t, set("z", 1), errcode.Conflict)
}
