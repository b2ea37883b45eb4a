package storetest

import (
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/audit"
	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/notify"
	"github.com/surge-commerce/surge/internal/order"
	"github.com/surge-commerce/surge/internal/store"
)

// The audit's count of work in flight (events unpublished or unapplied,
// orders pending, refunds owed) is right on a settled store and sees
// work that was undone behind the store's back (docs/INVARIANTS.md, I5, I9).
func testAuditInFlight(t *testing.T, s *store.Store) {
	c := ctx(t)
	start := time.Now().Add(-time.Second)
	sl := NewSeller(t, s, "inflight", "SKU-1")
	paid := sl.Order(t, order.Paid, "SKU-1")
	sl.Order(t, order.PendingPayment, "SKU-1")
	q := audit.InFlightQuery{At: time.Now(), PendingSince: start, Consumers: map[string][]string{"notify": {"order.paid"}}, Limit: 10}
	inFlight := func() audit.InFlight {
		t.Helper()
		return must[audit.InFlight](t)(s.AuditInFlight(c, q))
	}

	f := inFlight()
	var published Published
	relayed := RelayAll(t, s, published.Publish)
	if f.Unpublished != int64(relayed) || f.PendingOrders != 1 || f.OwedRefunds != 0 || len(f.Unapplied["notify"]) != 0 {
		t.Fatalf("before the relay: %+v; want %d unpublished, 1 pending", f, relayed)
	}
	var paidEvent string
	for _, e := range published.Events() {
		if e.Type == "order.paid" {
			paidEvent = e.ID
		}
	}
	f = inFlight()
	if f.Unpublished != 0 || len(f.Unapplied["notify"]) != 1 || f.Unapplied["notify"][0] != paidEvent {
		t.Fatalf("after the relay: %+v; want %s unapplied", f, paidEvent)
	}
	_, err := s.ApplyNotifications(c, []notify.Rendered{{EventID: paidEvent, Notification: notify.Notification{
		ShopID: sl.ShopID, ID: "ntf_paid", OrderID: paid.ID, Kind: "order.paid", Recipient: "x@example.com", CreatedAt: time.Now()}}})
	if err != nil {
		t.Fatal(err)
	}
	if f = inFlight(); len(f.Unapplied["notify"]) != 0 {
		t.Fatalf("after the notification: %+v", f)
	}
	// Orders pending since before PendingSince are the reconciler's.
	q.PendingSince = time.Now()
	if f = inFlight(); f.PendingOrders != 0 {
		t.Fatalf("pending orders older than PendingSince counted: %+v", f)
	}
	if err := s.RecordRefundOwed(c, checkout.Refund{PaymentRef: "pay_x", OrderID: paid.ID, ShopID: sl.ShopID,
		Amount: 1, Currency: "EUR", Reason: order.ReasonPaymentMismatch, CreatedAt: t0, NextAttemptAt: t0}); err != nil {
		t.Fatal(err)
	}
	if f = inFlight(); f.OwedRefunds != 1 {
		t.Fatalf("a refund owed not counted: %+v", f)
	}

	corrupt(t, s, `DELETE FROM consumed_events WHERE consumer = 'notify'`)
	corrupt(t, s, `UPDATE outbox SET published_at = NULL WHERE event_type = 'order.created'`)
	if f = inFlight(); f.Unpublished != 2 || len(f.Unapplied["notify"]) != 1 || f.Unapplied["notify"][0] != paidEvent {
		t.Fatalf("after undoing work: %+v; want 2 unpublished and %s unapplied", f, paidEvent)
	}
}

// The audit reads every order's status and money as stored, of every
// shop, and sees a total changed behind the store's back
// (docs/INVARIANTS.md, I9).
func testAuditOrders(t *testing.T, s *store.Store) {
	c := ctx(t)
	a := NewSeller(t, s, "audited", "SKU-1")
	b := NewSeller(t, s, "audited-b", "SKU-1")
	placed := []order.Order{a.Order(t, order.Paid, "SKU-1"), a.Order(t, order.Cancelled, "SKU-1"), b.Order(t, order.PendingPayment, "SKU-1")}
	rows := must[map[string]audit.OrderRow](t)(s.AuditOrders(c))
	if len(rows) != len(placed) {
		t.Fatalf("%d orders audited, want %d", len(rows), len(placed))
	}
	for _, o := range placed {
		want := audit.OrderRow{ID: o.ID, Status: string(o.Status), Currency: o.Currency, Total: o.Total}
		if rows[o.ID] != want || o.Total != SellerPrice {
			t.Fatalf("audited %+v, want %+v", rows[o.ID], want)
		}
	}
	corrupt(t, s, `UPDATE orders SET total = total + 1 WHERE order_id = '`+placed[0].ID+`'`)
	if got := must[map[string]audit.OrderRow](t)(s.AuditOrders(c)); got[placed[0].ID].Total != SellerPrice+1 {
		t.Fatalf("a changed total audited as %+v", got[placed[0].ID])
	}
}

// corrupt changes the store behind its back, as a bug or a hand at the
// database could, so a test can see that a check notices.
func corrupt(t *testing.T, s *store.Store, query string) {
	t.Helper()
	db := s.Pools()["write"]
	if s.Engine() == store.Postgres {
		db = s.Pools()["primary"]
	}
	res, err := db.ExecContext(ctx(t), query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		t.Fatalf("%s changed nothing", query)
	}
}
