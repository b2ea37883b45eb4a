package pspclient

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"

	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/payment/wire"
)

// Outcome is what the caller may conclude about an order's money.
type Outcome string

// The outcomes. Charge returns Paid, Declined, Refused or Unknown; Lookup
// can also return Authorized, Reversed and NotFound.
const (
	// Unknown: the provider's answer was not seen (timeout, breaker open,
	// lost response, 5xx after retries). The charge may or may not exist;
	// ask Lookup later, never charge under another key.
	Unknown Outcome = "unknown"
	// Paid: the money is captured.
	Paid Outcome = "paid"
	// Declined: the provider refused the payment; nothing is owed.
	Declined Outcome = "declined"
	// Refused: the provider refused the charge request itself (400, 402,
	// or 422 other than a reused idempotency key): no payment exists and
	// repeating the request cannot help.
	Refused Outcome = "refused"
	// Authorized: the money is held but not captured.
	Authorized Outcome = "authorized"
	// Reversed: the payment was voided or refunded.
	Reversed Outcome = "reversed"
	// NotFound: the provider has no payment for the order.
	NotFound Outcome = "not_found"
)

// Payment is the provider's record of a payment.
type Payment = wire.Payment

// Result is the outcome of a call and the payment it is about (zero when
// the outcome is Unknown or NotFound).
type Result struct {
	Outcome Outcome
	Payment Payment
}

// outcomes maps provider statuses to outcomes, and ranks tells which
// payment speaks for an order with several: money kept beats money held
// beats money returned beats a refusal.
var (
	outcomes = map[string]Outcome{
		wire.StatusCaptured: Paid, wire.StatusAuthorized: Authorized, wire.StatusRefunded: Reversed,
		wire.StatusVoided: Reversed, wire.StatusDeclined: Declined,
	}
	ranks = map[string]int{
		wire.StatusCaptured: 1, wire.StatusAuthorized: 2, wire.StatusRefunded: 3, wire.StatusVoided: 3, wire.StatusDeclined: 4,
	}
)

// Charge authorizes and captures amount (minor units) of currency for the
// order. The order id is the Idempotency-Key, so repeating a Charge, here or
// after a crash, can never charge twice. A non-nil error comes with Refused
// when the provider definitively refused the request, and with Unknown
// otherwise: it is an errcode error, Unavailable unless the provider
// refused the request outright (e.g. Conflict when the order id was charged
// with a different request: money may exist, so that is no refusal).
func (c *Client) Charge(ctx context.Context, orderID string, amount int64, currency string) (Result, error) {
	return c.ChargeWith(ctx, orderID, amount, currency, "")
}

// ChargeWith is Charge with a named payment method ("" for the default).
func (c *Client) ChargeWith(ctx context.Context, orderID string, amount int64, currency, paymentMethod string) (Result, error) {
	body, err := json.Marshal(wire.ChargeRequest{MerchantReference: orderID, Amount: amount, Currency: currency, Capture: true, PaymentMethod: paymentMethod})
	if err != nil {
		return Result{Outcome: Unknown}, errcode.Wrap(errcode.Internal, err, "encode charge")
	}
	resp, err := c.call(ctx, http.MethodPost, "/v1/payments", orderID, body)
	if err != nil {
		if refused(err) {
			return Result{Outcome: Refused}, classify(err)
		}
		return Result{Outcome: Unknown}, classify(err)
	}
	return decodePayment(resp.body)
}

// Fingerprint asks the provider which card a payment method is: the same
// card gives the same fingerprint whoever pays with it. Errors: not_found
// (no such payment method), unavailable.
func (c *Client) Fingerprint(ctx context.Context, paymentMethod string) (string, error) {
	resp, err := c.call(ctx, http.MethodGet, "/v1/payment_methods/"+url.PathEscape(paymentMethod), "", nil)
	if err != nil {
		return "", classify(err)
	}
	var pm wire.PaymentMethod
	if err := json.Unmarshal(resp.body, &pm); err != nil || pm.CardFingerprint == "" {
		return "", errcode.New(errcode.Unavailable, "unreadable provider answer about a payment method")
	}
	return pm.CardFingerprint, nil
}

