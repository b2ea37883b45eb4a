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
		return must[int64](t)(s.JoinQueue(c, sh.ID, sku, customer, time.Now(), 0))
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
			p, err := s.JoinQueue(c, sh.ID, "HOT", fmt.Sprint("rush-", i), time.Now(), 0)
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

	if _, err := s.JoinQueue(c, sh.ID, "NOSALE", "x", time.Now(), 0); !errcode.Is(err, errcode.NotFound) {
		t.Fatalf("joining a queue with no sale: %v, want not_found", err)
	}
}

// testPreQueue checks the pre-queue: who joined before the start gets,
// once the queue is shuffled, a place among 1..P in the order of their
// draws, not of their arrival; later arrivals come after all of them in
// their arrival order; a second shuffle changes nothing; a new start time
// reopens the shuffle (docs/INVARIANTS.md, I11).
func testPreQueue(t *testing.T, s *store.Store) {
	c := ctx(t)
	sh := must[shop.Shop](t)(s.CreateShop(c, "prequeue", "Pre-queue", "prequeue-key", t0))
	if _, _, err := s.PutProduct(c, product(sh.ID, "DROP", 1000), t0); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(time.Hour).Truncate(time.Microsecond)
	sale := flashsale.Sale{SKU: "DROP", Stock: 1000, StartsAt: start, Buckets: 4, AdmissionRate: 10, AdmissionBurst: 10}
	if err := s.StartSale(c, sh.ID, sale, t0); err != nil {
		t.Fatal(err)
	}
	const early = 200
	before := start.Add(-time.Minute)
	for i := range early {
		// Draws descend with arrival: the shuffle must reverse the order.
		if _, err := s.JoinQueue(c, sh.ID, "DROP", fmt.Sprint("early-", i), before, int64(early-i)); err != nil {
			t.Fatal(err)
		}
	}
	place := func(customer string) int64 {
		t.Helper()
		return must[int64](t)(s.QueuePlace(c, sh.ID, "DROP", customer))
	}
	if err := s.ShuffleQueue(c, sh.ID, "DROP", start, start); err != nil {
		t.Fatal(err)
	}
	if got := must[flashsale.Sale](t)(s.Sale(c, sh.ID, "DROP")); !got.QueueShuffled {
		t.Fatal("the sale does not say its queue was shuffled")
	}
	seen := map[int64]bool{}
	for i := range early {
		p := place(fmt.Sprint("early-", i))
		if want := int64(early - i); p != want {
			t.Fatalf("early arrival %d (draw %d) has place %d, want %d", i, early-i, p, want)
		}
		seen[p] = true
	}
	if len(seen) != early {
		t.Fatalf("%d distinct places for %d early arrivals", len(seen), early)
	}
	var last int64
	for i := range 3 {
		p := must[int64](t)(s.JoinQueue(c, sh.ID, "DROP", fmt.Sprint("late-", i), start.Add(time.Second), 0))
		if p <= early || p <= last {
			t.Fatalf("late arrival %d has place %d, want after %d and after %d", i, p, early, last)
		}
		last = p
	}
	// Shuffling again (another replica at the start) changes nothing.
	if err := s.ShuffleQueue(c, sh.ID, "DROP", start, start.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if p := place("early-0"); p != early {
		t.Fatalf("a second shuffle moved early-0 to %d", p)
	}
	// A new start time opens a new pre-queue shuffle.
	sale.StartsAt = start.Add(time.Hour)
	if err := s.StartSale(c, sh.ID, sale, t0); err != nil {
		t.Fatal(err)
	}
	if got := must[flashsale.Sale](t)(s.Sale(c, sh.ID, "DROP")); got.QueueShuffled {
		t.Fatal("a new start time kept the old shuffle")
	}
}
