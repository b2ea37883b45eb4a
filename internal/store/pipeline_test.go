package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/catalog"
	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/customer"
	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/flashsale"
	"github.com/surge-commerce/surge/internal/inventory"
	"github.com/surge-commerce/surge/internal/order"
	"github.com/surge-commerce/surge/internal/store"
	"github.com/surge-commerce/surge/internal/store/storetest"
	"github.com/surge-commerce/surge/internal/testrig"
)

// A checkout refused after its writes were queued, or cut off by its
// caller half-way, leaves nothing behind, and its connection goes back to
// the pool with no transaction open: on a pool of one connection, every
// later write must still commit and be seen by another pool.
func TestRefusedCheckoutLeavesNothing(t *testing.T) {
	onBothEngines(t, 1, func(t *testing.T, cfg store.Config) {
		testRefusedCheckout(t, openMigrated(t, cfg), func() *store.Store { return openMigrated(t, cfg) })
	})
}

// onBothEngines runs test in parallel on SQLite and PostgreSQL, each with
// a pool of maxConns.
func onBothEngines(t *testing.T, maxConns int, test func(*testing.T, store.Config)) {
	t.Parallel()
	for _, engine := range []string{store.SQLite, store.Postgres} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			cfg := store.Config{DataDir: t.TempDir(), MaxConns: maxConns}
			if engine == store.Postgres {
				cfg = store.Config{DatabaseURL: testrig.PostgresURL(t), MaxConns: maxConns}
			}
			test(t, cfg)
		})
	}
}