// Lookup asks the provider what became of the order's payment, by merchant
// reference; it is how an Unknown outcome is finished. NotFound means the
// provider has no payment for the order yet: an attempt still in flight
// could land later, so the safe ways to settle such an order are another
// Charge (same key, so at most one payment) or giving up and leaving any
// late payment to reconciliation of the ledger.
func (c *Client) Lookup(ctx context.Context, orderID string) (Result, error) {
	resp, err := c.call(ctx, http.MethodGet, "/v1/payments?merchant_reference="+url.QueryEscape(orderID), "", nil)
	if err != nil {
		return Result{Outcome: Unknown}, classify(err)
	}
	var list wire.PaymentList
	if err := json.Unmarshal(resp.body, &list); err != nil {
		return Result{Outcome: Unknown}, errcode.Wrap(errcode.Unavailable, err, "unreadable provider answer")
	}
	best, found := Payment{}, false
	for _, p := range list.Data {
		if !found || ranks[p.Status] < ranks[best.Status] {
			best, found = p, true
		}
	}
	if !found {
		return Result{Outcome: NotFound}, nil
	}
	return resultOf(best)
}

// Void releases an authorized, uncaptured payment. Voiding it again is a
// no-op; voiding a captured one is a Conflict.
func (c *Client) Void(ctx context.Context, paymentID string) (Result, error) {
	return c.transition(ctx, paymentID, "void")
}

// Refund returns a captured payment in full. Refunding it again is a no-op;
// refunding one that was never captured is a Conflict.
func (c *Client) Refund(ctx context.Context, paymentID string) (Result, error) {
	return c.transition(ctx, paymentID, "refund")
}

func (c *Client) transition(ctx context.Context, paymentID, op string) (Result, error) {
	resp, err := c.call(ctx, http.MethodPost, "/v1/payments/"+url.PathEscape(paymentID)+"/"+op, "", []byte("{}"))
	if err != nil {
		return Result{Outcome: Unknown}, classify(err)
	}
	return decodePayment(resp.body)
}

// Ledger yields every payment the provider holds, oldest first, one page
// per request; each page is a call with its own budget. Iteration stops at
// the first error, which is yielded.
func (c *Client) Ledger(ctx context.Context) iter.Seq2[Payment, error] {
	return func(yield func(Payment, error) bool) {
		after := ""
		for {
			page, err := c.ledgerPage(ctx, after)
			if err != nil {
				yield(Payment{}, err)
				return
			}
			for _, p := range page.Data {
				if !yield(p, nil) {
					return
				}
			}
			if page.Next == "" {
				return
			}
			after = page.Next
		}
	}
}

func (c *Client) ledgerPage(ctx context.Context, after string) (wire.PaymentList, error) {
	q := url.Values{"limit": {strconv.Itoa(c.pageSize)}}
	if after != "" {
		q.Set("after", after)
	}
	resp, err := c.call(ctx, http.MethodGet, "/v1/ledger?"+q.Encode(), "", nil)
	if err != nil {
		return wire.PaymentList{}, classify(err)
	}
	var page wire.PaymentList
	if err := json.Unmarshal(resp.body, &page); err != nil {
		return wire.PaymentList{}, errcode.Wrap(errcode.Unavailable, err, "unreadable provider ledger")
	}
	return page, nil
}

func decodePayment(body []byte) (Result, error) {
	var p Payment
	if err := json.Unmarshal(body, &p); err != nil {
		return Result{Outcome: Unknown}, errcode.Wrap(errcode.Unavailable, err, "unreadable provider answer")
	}
	return resultOf(p)
}

func resultOf(p Payment) (Result, error) {
	o, ok := outcomes[p.Status]
	if !ok {
		return Result{Outcome: Unknown, Payment: p}, errcode.Wrap(errcode.Unavailable,
			fmt.Errorf("status %q", p.Status), "unknown payment status from provider")
	}
	return Result{Outcome: o, Payment: p}, nil
}
