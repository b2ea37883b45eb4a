package storetest

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/analytics"
	"github.com/surge-commerce/surge/internal/event"
	"github.com/surge-commerce/surge/internal/invoice"
	"github.com/surge-commerce/surge/internal/notify"
	"github.com/surge-commerce/surge/internal/recommend"
	"github.com/surge-commerce/surge/internal/store"
)

// testInvoiceBatch checks one batch over two shops: one number per order,
// each shop's numbers from 1 without gaps, a repeated event or order
// invoiced once, and the whole batch again changing nothing.
func testInvoiceBatch(t *testing.T, s *store.Store) {
	a, b := NewSeller(t, s, "inv-a", "A"), NewSeller(t, s, "inv-b", "A")
	paid := func(eventID string, shopID int64, orderID string) invoice.Paid {
		return invoice.Paid{EventID: eventID, ShopID: shopID, Order: event.OrderData{OrderID: orderID, Total: 100, Currency: "EUR"}}
	}
	batch := []invoice.Paid{
		paid("e1", a.ShopID, "o1"), paid("e2", b.ShopID, "o2"), paid("e3", a.ShopID, "o3"),
		paid("e1", a.ShopID, "o1"), // the same event twice
		paid("e4", a.ShopID, "o1"), // another event for an invoiced order
	}
	for i, want := range []int{3, 0} {
		n, err := s.ApplyInvoices(ctx(t), batch, time.Now())
		if err != nil || n != want {
			t.Fatalf("application %d: %d issued, %v; want %d", i+1, n, err, want)
		}
	}
	wantNumbers(t, s, a.ShopID, "o1", "o3")
	wantNumbers(t, s, b.ShopID, "o2")
}

