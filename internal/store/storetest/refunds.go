package storetest

import (
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/order"
	"github.com/surge-commerce/surge/internal/store"
)

// A refund owed is recorded once per payment, comes due at its next
// attempt, is pushed back by each failure, and leaves the money owed only
// when the provider confirms it (docs/INVARIANTS.md, I9).
func testRefunds(t *testing.T, s *store.Store) {
	c := ctx(t)
	owe := func(ref string, at time.Time) checkout.Refund {
		r := checkout.Refund{PaymentRef: ref, OrderID: "ord_" + ref, ShopID: 7, Amount: 1999, Currency: "EUR",
			Reason: order.ReasonPaymentMismatch, CreatedAt: at, NextAttemptAt: at}
		if err := s.RecordRefundOwed(c, r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	a := owe("pay_a", t0)
	owe("pay_b", t0.Add(time.Minute))
	// Recording the same payment again (a redelivered webhook) owes nothing more.
	dup := a
	dup.Amount, dup.NextAttemptAt = 1, t0.Add(time.Hour)
	if err := s.RecordRefundOwed(c, dup); err != nil {
		t.Fatal(err)
	}
	wantRefs(t, "owed", must[[]checkout.Refund](t)(s.OwedRefunds(c)), "pay_a", "pay_b")
	wantRefs(t, "due before either", must[[]checkout.Refund](t)(s.DueRefunds(c, t0.Add(-time.Second), 10)))
	wantRefs(t, "due at t0", must[[]checkout.Refund](t)(s.DueRefunds(c, t0, 10)), "pay_a")
	wantRefs(t, "due, limit 1", must[[]checkout.Refund](t)(s.DueRefunds(c, t0.Add(time.Hour), 1)), "pay_a")

	next := t0.Add(2 * time.Hour)
	if err := s.RefundFailed(c, "pay_a", "provider timeout", next); err != nil {
		t.Fatal(err)
	}
	wantRefs(t, "due after a failure", must[[]checkout.Refund](t)(s.DueRefunds(c, t0.Add(time.Hour), 10)), "pay_b")
	got := must[[]checkout.Refund](t)(s.Refunds(c, "ord_pay_a"))
	if len(got) != 1 || got[0].Amount != a.Amount || got[0].Attempts != 1 || got[0].LastError != "provider timeout" ||
		!got[0].NextAttemptAt.Equal(next) || !got[0].CreatedAt.Equal(t0) || !got[0].ConfirmedAt.IsZero() {
		t.Fatalf("after one failure: %+v", got)
	}

	confirmed := t0.Add(3 * time.Hour)
	if err := s.ConfirmRefund(c, "pay_a", confirmed); err != nil {
		t.Fatal(err)
	}
	// A late failure report or confirmation changes a confirmed refund no more.
	if err := s.RefundFailed(c, "pay_a", "late", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.ConfirmRefund(c, "pay_a", confirmed.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantRefs(t, "owed after a confirmation", must[[]checkout.Refund](t)(s.OwedRefunds(c)), "pay_b")
	wantRefs(t, "due after a confirmation", must[[]checkout.Refund](t)(s.DueRefunds(c, confirmed, 10)), "pay_b")
	got = must[[]checkout.Refund](t)(s.Refunds(c, "ord_pay_a"))
	if len(got) != 1 || !got[0].ConfirmedAt.Equal(confirmed) || got[0].Attempts != 1 {
		t.Fatalf("confirmed refund: %+v", got)
	}
}

// Refunding a paid order makes it refunded and owes its total back in one
// step; an order that is not paid is refused and owes nothing
// (docs/INVARIANTS.md, I9).
func testRefundOrder(t *testing.T, s *store.Store) {
	c := ctx(t)
	sl := NewSeller(t, s, "refunder", "SKU-1", "SKU-2")
	paid := sl.Order(t, order.Paid, "SKU-1", "SKU-2")
	pending := sl.Order(t, order.PendingPayment, "SKU-1")

	o, err := s.RefundOrder(c, paid.ID, t0)
	if err != nil || o.Status != order.Refunded || o.ID != paid.ID || len(o.Lines) != 2 {
		t.Fatalf("RefundOrder = %+v, %v", o, err)
	}
	if st := must[order.Status](t)(s.OrderStatus(c, paid.ID)); st != order.Refunded {
		t.Fatalf("status read back = %s", st)
	}
	got := must[[]checkout.Refund](t)(s.Refunds(c, paid.ID))
	if len(got) != 1 || got[0].PaymentRef != paid.PaymentRef || got[0].Amount != paid.Total || got[0].Amount != 2*SellerPrice ||
		got[0].Currency != paid.Currency || got[0].ShopID != sl.ShopID || got[0].Reason != "shop_refund" || !got[0].NextAttemptAt.Equal(t0) {
		t.Fatalf("refund owed for %+v: %+v", paid, got)
	}

	_, err = s.RefundOrder(c, paid.ID, t0)
	wantCode(t, err, errcode.Conflict)
	_, err = s.RefundOrder(c, pending.ID, t0)
	wantCode(t, err, errcode.Conflict)
	_, err = s.RefundOrder(c, "ord_nope", t0)
	wantCode(t, err, errcode.NotFound)
	if got := must[[]checkout.Refund](t)(s.Refunds(c, paid.ID)); len(got) != 1 {
		t.Fatalf("a second refund owed a second time: %+v", got)
	}
	if got := must[[]checkout.Refund](t)(s.Refunds(c, pending.ID)); len(got) != 0 {
		t.Fatalf("an unpaid order owes a refund: %+v", got)
	}
	if st := must[order.Status](t)(s.OrderStatus(c, pending.ID)); st != order.PendingPayment {
		t.Fatalf("a refused refund changed the order to %s", st)
	}
}

func wantRefs(t *testing.T, what string, got []checkout.Refund, refs ...string) {
	t.Helper()
	var have []string
	for _, r := range got {
		have = append(have, r.PaymentRef)
	}
	wantStrings(t, what, have, refs...)
}

// Refunds recorded at the same moment come back in one order on both
// engines, whatever order they were written in: a page or a reconciler
// pass must not depend on the engine's row order.
func testRefundTies(t *testing.T, s *store.Store) {
	c := ctx(t)
	for _, ref := range []string{"pay_c", "pay_a", "pay_b"} {
		r := checkout.Refund{PaymentRef: ref, OrderID: "ord_tie", ShopID: 7, Amount: 100, Currency: "EUR",
			Reason: order.ReasonPaymentMismatch, CreatedAt: t0, NextAttemptAt: t0}
		if err := s.RecordRefundOwed(c, r); err != nil {
			t.Fatal(err)
		}
	}
	wantRefs(t, "owed", must[[]checkout.Refund](t)(s.OwedRefunds(c)), "pay_a", "pay_b", "pay_c")
	wantRefs(t, "due", must[[]checkout.Refund](t)(s.DueRefunds(c, t0, 10)), "pay_a", "pay_b", "pay_c")
	wantRefs(t, "due, limit 2", must[[]checkout.Refund](t)(s.DueRefunds(c, t0, 2)), "pay_a", "pay_b")
	wantRefs(t, "of the order", must[[]checkout.Refund](t)(s.Refunds(c, "ord_tie")), "pay_a", "pay_b", "pay_c")
}
