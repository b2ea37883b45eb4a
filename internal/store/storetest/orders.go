package storetest

import (
	"testing"

	"github.com/surge-commerce/surge/internal/customer"
	"github.com/surge-commerce/surge/internal/order"
	"github.com/surge-commerce/surge/internal/store"
)

// A shop lists its own orders in id order, filtered by status and
// customer, a page at a time (docs/INVARIANTS.md, I6).
func testOrderListing(t *testing.T, s *store.Store) {
	c := ctx(t)
	sl := NewSeller(t, s, "lister", "SKU-1")
	other := NewSeller(t, s, "other", "SKU-1")
	other.Order(t, order.Paid, "SKU-1")

	o1 := sl.Order(t, order.PendingPayment, "SKU-1")
	o2 := sl.Order(t, order.Paid, "SKU-1")
	o3 := sl.Order(t, order.Cancelled, "SKU-1")
	first := sl.Customer
	sl.Customer = "cus_second"
	if err := s.CreateCustomer(c, customer.Customer{ShopID: sl.ShopID, ID: sl.Customer, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	o4 := sl.Order(t, order.Paid, "SKU-1")

	tests := []struct {
		name string
		f    order.Filter
		want []order.Order
	}{
		{"all", order.Filter{Limit: 10}, []order.Order{o1, o2, o3, o4}},
		{"paid", order.Filter{Status: order.Paid, Limit: 10}, []order.Order{o2, o4}},
		{"of a customer", order.Filter{CustomerID: first, Limit: 10}, []order.Order{o1, o2, o3}},
		{"paid, of a customer", order.Filter{Status: order.Paid, CustomerID: "cus_second", Limit: 10}, []order.Order{o4}},
		{"first page", order.Filter{Limit: 2}, []order.Order{o1, o2}},
		{"next page", order.Filter{After: o2.ID, Limit: 2}, []order.Order{o3, o4}},
		{"past the end", order.Filter{After: o4.ID, Limit: 2}, nil},
		{"a status none has", order.Filter{Status: order.Refunded, Limit: 10}, nil},
	}
	for _, tc := range tests {
		got := must[[]order.Order](t)(s.Orders(c, sl.ShopID, tc.f))
		if len(got) != len(tc.want) {
			t.Fatalf("%s: %d orders, want %d", tc.name, len(got), len(tc.want))
		}
		for i, o := range got {
			w := tc.want[i]
			if o.ID != w.ID || o.ShopID != sl.ShopID || o.Status != w.Status || o.CustomerID != w.CustomerID ||
				o.Total != w.Total || o.PaymentRef != w.PaymentRef || !o.CreatedAt.Equal(w.CreatedAt) {
				t.Fatalf("%s: order %d = %+v, want %+v", tc.name, i, o, w)
			}
		}
	}
}

// A cancellation whose payment could not be verified is listed for
// reconciliation until its reason is replaced; the replacement applies
// only to a cancelled order still holding the reason expected.
func testCancelReasons(t *testing.T, s *store.Store) {
	c := ctx(t)
	sl := NewSeller(t, s, "canceller", "SKU-1")
	placed := func() order.Order { return sl.Order(t, order.PendingPayment, "SKU-1") }
	cancel := func(o order.Order, reason string) order.Order {
		o, err := s.CancelOrder(c, sl.ShopID, o.ID, reason, t0, respond)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	u1 := cancel(placed(), order.ReasonPaymentUnverified)
	cancel(placed(), order.ReasonPaymentDeclined)
	u2 := cancel(placed(), order.ReasonPaymentUnverified)
	pending := placed()

	wantIDs(t, "unverified", must[[]order.Order](t)(s.UnverifiedCancellations(c, 10)), u1.ID, u2.ID)
	wantIDs(t, "unverified, limit 1", must[[]order.Order](t)(s.UnverifiedCancellations(c, 1)), u1.ID)

	// A reason other than the one expected, or an order not cancelled,
	// is left alone: another reconciler got there first.
	if err := s.SetCancelReason(c, u1.ID, order.ReasonPaymentDeclined, order.ReasonPaymentNone); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCancelReason(c, pending.ID, "", order.ReasonPaymentNone); err != nil {
		t.Fatal(err)
	}
	if o := must[order.Order](t)(s.Order(c, pending.ID)); o.Status != order.PendingPayment || o.CancelReason != "" {
		t.Fatalf("pending order after SetCancelReason: %+v", o)
	}
	wantIDs(t, "unverified, nothing resolved", must[[]order.Order](t)(s.UnverifiedCancellations(c, 10)), u1.ID, u2.ID)

	if err := s.SetCancelReason(c, u1.ID, order.ReasonPaymentUnverified, order.ReasonPaymentNone); err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "unverified after one resolved", must[[]order.Order](t)(s.UnverifiedCancellations(c, 10)), u2.ID)
	if o := must[order.Order](t)(s.Order(c, u1.ID)); o.Status != order.Cancelled || o.CancelReason != order.ReasonPaymentNone {
		t.Fatalf("resolved order: %+v", o)
	}
}

func wantIDs(t *testing.T, what string, got []order.Order, ids ...string) {
	t.Helper()
	var have []string
	for _, o := range got {
		have = append(have, o.ID)
	}
	wantStrings(t, what, have, ids...)
}
