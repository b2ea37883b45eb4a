// Package order defines orders and the only transitions their status may
// take, and serves them to their owners and to shop admins.
//
// Orders are written by checkout (in the same transaction as the stock they
// reserve); this package reads them and applies after-sale transitions.
// It must never import a driver or a transport.
package order

import (
	"time"

	"github.com/surge-commerce/surge/internal/errcode"
)

// Status is where an order is in its life.
type Status string

// The statuses. pending_payment is the only one checkout creates.
const (
	PendingPayment Status = "pending_payment"
	Paid           Status = "paid"
	Cancelled      Status = "cancelled"
	Fulfilled      Status = "fulfilled"
	Refunded       Status = "refunded"
)

// Why an order was cancelled: stable codes stored with it.
const (
	ReasonPaymentDeclined = "payment_declined"
	// ReasonPaymentNone: the charge never reached the provider.
	ReasonPaymentNone = "payment_none"
	// ReasonPaymentUnverified: the reservation expired while the provider
	// could not say whether it took the money; reconciliation goes on
	// until it can, then records one of the others.
	ReasonPaymentUnverified = "payment_unverified"
	// ReasonLatePaymentRefunded: money arrived after the cancellation and
	// was refunded.
	ReasonLatePaymentRefunded = "late_payment_refunded"
	// ReasonPaymentMismatch: the provider captured another amount or
	// currency than the order's; that capture is refunded, never accepted.
	ReasonPaymentMismatch = "payment_mismatch"
)

// transitions lists the legal moves; anything else is refused.
var transitions = map[Status][]Status{
	PendingPayment: {Paid, Cancelled},
	Paid:           {Fulfilled, Refunded},
}

// CanTransition reports whether an order may move from one status to another.
func CanTransition(from, to Status) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// NotInStatus is the refusal of a transition from a status the order is
// not in (it moved on meanwhile, or never was there).
func NotInStatus(o Order, from Status) error {
	return errcode.Typed(errcode.Conflict, "order_not_in_status", "order %s is %s, not %s", o.ID, o.Status, from)
}

// NotPending is the refusal to settle (pay or cancel) an order that is no
// longer pending payment: another path settled it first. It names the
// order's status, which the caller acts on.
func NotPending(o Order) error {
	return errcode.Typed(errcode.Conflict, "order_not_pending", "order %s is %s", o.ID, o.Status).With("status", string(o.Status))
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case PendingPayment, Paid, Cancelled, Fulfilled, Refunded:
		return true
	}
	return false
}

// Line is one SKU of an order, priced when the order was placed.
type Line struct {
	SKU       string `json:"sku"`
	Title     string `json:"title"`
	UnitPrice int64  `json:"unit_price"`
	Quantity  int64  `json:"quantity"`
}

// Order is a customer's purchase.
type Order struct {
	ShopID     int64
	ID         string
	CustomerID string
	Status     Status
	Lines      []Line
	Total      int64
	Currency   string
	PaymentRef string
	// CancelReason is one of the Reason codes when the order is cancelled.
	CancelReason string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// Version moves on with each change of the order; its admin ETag is
	// "v<version>" (package precondition).
	Version int64
}

// Filter selects orders for a shop admin.
type Filter struct {
	Status     Status // empty: any
	CustomerID string // empty: any
	// After is the last order id of the previous page (ids sort by time).
	After string
	Limit int
}
