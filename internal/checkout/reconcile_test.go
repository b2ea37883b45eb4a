package checkout_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/order"
	"github.com/surge-commerce/surge/internal/store"
	"github.com/surge-commerce/surge/internal/store/storetest"
)

// provider stands in for the payment provider (the one component that
// cannot run here for real in this test: it must be unreachable on cue).
type provider struct {
	mu      sync.Mutex
	lookup  checkout.Payment
	lookups int
	refunds []string
}

func (p *provider) Charge(context.Context, string, int64, string) checkout.Payment {
	return checkout.Payment{Outcome: checkout.PaymentUnknown}
}

func (p *provider) Lookup(context.Context, string) checkout.Payment {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lookups++
	return p.lookup
}

func (p *provider) Refund(_ context.Context, ref string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refunds = append(p.refunds, ref)
	return nil
}

func (p *provider) set(pay checkout.Payment) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lookup = pay
}

// TestUnverifiedCancellation: the provider is unreachable until the
// reservation expires, so the order is cancelled and its stock released;
// when the provider answers that it did take the money, the money is
// refunded once, and the order is never asked about again. "No payment" is
// believed only once a charge sent before the cancellation can no longer
// land.
func TestUnverifiedCancellation(t *testing.T) {
	for _, e := range storetest.Engines {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range []struct {
				name       string
				answer     checkout.Payment
				wantRefund bool
			}{
				{"money arrived", checkout.Payment{Outcome: checkout.PaymentPaid, Ref: "pay_late"}, true},
				{"no money", checkout.Payment{Outcome: checkout.PaymentNone}, false},
			} {
				t.Run(tc.name, func(t *testing.T) { testUnverified(t, e.Open(t), tc.answer, tc.wantRefund) })
			}
		})
	}
}

func testUnverified(t *testing.T, st *store.Store, answer checkout.Payment, wantRefund bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sl := storetest.NewSeller(t, st, "rec", "A")
	created := time.Now().Add(-time.Hour)
	sl.Now = func() time.Time { return created }
	o := sl.Order(t, order.PendingPayment, "A")

	p := &provider{lookup: checkout.Payment{Outcome: checkout.PaymentUnknown}}
	clk := &clock{}
	svc := checkout.NewService(st, nil, p, nil, checkout.Config{ReservationTTL: time.Minute}, clk.now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if n, err := svc.Reconcile(ctx); err != nil || n != 1 {
		t.Fatalf("first round: %d, %v; want the expired order cancelled", n, err)
	}
	if got, err := st.Order(ctx, o.ID); err != nil || got.Status != order.Cancelled {
		t.Fatalf("order after the first round: %+v, %v", got, err)
	}
	if un, _ := st.UnverifiedCancellations(ctx, 10); len(un) != 1 || un[0].ID != o.ID {
		t.Fatalf("unverified cancellations = %+v, want %s", un, o.ID)
	}

	// Still unreachable: asked again, nothing recorded.
	before := p.lookups
	if _, err := svc.Reconcile(ctx); err != nil || p.lookups != before+1 {
		t.Fatalf("second round: %v, %d lookups (was %d)", err, p.lookups, before)
	}

	p.set(answer)
	if _, err := svc.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if un, _ := st.UnverifiedCancellations(ctx, 10); answer.Outcome == checkout.PaymentNone && len(un) != 1 {
		t.Fatalf("believed \"no payment\" while a charge could still land: %+v", un)
	}
	clk.advance(time.Minute)
	if _, err := svc.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if un, _ := st.UnverifiedCancellations(ctx, 10); len(un) != 0 {
		t.Fatalf("still unverified after the provider answered: %+v", un)
	}
	before = p.lookups
	if _, err := svc.Reconcile(ctx); err != nil || p.lookups != before {
		t.Fatalf("a verified cancellation was looked up again: %v", err)
	}
	if wantRefund && (len(p.refunds) != 1 || p.refunds[0] != "pay_late") {
		t.Fatalf("refunds = %v, want pay_late once", p.refunds)
	}
	if !wantRefund && len(p.refunds) != 0 {
		t.Fatalf("refunds = %v, want none", p.refunds)
	}
	if got, _ := st.Order(ctx, o.ID); got.Status != order.Cancelled {
		t.Fatalf("order ended %s, want cancelled", got.Status)
	}
}
