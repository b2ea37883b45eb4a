package checkout

import (
	"context"
	"time"

	"github.com/surge-commerce/surge/internal/order"
)

// PaymentOutcome is what the provider says about an order's payment.
type PaymentOutcome int

// The outcomes. Unknown means "could not find out" (timeout, breaker open,
// lost response) and is never treated as a failure: asking again later is
// the only safe move.
const (
	PaymentUnknown PaymentOutcome = iota
	PaymentPaid
	// PaymentDeclined: the provider refused the payment; no money moved.
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
	// Amount (minor units) and Currency are what the provider holds.
	Amount   int64
	Currency string
}

// pays reports whether the payment is exactly the order's amount and
// currency: only such a capture may pay it (docs/INVARIANTS.md, I9).
func (p Payment) pays(o order.Order) bool {
	return p.Amount == o.Total && p.Currency == o.Currency
}

// Payments is the payment provider as checkout uses it. Every method takes
// the order id as the provider's idempotency key or reference, so a retry
// can never charge twice.
type Payments interface {
	// Charge authorizes and captures amount for the order.
	Charge(ctx context.Context, orderID string, amount int64, currency string) Payment
	// Lookup asks what happened to the order's payment.
	Lookup(ctx context.Context, orderID string) Payment
	// Refund returns a captured payment in full. It returns nil only once
	// the provider says the payment is refunded; refunding it again is a
	// no-op.
	Refund(ctx context.Context, paymentRef string) error
}

// Instruments is what a provider that knows its payment methods offers:
// the fingerprint of the card behind one (the same card, the same
// fingerprint, whoever pays with it), and a charge with it. Checkout
// counts purchase limits per instrument with it (docs/INVARIANTS.md, I11).
type Instruments interface {
	Fingerprint(ctx context.Context, paymentMethod string) (string, error)
	ChargeWith(ctx context.Context, orderID string, amount int64, currency, paymentMethod string) Payment
}

// Why money is owed back: stable codes stored with the refund.
const (
	// RefundCancelledOrder: the capture came for an order already
	// cancelled, whose customer was told it failed.
	RefundCancelledOrder = "cancelled_order"
	// RefundMismatch: the capture's amount or currency is not the order's.
	RefundMismatch = "payment_mismatch"
	// RefundSecondCapture: the order is paid by another capture.
	RefundSecondCapture = "second_capture"
)

// Refund is money owed back for one captured payment. It is recorded
// before the provider is asked to refund it, and stays owed until the
// provider confirms (docs/INVARIANTS.md, I9).
type Refund struct {
	PaymentRef string
	OrderID    string
	ShopID     int64
	Amount     int64
	Currency   string
	Reason     string
	CreatedAt  time.Time
	// Attempts counts the failed refund attempts; LastError is the last
	// one's cause and NextAttemptAt when to try again.
	Attempts      int
	LastError     string
	NextAttemptAt time.Time
	// ConfirmedAt is when the provider confirmed the refund; zero while
	// the money is still owed.
	ConfirmedAt time.Time
}
