package checkout_test

import (
	"context"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/catalog"
	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/order"
	psp "github.com/surge-commerce/surge/internal/payment/simulator"
	"github.com/surge-commerce/surge/internal/store/storetest"
)

// gatedPayments holds every charge until the test releases it.
type gatedPayments struct {
	checkout.Payments
	charging chan string
	release  chan struct{}
}

func (g gatedPayments) Charge(ctx context.Context, orderID string, amount int64, currency string) checkout.Payment {
	g.charging <- orderID
	<-g.release
	return g.Payments.Charge(ctx, orderID, amount, currency)
}

// A reservation shorter than a charge: the sweeper of another replica,
// which does not know the charge is in flight, must not cancel the order
// while it may still be paid (docs/INVARIANTS.md, I9).
func TestSweeperLeavesAChargeInFlight(t *testing.T) {
	forEngines(t, func(t *testing.T, open storetest.Open) {
		m := setupMoney(t, open)
		cfg := checkout.Config{ReservationTTL: time.Second, ChargeBudget: 30 * time.Second}
		gate := gatedPayments{Payments: m.pay, charging: make(chan string), release: make(chan struct{})}
		buyer := m.service(cfg, gate)
		sweeper := m.service(cfg, nil)

		placed := make(chan checkout.Response, 1)
		go func() {
			resp, err := buyer.Checkout(context.Background(), checkout.Request{ShopID: m.sl.ShopID, CustomerID: m.sl.Customer,
				Key: "k1", Items: []checkout.Item{{SKU: "A", Quantity: 1}}})
			if err != nil {
				t.Error(err)
			}
			placed <- resp
		}()
		id := <-gate.charging

		m.clock.advance(10 * time.Second) // the reservation expired; the charge budget has not passed
		if _, err := sweeper.Reconcile(context.Background()); err != nil {
			t.Fatal(err)
		}
		if o := m.order(t, id); o.Status != order.PendingPayment {
			t.Fatalf("the sweeper moved an order whose charge is in flight to %s", o.Status)
		}
		close(gate.release)
		if resp := <-placed; resp.Outcome != checkout.OutcomeCreated {
			t.Fatalf("checkout answered %s, want %s", resp.Outcome, checkout.OutcomeCreated)
		}
		m.clock.advance(time.Hour)
		if _, err := sweeper.Reconcile(context.Background()); err != nil {
			t.Fatal(err)
		}
		o := m.order(t, id)
		if o.Status != order.Paid || m.payment(t, o.PaymentRef).Status != psp.StatusCaptured {
			t.Fatalf("order %s with payment %+v; want paid and captured", o.Status, m.payment(t, o.PaymentRef))
		}
		if l := m.level(t); l.Sold != 1 || l.Reserved != 0 {
			t.Fatalf("stock %+v, want one sold", l)
		}
	})
}

// Money that arrives for a cancelled order is refunded; a refund the
// provider fails is retried, by whichever process runs next, until the
// provider confirms it (docs/INVARIANTS.md, I9).
func TestFailedRefundIsRetriedUntilConfirmed(t *testing.T) {
	forEngines(t, func(t *testing.T, open storetest.Open) {
		m := setupMoney(t, open)
		o := m.sl.Order(t, order.Cancelled, "A")
		p := m.capture(t, o.ID, o.ID, o.Total, o.Currency)

		if err := m.sim.SetFaults(psp.Faults{ErrorRate: 1}); err != nil {
			t.Fatal(err)
		}
		first := m.service(checkout.Config{}, nil)
		err := first.ApplyProviderEvent(context.Background(), o.ID, checkout.Payment{Outcome: checkout.PaymentPaid, Ref: p.ID, Amount: p.Amount, Currency: p.Currency})
		t.Logf("webhook while the provider fails: %v", err)
		if got := m.payment(t, p.ID).Status; got != psp.StatusCaptured {
			t.Fatalf("payment %s while the provider fails", got)
		}
		owed, err := m.st.OwedRefunds(context.Background())
		if err != nil || len(owed) != 1 || owed[0].PaymentRef != p.ID || owed[0].Attempts != 1 || owed[0].LastError == "" ||
			owed[0].Reason != checkout.RefundCancelledOrder || owed[0].Amount != o.Total {
			t.Fatalf("owed refunds %+v, %v; want %s owed after one failed attempt", owed, err, p.ID)
		}

		// Another process, after a restart, finishes it.
		if err := m.sim.SetFaults(psp.Faults{}); err != nil {
			t.Fatal(err)
		}
		next := m.service(checkout.Config{}, nil)
		m.reconcileUntil(t, next, "refunded", func() bool { return m.payment(t, p.ID).Status == psp.StatusRefunded })
		if got := m.order(t, o.ID); got.Status != order.Cancelled {
			t.Fatalf("order %s, want cancelled", got.Status)
		}
		wantConfirmed(t, m, o.ID, p.ID)
	})
}

