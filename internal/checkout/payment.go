package checkout

import "context"

// PaymentOutcome is what the provider says about an order's payment.
type PaymentOutcome int

// The outcomes. Unknown means "could not find out" (timeout, breaker open,
// lost response) and is never treated as a failure: asking again later is
// the only safe move.
const (
	PaymentUnknown PaymentOutcome = iota
	PaymentPaid
	PaymentDeclined
	// PaymentNone: the provider has no payment for this order.
	PaymentNone
)

func (o PaymentOutcome) String() string {
	return [...]string{"unknown", "paid", "declined", "none"}[o]
}

// Payment is a provider's answer.
type Payment struct {
	Outcome PaymentOutcome
	// Ref is the provider's payment id, when there is one.
	Ref string
}

// Payments is the payment provider as checkout uses it. Every method takes
// the order id as the provider's idempotency key or reference, so a retry
// can never charge twice.
type Payments interface {
	// Charge authorizes and captures amount for the order.
	Charge(ctx context.Context, orderID string, amount int64, currency string) Payment
	// Lookup asks what happened to the order's payment.
	Lookup(ctx context.Context, orderID string) Payment
	// Refund returns a captured payment in full.
	Refund(ctx context.Context, paymentRef string) error
}
