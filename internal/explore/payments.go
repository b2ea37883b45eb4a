package explore

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/errcode"
)

// faultKey carries a checkout step's Fault in its context; checkout keeps
// the context's values when it detaches the charge from the client.
type faultKey struct{}

func withFault(ctx context.Context, f Fault) context.Context {
	return context.WithValue(ctx, faultKey{}, f)
}

// providerEvent is a payment outcome the provider could announce by webhook.
type providerEvent struct {
	orderID string
	payment checkout.Payment
}

// faultyProvider is the provider as the schedule makes it behave: down
// between OpProviderDown and OpProviderUp, and per checkout as the step's
// Fault says. It remembers every outcome the provider reached, for
// webhook steps to deliver.
type faultyProvider struct {
	inner checkout.Payments
	down  atomic.Bool
	// refused is told of a checkout's charge the provider refused outright
	// (a 4xx, which leaves no payment record) when checkout heard the
	// answer: checkout must not hold it as unknown (docs/INVARIANTS.md, I9).
	refused func(orderID string)

	mu     sync.Mutex
	events []providerEvent
}

var _ checkout.Payments = (*faultyProvider)(nil)

func (p *faultyProvider) Charge(ctx context.Context, orderID string, amount int64, currency string) checkout.Payment {
	f, _ := ctx.Value(faultKey{}).(Fault)
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	if p.down.Load() || f.Charge == FaultError {
		return checkout.Payment{}
	}
	if f.Charge == FaultWrongAmount {
		amount++
	}
	res := p.inner.Charge(ctx, orderID, amount, currency)
	p.record(orderID, res)
	if f.Charge == FaultLost {
		return checkout.Payment{}
	}
	if _, fromCheckout := ctx.Value(faultKey{}).(Fault); fromCheckout && res.Outcome == checkout.PaymentDeclined && res.Ref == "" {
		p.refused(orderID)
	}
	return res
}

func (p *faultyProvider) Lookup(ctx context.Context, orderID string) checkout.Payment {
	if p.down.Load() {
		return checkout.Payment{}
	}
	res := p.inner.Lookup(ctx, orderID)
	p.record(orderID, res)
	return res
}

func (p *faultyProvider) Refund(ctx context.Context, paymentRef string) error {
	f, _ := ctx.Value(faultKey{}).(Fault)
	if p.down.Load() || f.RefundFails {
		return errcode.New(errcode.Unavailable, "injected: the provider did not answer the refund")
	}
	return p.inner.Refund(ctx, paymentRef)
}

func (p *faultyProvider) record(orderID string, res checkout.Payment) {
	if res.Outcome != checkout.PaymentPaid && res.Outcome != checkout.PaymentDeclined {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, providerEvent{orderID, res})
}

// event returns the provider event picked by ref, if there is any yet.
func (p *faultyProvider) event(ref int) (providerEvent, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.events) == 0 {
		return providerEvent{}, false
	}
	return p.events[ref%len(p.events)], true
}