// A definite refusal from the provider cancels the order and releases its
// stock at once, rather than holding them until the reservation expires.
func TestProviderRefusalCancelsAtOnce(t *testing.T) {
	forEngines(t, func(t *testing.T, open storetest.Open) {
		m := setupMoney(t, open)
		// More than the provider accepts in one payment: it answers 400.
		p := catalog.Product{ShopID: m.sl.ShopID, SKU: "BIG", Title: "Big", Price: 2_000_000_000_000, Currency: "EUR", Stock: 10}
		if _, _, err := m.st.PutProduct(context.Background(), p, time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := m.service(checkout.Config{}, nil).Checkout(context.Background(), checkout.Request{ShopID: m.sl.ShopID,
			CustomerID: m.sl.Customer, Key: "k1", Items: []checkout.Item{{SKU: "BIG", Quantity: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Outcome != checkout.OutcomeDeclined {
			t.Fatalf("checkout answered %s, want %s", resp.Outcome, checkout.OutcomeDeclined)
		}
		if o := m.order(t, resp.OrderID); o.Status != order.Cancelled {
			t.Fatalf("order %s, want cancelled", o.Status)
		}
		l, err := m.st.Level(context.Background(), m.sl.ShopID, "BIG")
		if err != nil || l.Available != 10 || l.Reserved != 0 {
			t.Fatalf("stock %+v, %v: want all 10 back on sale", l, err)
		}
	})
}

// hangingPayments never answers a charge: it returns when the charge's
// context ends, with no outcome.
type hangingPayments struct{ checkout.Payments }

func (hangingPayments) Charge(ctx context.Context, _ string, _ int64, _ string) checkout.Payment {
	<-ctx.Done()
	return checkout.Payment{Outcome: checkout.PaymentUnknown}
}

// A charge that uses its whole budget is still recorded, and its key
// released: retries get the stored answer at once, not 409 while the lock
// lasts (the recording has time of its own after the budget).
func TestChargeThatUsesItsBudgetIsRecorded(t *testing.T) {
	forEngines(t, func(t *testing.T, open storetest.Open) {
		m := setupMoney(t, open)
		cfg := checkout.Config{ReservationTTL: time.Minute, ChargeBudget: 200 * time.Millisecond}
		svc := m.service(cfg, hangingPayments{m.pay})
		req := checkout.Request{ShopID: m.sl.ShopID, CustomerID: m.sl.Customer, Key: "hang", Items: []checkout.Item{{SKU: "A", Quantity: 1}}}
		first, err := svc.Checkout(context.Background(), req)
		if err != nil || first.Outcome != checkout.OutcomeAccepted {
			t.Fatalf("checkout: %s %v, want %s", first.Outcome, err, checkout.OutcomeAccepted)
		}
		again, err := svc.Checkout(context.Background(), req)
		if err != nil || !again.Replayed || again.OrderID != first.OrderID {
			t.Fatalf("retry with the same key: %+v %v, want the stored answer at once", again, err)
		}
	})
}
