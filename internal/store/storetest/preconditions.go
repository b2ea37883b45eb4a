package storetest

import (
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/catalog"
	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/shop"
	"github.com/surge-commerce/surge/internal/store"
)

// Conditional product writes: a stale If-Match changes nothing, a
// create-only put never replaces, and of two writers holding the same
// version exactly one wins.
func testProductPreconditions(t *testing.T, s *store.Store) {
	c := ctx(t)
	sh := must[shop.Shop](t)(createShop(c, s, "precond"))
	match := func(v ...int64) catalog.Precondition { return catalog.Precondition{Match: true, Versions: v} }

	_, _, err := s.PutProductIf(c, product(sh.ID, "P-1", 3), t0, match(1))
	wantCode(t, err, errcode.PreconditionFailed) // If-Match on nothing
	p, created, err := s.PutProductIf(c, product(sh.ID, "P-1", 3), t0, catalog.Precondition{Absent: true})
	if err != nil || !created || p.Version != 1 {
		t.Fatalf("create-only put = %+v %v %v", p, created, err)
	}
	_, _, err = s.PutProductIf(c, product(sh.ID, "P-1", 9), t0, catalog.Precondition{Absent: true})
	wantCode(t, err, errcode.PreconditionFailed)
	stale := product(sh.ID, "P-1", 9)
	stale.Title = "stale"
	_, _, err = s.PutProductIf(c, stale, t0, match(7))
	wantCode(t, err, errcode.PreconditionFailed)
	if got := must[catalog.Product](t)(s.Product(c, sh.ID, "P-1")); got.Version != 1 || got.Stock != 3 || got.Title == "stale" {
		t.Fatalf("failed preconditions changed the product: %+v", got)
	}
	p = must[catalog.Product](t)(first(s.PutProductIf(c, product(sh.ID, "P-1", 4), t0, match(1))))
	if p.Version != 2 || p.Stock != 4 {
		t.Fatalf("matching put = %+v", p)
	}
	wantCode(t, s.DeleteProductIf(c, sh.ID, "P-1", t0, match(1)), errcode.PreconditionFailed)
	wantCode(t, s.DeleteProductIf(c, sh.ID, "P-9", t0, match(1)), errcode.NotFound)
	if err := s.DeleteProductIf(c, sh.ID, "P-1", t0, match(2)); err != nil {
		t.Fatal(err)
	}

	// The race: both writers hold version 1; exactly one may write.
	must[catalog.Product](t)(first(s.PutProduct(c, product(sh.ID, "RACE", 1), t0)))
	race(t, "product put", func(i int) error {
		_, _, err := s.PutProductIf(c, product(sh.ID, "RACE", int64(10+i)), t0.Add(time.Second), match(1))
		return err
	})
	if got := must[catalog.Product](t)(s.Product(c, sh.ID, "RACE")); got.Version != 2 {
		t.Fatalf("after the race the product is at version %d, want 2", got.Version)
	}
}
