package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/customer"
	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/order"
	"github.com/surge-commerce/surge/internal/shop"
	"github.com/surge-commerce/surge/internal/store"
)

// testIdempotencyKeys walks every state of a checkout's Idempotency-Key
// through PlaceOrder: claimed afresh, refused while its first attempt runs,
// replayed once finished or once its lock has lapsed, refused for another
// request, claimed afresh once expired; then PruneKeys removes only the
// expired, and StaleOrders finds the pending orders older than a bound
// (docs/INVARIANTS.md, I4).
func testIdempotencyKeys(t *testing.T, s *store.Store) {
	c := ctx(t)
	sh := must[shop.Shop](t)(createShop(c, s, "keys"))
	if _, _, err := s.PutProduct(c, product(sh.ID, "TEE", 10), t0); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateCustomer(c, customer.Customer{ShopID: sh.ID, ID: "cus_k", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	base := time.Now().Truncate(time.Second)
	place := func(key, fingerprint, orderID string, now time.Time) (*checkout.Response, error) {
		_, replay, err := s.PlaceOrder(c, checkout.Placement{
			ShopID: sh.ID, CustomerID: "cus_k", Key: key, Fingerprint: fingerprint, OrderID: orderID,
			Items: []checkout.Item{{SKU: "TEE", Quantity: 1}}, Now: now,
			ReservationExpiry: now.Add(time.Hour), LockUntil: now.Add(time.Minute), KeyExpiry: now.Add(time.Hour),
		}, respond)
		return replay, err
	}
	typeOf := func(err error) string {
		if e, ok := err.(*errcode.Error); ok {
			return e.Type
		}
		return ""
	}

	if replay, err := place("k1", "fp1", "ord_k1", base); err != nil || replay != nil {
		t.Fatalf("a fresh key: %v %v", replay, err)
	}
	if _, err := place("k1", "fp1", "ord_k1b", base.Add(time.Second)); typeOf(err) != "request_in_progress" {
		t.Fatalf("the same key while its attempt runs: %v, want request_in_progress", err)
	}
	if err := s.FinishKey(c, sh.ID, "cus_k", "k1"); err != nil {
		t.Fatal(err)
	}
	if replay, err := place("k1", "fp1", "ord_k1c", base.Add(2*time.Second)); err != nil || replay == nil || replay.OrderID != "ord_k1" {
		t.Fatalf("the same key once finished: %+v %v, want the stored answer for ord_k1", replay, err)
	}
	if _, err := place("k1", "fp-other", "ord_k1d", base.Add(3*time.Second)); typeOf(err) != "idempotency_key_reused" {
		t.Fatalf("the same key for another request: %v, want idempotency_key_reused", err)
	}

	// An attempt that never finished (a crash mid-charge): once its lock
	// lapses, retries get what was stored, not a second order.
	if _, err := place("k2", "fp2", "ord_k2", base); err != nil {
		t.Fatal(err)
	}
	if replay, err := place("k2", "fp2", "ord_k2b", base.Add(2*time.Minute)); err != nil || replay == nil || replay.OrderID != "ord_k2" {
		t.Fatalf("a lapsed lock: %+v %v, want the stored answer for ord_k2", replay, err)
	}

	// An expired key is free again: a new order.
	if _, err := place("k3", "fp3", "ord_k3", base); err != nil {
		t.Fatal(err)
	}
	if replay, err := place("k3", "fp3", "ord_k3b", base.Add(2*time.Hour)); err != nil || replay != nil {
		t.Fatalf("an expired key: %+v %v, want a new placement", replay, err)
	}
	if o := must[order.Order](t)(s.Order(c, "ord_k3b")); o.Status != order.PendingPayment {
		t.Fatalf("the order of a reclaimed key is %s", o.Status)
	}

	// k1 and k2 expire at base+1h; k3 was claimed again until base+3h.
	if n := must[int](t)(s.PruneKeys(c, base.Add(150*time.Minute), 100)); n != 2 {
		t.Fatalf("PruneKeys removed %d keys, want the 2 expired", n)
	}
	if replay, err := place("k3", "fp3", "ord_k3c", base.Add(150*time.Minute)); err != nil || replay == nil || replay.OrderID != "ord_k3b" {
		t.Fatalf("a key pruning left: %+v %v, want its stored answer", replay, err)
	}

	stale := must[[]order.Order](t)(s.StaleOrders(c, base.Add(time.Minute), 100))
	var ids []string
	for _, o := range stale {
		ids = append(ids, o.ID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"ord_k1", "ord_k2", "ord_k3"}) {
		t.Fatalf("StaleOrders before base+1m: %v, want the three placed at base", ids)
	}
}
