package pspclient

import (
	"context"

	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/errcode"
)

// Payments adapts a Client to what checkout and orders need.
type Payments struct{ Client *Client }

var _ checkout.Payments = Payments{}

// Charge implements checkout.Payments.
func (p Payments) Charge(ctx context.Context, orderID string, amount int64, currency string) checkout.Payment {
	return toPayment(p.Client.Charge(ctx, orderID, amount, currency))
}

// Lookup implements checkout.Payments.
func (p Payments) Lookup(ctx context.Context, orderID string) checkout.Payment {
	return toPayment(p.Client.Lookup(ctx, orderID))
}

// Refund implements checkout.Payments.
func (p Payments) Refund(ctx context.Context, paymentRef string) error {
	if _, err := p.Client.Refund(ctx, paymentRef); err != nil {
		return errcode.Wrap(errcode.Unavailable, err, "the payment provider did not confirm the refund")
	}
	return nil
}

// toPayment maps the provider's outcome to checkout's. Anything not
// conclusive is Unknown, which checkout answers by asking again later.
func toPayment(r Result, err error) checkout.Payment {
	p := checkout.Payment{Ref: r.Payment.ID}
	if err != nil {
		return p
	}
	switch r.Outcome {
	case Paid:
		p.Outcome = checkout.PaymentPaid
	case Declined:
		p.Outcome = checkout.PaymentDeclined
	case NotFound, Reversed:
		p.Outcome = checkout.PaymentNone
	}
	return p
}
