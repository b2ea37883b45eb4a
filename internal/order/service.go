package order

import (
	"context"
	"encoding/base64"
	"strings"
	"time"

	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/precondition"
)

// Store is what orders need from persistence.
type Store interface {
	// Order returns one order with its lines. Errors: not_found.
	Order(ctx context.Context, orderID string) (Order, error)
	// Orders returns a page of a shop's orders, oldest first, without lines.
	Orders(ctx context.Context, shopID int64, f Filter) ([]Order, error)
	// TransitionOrderIf moves an order from one status to another and
	// writes the matching order.<to> event, in one transaction, if the
	// order is as cond expects. Errors: not_found, conflict
	// (order_not_in_status), precondition_failed.
	TransitionOrderIf(ctx context.Context, orderID string, from, to Status, now time.Time, cond precondition.Condition) (Order, error)
	// RefundOrderIf moves a paid order to refunded and records its payment
	// as money owed back, in one transaction, if the order is as cond
	// expects. Errors: not_found, conflict, precondition_failed.
	RefundOrderIf(ctx context.Context, orderID string, now time.Time, cond precondition.Condition) (Order, error)
	// ConfirmRefund records that the provider confirmed a refund.
	ConfirmRefund(ctx context.Context, paymentRef string, now time.Time) error
}

// Refunder returns captured money.
type Refunder interface {
	Refund(ctx context.Context, paymentRef string) error
}

// Service reads orders and applies after-sale transitions.
type Service struct {
	store    Store
	refunder Refunder
	now      func() time.Time
}

// NewService returns a Service.
func NewService(store Store, refunder Refunder, now func() time.Time) *Service {
	return &Service{store: store, refunder: refunder, now: now}
}

// Get returns an order of the shop. When customerID is not empty the order
// must be that customer's: another's is reported as not found, so order ids
// cannot be probed. Errors: not_found.
func (s *Service) Get(ctx context.Context, shopID int64, customerID, orderID string) (Order, error) {
	o, err := s.store.Order(ctx, orderID)
	if err != nil {
		return Order{}, err
	}
	if o.ShopID != shopID || (customerID != "" && o.CustomerID != customerID) {
		return Order{}, errcode.Typed(errcode.NotFound, "order_not_found", "no order %q", orderID)
	}
	return o, nil
}

// MaxPage bounds a page of orders.
const MaxPage = 100

// List returns a page of the shop's orders and the cursor of the next page.
// Errors: invalid.
func (s *Service) List(ctx context.Context, shopID int64, status, customerID, cursor string, limit int) ([]Order, string, error) {
	var v errcode.Validation
	if status != "" && !Status(status).Valid() {
		v.Add("status", "must be one of pending_payment, paid, cancelled, fulfilled, refunded")
	}
	after, err := decodeCursor(cursor)
	if err != nil {
		v.Add("cursor", "is not a cursor this server issued")
	}
	if limit < 0 || limit > MaxPage {
		v.Add("limit", "must be between 1 and 100")
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	if limit == 0 {
		limit = 20
	}
	orders, err := s.store.Orders(ctx, shopID, Filter{Status: Status(status), CustomerID: customerID, After: after, Limit: limit + 1})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(orders) > limit {
		orders = orders[:limit]
		next = encodeCursor(orders[limit-1].ID)
	}
	return orders, next, nil
}

// Refund returns a paid order's money and marks it refunded. The provider
// call comes first and is idempotent, so a retry after a failure between
// the two steps completes without refunding twice. Errors: not_found,
// conflict (not paid).
func (s *Service) Refund(ctx context.Context, shopID int64, orderID string, cond precondition.Condition) (Order, error) {
	o, err := s.Get(ctx, shopID, "", orderID)
	if err != nil {
		return Order{}, err
	}
	if !CanTransition(o.Status, Refunded) {
		return Order{}, errcode.Typed(errcode.Conflict, "order_not_refundable", "order %s is %s; only paid orders can be refunded", o.ID, o.Status)
	}
	// After the status: RFC 9110 §13.2.1 applies preconditions only to a
	// request that would otherwise succeed.
	if !cond.Holds(true, o.Version) {
		return Order{}, cond.Failed(precondition.Name("order", o.ID))
	}
	// The decision comes first, with the debt it creates: from here on the
	// order cannot be fulfilled, and the refund is owed until the provider
	// confirms it, whatever happens to the call below (the reconciler
	// retries it). Asking the provider first would leave money refunded
	// for an order still paid, or fulfilled meanwhile, when its answer is
	// lost (docs/INVARIANTS.md, I9).
	o, err = s.store.RefundOrderIf(ctx, o.ID, s.now(), cond)
	if err != nil {
		return Order{}, err
	}
	if o.PaymentRef == "" {
		return o, nil
	}
	if err := s.refunder.Refund(ctx, o.PaymentRef); err != nil {
		return o, nil // owed and retried; the order is refunded either way
	}
	if err := s.store.ConfirmRefund(ctx, o.PaymentRef, s.now()); err != nil {
		return o, nil // the reconciler confirms it on its next round
	}
	return o, nil
}

// Fulfil marks a paid order as shipped. Errors: not_found, conflict.
func (s *Service) Fulfil(ctx context.Context, shopID int64, orderID string, cond precondition.Condition) (Order, error) {
	o, err := s.Get(ctx, shopID, "", orderID)
	if err != nil {
		return Order{}, err
	}
	if !CanTransition(o.Status, Fulfilled) {
		return Order{}, errcode.Typed(errcode.Conflict, "order_not_fulfillable", "order %s is %s; only paid orders can be fulfilled", o.ID, o.Status)
	}
	if !cond.Holds(true, o.Version) {
		return Order{}, cond.Failed(precondition.Name("order", o.ID))
	}
	return s.store.TransitionOrderIf(ctx, o.ID, Paid, Fulfilled, s.now(), cond)
}

func encodeCursor(id string) string { return base64.RawURLEncoding.EncodeToString([]byte("o1:" + id)) }

func decodeCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(raw), "o1:") || len(raw) > 100 {
		return "", errcode.New(errcode.Invalid, "bad cursor")
	}
	return strings.TrimPrefix(string(raw), "o1:"), nil
}