func testRefusedCheckout(t *testing.T, s *store.Store, other func() *store.Store) {
	ctx := t.Context()
	now := time.Now()
	sh, err := s.CreateShop(ctx, "pipe", "Pipe", "pipe-key", now)
	if err != nil {
		t.Fatal(err)
	}
	limited := catalog.Product{ShopID: sh.ID, SKU: "limited", Title: "Limited", Price: 500, Currency: "EUR", Stock: 5, PurchaseLimit: 2}
	for _, p := range []catalog.Product{
		{ShopID: sh.ID, SKU: "last", Title: "Last one", Price: 1000, Currency: "EUR", Stock: 1},
		{ShopID: sh.ID, SKU: "other", Title: "Other", Price: 700, Currency: "EUR", Stock: 5},
		limited,
	} {
		if _, _, err := s.PutProduct(ctx, p, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateCustomer(ctx, customer.Customer{ShopID: sh.ID, ID: "cus_a", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	place := func(ctx context.Context, key string, respond func(order.Order) checkout.Response, items ...checkout.Item) (order.Order, error) {
		o, _, err := s.PlaceOrder(ctx, checkout.Placement{
			ShopID: sh.ID, CustomerID: "cus_a", Key: key, Fingerprint: fmt.Sprint(items), OrderID: "ord_" + key,
			Items: items, Now: now, ReservationExpiry: now.Add(time.Hour), LockUntil: now.Add(time.Minute), KeyExpiry: now.Add(time.Hour),
		}, respond)
		return o, err
	}
	respond := func(o order.Order) checkout.Response {
		return checkout.Response{Outcome: checkout.OutcomeAccepted, Body: []byte(`{}`), OrderID: o.ID}
	}

	if _, err := place(ctx, "k1", respond, checkout.Item{SKU: "last", Quantity: 1}); err != nil {
		t.Fatal(err)
	}
	// Out of stock on the last line, after the limited one was counted.
	_, err = place(ctx, "k2", respond, checkout.Item{SKU: "last", Quantity: 1}, checkout.Item{SKU: "limited", Quantity: 2})
	if typeOf(err) != "out_of_stock" {
		t.Fatalf("second order of the last unit: %v, want out_of_stock", err)
	}
	// Over the limit.
	_, err = place(ctx, "k3", respond, checkout.Item{SKU: "limited", Quantity: 3})
	if typeOf(err) != "purchase_limit" {
		t.Fatalf("3 of a product limited to 2: %v, want purchase_limit", err)
	}
	// Cut off by its caller between the reads and the writes. (SQLite's
	// writer runs a write it has taken to its end whatever the caller does,
	// so there the order commits.)
	cut, cancel := context.WithCancel(ctx)
	_, err = place(cut, "k4", func(o order.Order) checkout.Response { cancel(); return respond(o) },
		checkout.Item{SKU: "other", Quantity: 1})
	if s.Engine() == store.Postgres && err == nil {
		t.Fatal("a checkout whose caller gave up committed")
	}
	if s.Engine() == store.SQLite && err != nil {
		t.Fatalf("a checkout taken by the writer did not commit: %v", err)
	}

	// Every refused attempt left its key free and its units on sale: k2
	// and (on PostgreSQL) k4 succeed when retried, and k2 gets the
	// limit's 2 units.
	if _, err := s.Restock(ctx, sh.ID, "last", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := place(ctx, "k2", respond, checkout.Item{SKU: "last", Quantity: 1}, checkout.Item{SKU: "limited", Quantity: 2}); err != nil {
		t.Fatalf("retrying the out-of-stock order after a restock: %v", err)
	}
	if s.Engine() == store.Postgres {
		if _, err := place(ctx, "k4", respond, checkout.Item{SKU: "other", Quantity: 1}); err != nil {
			t.Fatalf("retrying the cut-off order: %v", err)
		}
	}
	_, err = place(ctx, "k5", respond, checkout.Item{SKU: "limited", Quantity: 1})
	if typeOf(err) != "purchase_limit" {
		t.Fatalf("a third unit of a product limited to 2: %v, want purchase_limit", err)
	}
	if _, err := s.Order(ctx, "ord_k3"); !errcode.Is(err, errcode.NotFound) {
		t.Fatalf("the refused order k3 exists: %v", err)
	}

	// Another pool sees it all committed: nothing was left in an open
	// transaction on the one connection.
	o := other()
	for sku, want := range map[string]inventory.Level{
		"last":    {SKU: "last", Received: 2, Available: 0, Reserved: 2},
		"limited": {SKU: "limited", Received: 5, Available: 3, Reserved: 2},
		"other":   {SKU: "other", Received: 5, Available: 4, Reserved: 1},
	} {
		got, err := o.Level(ctx, sh.ID, sku)
		got.Version = 0
		if err != nil || got != want {
			t.Fatalf("%s seen from another pool: %+v (%v), want %+v", sku, got, err, want)
		}
	}
	paid, err := o.CompletePayment(ctx, sh.ID, "ord_k1", "pay_k1", now, respond)
	if err != nil || paid.Status != order.Paid || len(paid.Lines) != 1 {
		t.Fatalf("paying k1: %+v, %v", paid, err)
	}
	if _, err := o.CompletePayment(ctx, sh.ID, "ord_k1", "pay_k1", now, respond); !errcode.Is(err, errcode.Conflict) {
		t.Fatalf("paying k1 twice: %v, want a conflict", err)
	}
	if got, err := s.Level(ctx, sh.ID, "last"); err != nil || got.Sold != 1 || got.Reserved != 1 {
		t.Fatalf("last after paying k1: %+v (%v), want 1 sold and 1 reserved", got, err)
	}
}

func typeOf(err error) string {
	var e *errcode.Error
	if errors.As(err, &e) {
		return e.Type
	}
	return ""
}

// Buyers of a SKU on flash sale get their units from whichever bucket has
// them, though each first tries one at random within its batch; each
// reservation records the bucket it took from, so paying and cancelling
// move the right rows; the sell-out is announced once.
func TestFlashSaleReservationsFindTheirBucket(t *testing.T) {
	onBothEngines(t, 2, func(t *testing.T, cfg store.Config) { testSaleBuckets(t, openMigrated(t, cfg)) })
}

func testSaleBuckets(t *testing.T, s *store.Store) {
	ctx := t.Context()
	now := time.Now()
	const units = 8 // one a bucket: most buyers after the first try an empty one
	sh, err := s.CreateShop(ctx, "sale", "Sale", "sale-key", now)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PutProduct(ctx, catalog.Product{ShopID: sh.ID, SKU: "hot", Title: "Hot", Price: 100, Currency: "EUR", Stock: units}, now); err != nil {
		t.Fatal(err)
	}
	if err := s.StartSale(ctx, sh.ID, flashsale.Sale{SKU: "hot", Stock: units, Buckets: units, StartsAt: now.Add(-time.Second)}, now); err != nil {
		t.Fatal(err)
	}
	respond := func(o order.Order) checkout.Response {
		return checkout.Response{Outcome: checkout.OutcomeAccepted, Body: []byte(`{}`), OrderID: o.ID}
	}
	var orders []order.Order
	for i := range units + 1 {
		cust := fmt.Sprintf("cus_%d", i)
		if err := s.CreateCustomer(ctx, customer.Customer{ShopID: sh.ID, ID: cust, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		key := fmt.Sprintf("k%d", i)
		o, _, err := s.PlaceOrder(ctx, checkout.Placement{
			ShopID: sh.ID, CustomerID: cust, Key: key, Fingerprint: "hot", OrderID: "ord_" + key,
			Items: []checkout.Item{{SKU: "hot", Quantity: 1}}, Now: now, ReservationExpiry: now.Add(time.Hour),
			LockUntil: now.Add(time.Minute), KeyExpiry: now.Add(time.Hour),
		}, respond)
		if i == units {
			if typeOf(err) != "out_of_stock" {
				t.Fatalf("a buyer after the last unit: %v, want out_of_stock", err)
			}
			break
		}
		if err != nil {
			t.Fatalf("buyer %d of %d units: %v", i+1, units, err)
		}
		orders = append(orders, o)
	}
	for i, o := range orders {
		var err error
		if i%2 == 0 {
			_, err = s.CompletePayment(ctx, sh.ID, o.ID, "pay_"+o.ID, now, respond)
		} else {
			_, err = s.CancelOrder(ctx, sh.ID, o.ID, "declined", now, respond)
		}
		if err != nil {
			t.Fatalf("settling %s: %v", o.ID, err)
		}
	}
	want := inventory.Level{SKU: "hot", Received: units, Available: units / 2, Sold: units / 2}
	got, err := s.Level(ctx, sh.ID, "hot")
	got.Version = 0 // the stock's version has tests of its own (storetest)
	if err != nil || got != want {
		t.Fatalf("after paying half and cancelling half: %+v (%v), want %+v", got, err, want)
	}
	var published storetest.Published
	storetest.RelayAll(t, s, published.Publish)
	soldOut := 0
	for _, e := range published.Events() {
		if e.Type == "sale.sold_out" {
			soldOut++
		}
	}
	if soldOut != 1 {
		t.Fatalf("%d sale.sold_out events, want 1", soldOut)
	}
}
