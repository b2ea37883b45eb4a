package checkout_test

import (
	"context"
	"strings"
	"testing"

	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/order"
	psp "github.com/surge-commerce/surge/internal/payment/simulator"
	"github.com/surge-commerce/surge/internal/store/storetest"
)

// A capture of another amount or currency than the order's never pays it,
// whichever path brings it: it is refunded and the order cancelled
// (docs/INVARIANTS.md, I9).
func TestMismatchedCaptureNeverPays(t *testing.T) {
	wrong := []struct {
		name     string
		amount   int64
		currency string
	}{
		{"amount", 1, "EUR"},
		{"currency", storetest.SellerPrice, "USD"},
	}
	paths := []struct {
		name string
		// settle brings the wrong capture to checkout and returns the
		// order it is about.
		settle func(t *testing.T, m *money, amount int64, currency string) (orderID, paymentID string)
	}{
		{"checkout", mismatchAtCheckout},
		{"reconciler", mismatchAtReconcile},
		{"webhook", mismatchAtWebhook},
	}
	forEngines(t, func(t *testing.T, open storetest.Open) {
		for _, w := range wrong {
			for _, path := range paths {
				t.Run(w.name+"/"+path.name, func(t *testing.T) {
					m := setupMoney(t, open)
					id, ref := path.settle(t, m, w.amount, w.currency)
					m.reconcileUntil(t, m.service(checkout.Config{}, nil), "refunded",
						func() bool { return m.payment(t, ref).Status == psp.StatusRefunded })
					if o := m.order(t, id); o.Status != order.Cancelled || o.CancelReason != order.ReasonPaymentMismatch {
						t.Fatalf("order %s (%s), want cancelled for %s", o.Status, o.CancelReason, order.ReasonPaymentMismatch)
					}
					if l := m.level(t); l.Sold != 0 || l.Reserved != 0 {
						t.Fatalf("stock %+v: the wrong capture sold it", l)
					}
					wantConfirmed(t, m, id, ref)
					if !strings.Contains(m.logs.String(), "does not match its order") {
						t.Fatalf("no warning logged:\n%s", m.logs.String())
					}
				})
			}
		}
	})
}

// wrongKey charges the order under its own id, the key checkout uses.
type wrongKey struct {
	checkout.Payments
	t        *testing.T
	m        *money
	amount   int64
	currency string
	ref      *string
}

func (w wrongKey) Charge(ctx context.Context, orderID string, amount int64, currency string) checkout.Payment {
	*w.ref = w.m.capture(w.t, orderID, orderID, w.amount, w.currency).ID
	return w.Payments.Charge(ctx, orderID, amount, currency)
}

func mismatchAtCheckout(t *testing.T, m *money, amount int64, currency string) (string, string) {
	var ref string
	svc := m.service(checkout.Config{}, wrongKey{Payments: m.pay, t: t, m: m, amount: amount, currency: currency, ref: &ref})
	resp, err := svc.Checkout(context.Background(), checkout.Request{ShopID: m.sl.ShopID, CustomerID: m.sl.Customer,
		Key: "k1", Items: []checkout.Item{{SKU: "A", Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Outcome == checkout.OutcomeCreated {
		t.Fatalf("checkout answered %s for a capture of %d %s", resp.Outcome, amount, currency)
	}
	return resp.OrderID, ref
}

func mismatchAtReconcile(t *testing.T, m *money, amount int64, currency string) (string, string) {
	o := m.sl.Order(t, order.PendingPayment, "A")
	p := m.capture(t, "other-key", o.ID, amount, currency)
	return o.ID, p.ID
}

func mismatchAtWebhook(t *testing.T, m *money, amount int64, currency string) (string, string) {
	o := m.sl.Order(t, order.PendingPayment, "A")
	p := m.capture(t, "other-key", o.ID, amount, currency)
	err := m.service(checkout.Config{}, nil).ApplyProviderEvent(context.Background(), o.ID,
		checkout.Payment{Outcome: checkout.PaymentPaid, Ref: p.ID, Amount: p.Amount, Currency: p.Currency})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.order(t, o.ID); got.Status == order.Paid {
		t.Fatalf("the webhook paid the order with %d %s", amount, currency)
	}
	return o.ID, p.ID
}

// The ledger sweep refunds every capture no paid order keeps — a second
// capture of a paid order, a capture for a cancelled order that nothing
// reported — and leaves alone the kept ones, those of pending orders and
// those of orders it does not know (docs/INVARIANTS.md, I2).
func TestLedgerSweepRefundsStrayCaptures(t *testing.T) {
	forEngines(t, func(t *testing.T, open storetest.Open) {
		m := setupMoney(t, open)
		svc := m.service(checkout.Config{}, nil)
		resp, err := svc.Checkout(context.Background(), checkout.Request{ShopID: m.sl.ShopID, CustomerID: m.sl.Customer,
			Key: "k1", Items: []checkout.Item{{SKU: "A", Quantity: 1}}})
		if err != nil || resp.Outcome != checkout.OutcomeCreated {
			t.Fatalf("checkout: %s, %v", resp.Outcome, err)
		}
		paid := m.order(t, resp.OrderID)
		second := m.capture(t, "second", paid.ID, paid.Total, paid.Currency)
		cancelled := m.sl.Order(t, order.Cancelled, "A")
		late := m.capture(t, cancelled.ID, cancelled.ID, cancelled.Total, cancelled.Currency)
		pending := m.sl.Order(t, order.PendingPayment, "A")
		inFlight := m.capture(t, pending.ID, pending.ID, pending.Total, pending.Currency)
		elsewhere := m.capture(t, "elsewhere", "ord_of_another_system", 500, "EUR")

		for round, want := range []int{2, 0} {
			n, err := svc.SweepLedger(context.Background(), m.pay)
			if err != nil || n != want {
				t.Fatalf("sweep %d: %d refunds, %v; want %d", round, n, err, want)
			}
		}
		for _, c := range []struct {
			id, want string
		}{
			{paid.PaymentRef, psp.StatusCaptured}, {second.ID, psp.StatusRefunded}, {late.ID, psp.StatusRefunded},
			{inFlight.ID, psp.StatusCaptured}, {elsewhere.ID, psp.StatusCaptured},
		} {
			if got := m.payment(t, c.id).Status; got != c.want {
				t.Errorf("payment %s is %s, want %s", c.id, got, c.want)
			}
		}
		wantConfirmed(t, m, paid.ID, second.ID)
		wantConfirmed(t, m, cancelled.ID, late.ID)
		if o := m.order(t, paid.ID); o.Status != order.Paid {
			t.Fatalf("the paid order is %s", o.Status)
		}
	})
}
