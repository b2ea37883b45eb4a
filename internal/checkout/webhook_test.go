package checkout_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/order"
	"github.com/surge-commerce/surge/internal/store/storetest"
)

// heldProvider takes the money, but answers only when released.
type heldProvider struct {
	provider
	charging chan string // the order id being charged
	release  chan struct{}
}

func (p *heldProvider) Charge(ctx context.Context, orderID string, amount int64, currency string) checkout.Payment {
	p.charging <- orderID
	<-p.release
	return checkout.Payment{Outcome: checkout.PaymentPaid, Ref: "pay_" + orderID, Amount: amount, Currency: currency}
}

type admitAll struct{}

func (admitAll) Admit(context.Context, int64, string, string, []string) error { return nil }

// A provider's webhook that arrives while checkout is still recording the
// same charge waits for it instead of racing it, then finds the order paid.
func TestWebhookWaitsForTheChargeInFlight(t *testing.T) {
	for _, e := range storetest.Engines {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			st := e.Open(t)
			sl := storetest.NewSeller(t, st, "hook", "A")
			p := &heldProvider{charging: make(chan string), release: make(chan struct{})}
			svc := checkout.NewService(st, nil, p, admitAll{}, checkout.Config{}, time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))

			placed := make(chan checkout.Response, 1)
			go func() {
				resp, err := svc.Checkout(ctx, checkout.Request{ShopID: sl.ShopID, CustomerID: sl.Customer, Key: "k1",
					Items: []checkout.Item{{SKU: "A", Quantity: 1}}})
				if err != nil {
					t.Error(err)
				}
				placed <- resp
			}()
			id := <-p.charging

			hooked := make(chan error, 1)
			go func() {
				hooked <- svc.ApplyProviderEvent(ctx, id, checkout.Payment{Outcome: checkout.PaymentPaid, Ref: "pay_" + id,
					Amount: storetest.SellerPrice, Currency: "EUR"})
			}()
			select {
			case err := <-hooked:
				t.Fatalf("the webhook returned (%v) while the charge was still in flight", err)
			case <-time.After(200 * time.Millisecond):
				// A chance for a webhook that does not wait to settle the
				// order first; one that waits cannot fail here, however
				// slow the machine.
			}
			close(p.release)
			if resp := <-placed; resp.Outcome != checkout.OutcomeCreated {
				t.Fatalf("checkout answered %s, want created (paid)", resp.Outcome)
			}
			if err := <-hooked; err != nil {
				t.Fatalf("webhook after the charge was recorded: %v", err)
			}
			if o, err := st.Order(ctx, id); err != nil || o.Status != order.Paid {
				t.Fatalf("order %+v, %v; want paid", o, err)
			}
		})
	}
}
