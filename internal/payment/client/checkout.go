package pspclient

import (
	"context"
	"iter"

	"github.com/surge-commerce/surge/internal/audit"
	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/errcode"
)

// Payments adapts a Client to what checkout and orders need.
type Payments struct{ Client *Client }

var (
	_ checkout.Payments    = Payments{}
	_ checkout.Instruments = Payments{}
	_ checkout.Ledger      = Payments{}
)

// Charge implements checkout.Payments. When the order id was already used
// for another request, the money that request took may exist: what the
// provider holds for the order is the answer.
func (p Payments) Charge(ctx context.Context, orderID string, amount int64, currency string) checkout.Payment {
	r, err := p.Client.Charge(ctx, orderID, amount, currency)
	if errcode.Is(err, errcode.Conflict) && r.Outcome == Unknown {
		return p.Lookup(ctx, orderID)
	}
	return toPayment(r, err)
}

// ChargeWith implements checkout.Instruments: Charge with a named payment
// method.
func (p Payments) ChargeWith(ctx context.Context, orderID string, amount int64, currency, paymentMethod string) checkout.Payment {
	r, err := p.Client.ChargeWith(ctx, orderID, amount, currency, paymentMethod)
	if errcode.Is(err, errcode.Conflict) && r.Outcome == Unknown {
		return p.Lookup(ctx, orderID)
	}
	return toPayment(r, err)
}

// Fingerprint implements checkout.Instruments.
func (p Payments) Fingerprint(ctx context.Context, paymentMethod string) (string, error) {
	return p.Client.Fingerprint(ctx, paymentMethod)
}

// Lookup implements checkout.Payments.
func (p Payments) Lookup(ctx context.Context, orderID string) checkout.Payment {
	return toPayment(p.Client.Lookup(ctx, orderID))
}

// Refund implements checkout.Payments: nil only when the provider answers
// that the payment is refunded (or was voided).
func (p Payments) Refund(ctx context.Context, paymentRef string) error {
	r, err := p.Client.Refund(ctx, paymentRef)
	if err != nil {
		return errcode.Wrap(errcode.Unavailable, err, "the payment provider did not confirm the refund")
	}
	if r.Outcome != Reversed {
		return errcode.New(errcode.Unavailable, "the payment provider answered the refund of %s with status %q", paymentRef, r.Payment.Status)
	}
	return nil
}

// Ledger implements checkout.Ledger.
func (p Payments) Ledger(ctx context.Context) iter.Seq2[checkout.LedgerEntry, error] {
	return func(yield func(checkout.LedgerEntry, error) bool) {
		for pay, err := range p.Client.Ledger(ctx) {
			if err != nil {
				yield(checkout.LedgerEntry{}, err)
				return
			}
			e := checkout.LedgerEntry{OrderID: pay.MerchantReference, Payment: toPayment(resultOf(pay))}
			if !yield(e, nil) {
				return
			}
		}
	}
}

// toPayment maps the provider's outcome to checkout's. Anything not
// conclusive is Unknown, which checkout answers by asking again later.
func toPayment(r Result, err error) checkout.Payment {
	p := checkout.Payment{Ref: r.Payment.ID, Amount: r.Payment.Amount, Currency: r.Payment.Currency}
	if r.Outcome == Refused {
		p.Outcome = checkout.PaymentDeclined
		return p
	}
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

// AuditLedger is the provider's ledger as the audit reads it.
func (c *Client) AuditLedger() audit.Ledger {
	return func(ctx context.Context) iter.Seq2[audit.Charge, error] {
		return func(yield func(audit.Charge, error) bool) {
			for p, err := range c.Ledger(ctx) {
				ch := audit.Charge{ID: p.ID, OrderID: p.MerchantReference, Status: p.Status, Amount: p.Amount, Currency: p.Currency}
				if !yield(ch, err) || err != nil {
					return
				}
			}
		}
	}
}
