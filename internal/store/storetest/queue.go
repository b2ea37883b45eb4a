package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/flashsale"
	"github.com/surge-commerce/surge/internal/shop"
	"github.com/surge-commerce/surge/internal/store"
)

// testQueue checks waiting-room places: 1, 2, 3... per sale in join
// order, the same place on joining again, no place given twice under
// concurrent joins, and no queue for a SKU that is not on sale.
func testQueue(t *testing.T, s *store.Store) {
	c := ctx(t)
	sh := must[shop.Shop](t)(s.CreateShop(c, "queue", "Queue", "queue-key", t0))
	for _, sku := range []string{"HOT", "WARM"} {
		if _, _, err := s.PutProduct(c, product(sh.ID, sku, 1000), t0); err != nil {
			t.Fatal(err)
		}
		sale := flashsale.Sale{SKU: sku, Stock: 1000, StartsAt: t0, Buckets: 4, AdmissionRate: 10, AdmissionBurst: 10}
		if err := s.StartSale(c, sh.ID, sale, t0); err != nil {
			t.Fatal(err)
		}
	}
	join := func(sku, customer string) int64 {
		t.Helper()
		return must[int64](t)(s.JoinQueue(c, sh.ID, sku, customer, time.Now()))
	}
	for i := range 3 {
		if got := join("HOT", fmt.Sprint("seq-", i)); got != int64(i+1) {
			t.Fatalf("joiner %d got place %d, want %d", i, got, i+1)
		}
	}
	if got := join("HOT", "seq-0"); got != 1 {
		t.Fatalf("joining again gave place %d, want 1", got)
	}
	if got := join("WARM", "seq-2"); got != 1 {
		t.Fatalf("first in another sale's queue got place %d, want 1", got)
	}

	// Concurrent joins: every place taken once.
	const n = 40
	places := make([]int64, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			p, err := s.JoinQueue(c, sh.ID, "HOT", fmt.Sprint("rush-", i), time.Now())
			places[i] = p
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(places)
	for i, p := range places {
		if p != int64(i+4) {
			t.Fatalf("concurrent places %v: want 4..%d each once", places, n+3)
		}
	}

	if _, err := s.JoinQueue(c, sh.ID, "NOSALE", "x", time.Now()); !errcode.Is(err, errcode.NotFound) {
		t.Fatalf("joining a queue with no sale: %v, want not_found", err)
	}
}