// testInvoiceHandler sends 200 paid events, each twice, through the
// invoice consumer from 16 goroutines at once: 200 invoices numbered
// 1..200, one per order.
func testInvoiceHandler(t *testing.T, s *store.Store) {
	sl := NewSeller(t, s, "inv-many", "A")
	h := invoice.NewHandler(s, time.Now)
	const orders, workers = 200, 16
	var wg sync.WaitGroup
	errs := make(chan error, 2*orders)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < 2*orders; i += workers {
				o := i % orders
				data, _ := json.Marshal(event.OrderData{OrderID: fmt.Sprintf("o%03d", o), Total: 100, Currency: "EUR"})
				errs <- h.Handle(ctx(t), event.Envelope{ID: fmt.Sprintf("e%03d", o), ShopID: sl.ShopID, Type: "order.paid", Data: data})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	invs := must[[]invoice.Invoice](t)(s.Invoices(ctx(t), sl.ShopID, 0, 1000))
	seen := map[string]bool{}
	for i, inv := range invs {
		if inv.Number != int64(i+1) || seen[inv.OrderID] {
			t.Fatalf("invoice %d is %+v (order seen before: %v); want number %d of a new order", i, inv, seen[inv.OrderID], i+1)
		}
		seen[inv.OrderID] = true
	}
	if len(invs) != orders {
		t.Fatalf("%d invoices, want %d", len(invs), orders)
	}
}

// testSalesBatch checks one batch of sales: lines on the same SKU and
// minute summed into one row (with what was there before), a repeated
// event counted once, and the whole batch again changing nothing.
func testSalesBatch(t *testing.T, s *store.Store) {
	a, b := NewSeller(t, s, "sales-a", "HOT", "X"), NewSeller(t, s, "sales-b", "HOT")
	minute := time.Now().Truncate(time.Minute)
	line := func(sku string, qty int64) event.OrderLine {
		return event.OrderLine{SKU: sku, Quantity: qty, UnitPrice: 100}
	}
	sale := func(id string, shopID int64, at time.Time, lines ...event.OrderLine) analytics.Sale {
		return analytics.Sale{EventID: id, ShopID: shopID, At: at, Lines: lines}
	}
	if _, err := s.ApplySales(ctx(t), []analytics.Sale{sale("e0", a.ShopID, minute, line("HOT", 1))}, time.Now()); err != nil {
		t.Fatal(err)
	}
	batch := []analytics.Sale{
		sale("e1", a.ShopID, minute.Add(10*time.Second), line("HOT", 2), line("X", 1)),
		sale("e2", a.ShopID, minute.Add(20*time.Second), line("HOT", 3)),
		sale("e3", b.ShopID, minute, line("HOT", 5)),
		sale("e1", a.ShopID, minute.Add(10*time.Second), line("HOT", 2), line("X", 1)), // the same event twice
		sale("e4", a.ShopID, minute.Add(-time.Hour), line("HOT", 7)),                   // another minute
	}
	for i, want := range []int{4, 0} {
		n, err := s.ApplySales(ctx(t), batch, time.Now())
		if err != nil || n != want {
			t.Fatalf("application %d: %d applied, %v; want %d", i+1, n, err, want)
		}
	}
	for _, tc := range []struct {
		shopID int64
		since  time.Time
		want   string
	}{
		{a.ShopID, minute, "[{HOT 6 600} {X 1 100}]"},
		{a.ShopID, minute.Add(-time.Hour), "[{HOT 13 1300} {X 1 100}]"},
		{b.ShopID, minute, "[{HOT 5 500}]"},
	} {
		got := must[[]analytics.SKUSales](t)(s.BestSellers(ctx(t), tc.shopID, tc.since, 10))
		if fmt.Sprint(got) != tc.want {
			t.Errorf("shop %d since %s: %v, want %s", tc.shopID, tc.since.Format("15:04"), got, tc.want)
		}
	}
}

// testBoughtTogetherBatch checks one batch of orders: pairs repeated across
// the batch summed (with what was there before), both directions counted,
// a repeated event counted once, and the whole batch again changing
// nothing.
func testBoughtTogetherBatch(t *testing.T, s *store.Store) {
	sl := NewSeller(t, s, "pairs", "A", "B", "C")
	bought := func(id string, skus ...string) recommend.Bought {
		return recommend.Bought{EventID: id, ShopID: sl.ShopID, SKUs: skus}
	}
	if _, err := s.ApplyBoughtTogether(ctx(t), []recommend.Bought{bought("e0", "A", "B")}, time.Now()); err != nil {
		t.Fatal(err)
	}
	batch := []recommend.Bought{
		bought("e1", "B", "A"), bought("e2", "A", "B", "C"), bought("e3", "C"),
		bought("e1", "B", "A"), // the same event twice
	}
	for i, want := range []int{3, 0} {
		n, err := s.ApplyBoughtTogether(ctx(t), batch, time.Now())
		if err != nil || n != want {
			t.Fatalf("application %d: %d applied, %v; want %d", i+1, n, err, want)
		}
	}
	for sku, want := range map[string]string{"A": "[{B 3 0} {C 1 0}]", "B": "[{A 3 0} {C 1 0}]", "C": "[{A 1 0} {B 1 0}]"} {
		if got := must[[]analytics.SKUSales](t)(s.BoughtTogether(ctx(t), sl.ShopID, sku, 10)); fmt.Sprint(got) != want {
			t.Errorf("bought with %s: %v, want %s", sku, got, want)
		}
	}
}

// testNotificationBatch checks one batch of notifications: each stored
// once, a repeated event stored once, and the whole batch again changing
// nothing.
func testNotificationBatch(t *testing.T, s *store.Store) {
	sl := NewSeller(t, s, "notes", "A")
	rendered := func(eventID, orderID string) notify.Rendered {
		return notify.Rendered{EventID: eventID, Notification: notify.Notification{ShopID: sl.ShopID, ID: "ntf_" + eventID,
			OrderID: orderID, Kind: "order.paid", Recipient: "r@example.com", Subject: "s", Body: "b", CreatedAt: time.Now()}}
	}
	batch := []notify.Rendered{rendered("e1", "o1"), rendered("e2", "o2"), rendered("e1", "o1")}
	for i, want := range []int{2, 0} {
		n, err := s.ApplyNotifications(ctx(t), batch)
		if err != nil || n != want {
			t.Fatalf("application %d: %d stored, %v; want %d", i+1, n, err, want)
		}
	}
	for _, o := range []string{"o1", "o2"} {
		if ns := must[[]notify.Notification](t)(s.Notifications(ctx(t), sl.ShopID, o, 10)); len(ns) != 1 {
			t.Errorf("order %s: %d notifications, want 1", o, len(ns))
		}
	}
}

// wantNumbers checks a shop's invoices are numbered 1.. for orders, in order.
func wantNumbers(t *testing.T, s *store.Store, shopID int64, orders ...string) {
	t.Helper()
	invs := must[[]invoice.Invoice](t)(s.Invoices(ctx(t), shopID, 0, 100))
	var got []string
	for i, inv := range invs {
		if inv.Number != int64(i+1) {
			t.Fatalf("shop %d: invoices %+v, want numbers 1..%d", shopID, invs, len(invs))
		}
		got = append(got, inv.OrderID)
	}
	if fmt.Sprint(got) != fmt.Sprint(orders) {
		t.Fatalf("shop %d: invoiced %v, want %v", shopID, got, orders)
	}
}
