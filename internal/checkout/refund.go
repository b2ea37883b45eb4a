package checkout

import (
	"context"
	"time"

	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/order"
)

// Refund retries back off from refundBackoff, doubling per failed attempt,
// up to maxRefundBackoff.
const (
	refundBackoff    = 5 * time.Second
	maxRefundBackoff = 10 * time.Minute
)

// refuseMismatch handles a capture whose amount or currency is not the
// order's: it never pays the order. The refund is recorded first, so a
// crash after it still returns the money; then the order is cancelled and
// its stock released, and the refund tried (docs/INVARIANTS.md, I9).
func (s *Service) refuseMismatch(ctx context.Context, o order.Order, p Payment) (order.Order, error) {
	s.log.WarnContext(ctx, "checkout: a capture that does not match its order is refunded, not accepted",
		"order_id", o.ID, "payment", p.Ref, "amount", p.Amount, "currency", p.Currency,
		"order_total", o.Total, "order_currency", o.Currency)
	r, err := s.oweRefund(ctx, o, p, RefundMismatch)
	if err != nil {
		return o, err
	}
	final, err := s.cancel(ctx, o, order.ReasonPaymentMismatch)
	s.tryRefund(ctx, r)
	return final, err
}

// refundStray handles a capture for an order that is no longer pending:
// unless it is the capture that paid the order, it is money owed back (a
// capture for an order cancelled meanwhile, whose stock may have been sold
// again, or a second capture).
func (s *Service) refundStray(ctx context.Context, orderID string, p Payment) (order.Order, error) {
	cur, err := s.store.Order(ctx, orderID)
	if err != nil || cur.Status == order.PendingPayment || cur.PaymentRef == p.Ref {
		return cur, err
	}
	reason := RefundSecondCapture
	if cur.Status == order.Cancelled {
		reason = RefundCancelledOrder
	}
	s.log.WarnContext(ctx, "checkout: refunding a capture the order does not keep",
		"order_id", orderID, "status", cur.Status, "payment", p.Ref, "reason", reason)
	r, err := s.oweRefund(ctx, cur, p, reason)
	if err != nil {
		return cur, err
	}
	s.tryRefund(ctx, r)
	return cur, nil
}

// oweRefund durably records that p must be refunded.
func (s *Service) oweRefund(ctx context.Context, o order.Order, p Payment, reason string) (Refund, error) {
	now := s.now()
	r := Refund{PaymentRef: p.Ref, OrderID: o.ID, ShopID: o.ShopID, Amount: p.Amount, Currency: p.Currency,
		Reason: reason, CreatedAt: now, NextAttemptAt: now}
	return r, s.store.RecordRefundOwed(ctx, r)
}

// tryRefund asks the provider to refund r once and records the outcome: a
// refund that failed stays owed and is tried again after a backoff.
func (s *Service) tryRefund(ctx context.Context, r Refund) {
	err := s.payments.Refund(ctx, r.PaymentRef)
	if err == nil {
		err = s.store.ConfirmRefund(ctx, r.PaymentRef, s.now())
		if err != nil {
			s.log.WarnContext(ctx, "checkout: a confirmed refund was not recorded; it will be asked again",
				"order_id", r.OrderID, "payment", r.PaymentRef, "err", err)
		}
		return
	}
	backoff := min(refundBackoff<<min(r.Attempts, 20), maxRefundBackoff)
	s.log.WarnContext(ctx, "checkout: refund failed; it stays owed and is retried",
		"order_id", r.OrderID, "payment", r.PaymentRef, "attempts", r.Attempts+1, "retry_in", backoff, "err", err)
	if ferr := s.store.RefundFailed(ctx, r.PaymentRef, err.Error(), s.now().Add(backoff)); ferr != nil {
		s.log.WarnContext(ctx, "checkout: recording a failed refund failed; it is retried at once",
			"order_id", r.OrderID, "payment", r.PaymentRef, "err", ferr)
	}
}

// retryRefunds tries the refunds that are owed and due. It returns how
// many it tried.
func (s *Service) retryRefunds(ctx context.Context) int {
	due, err := s.store.DueRefunds(ctx, s.now(), 100)
	if err != nil {
		if !errcode.Is(err, errcode.Unavailable) {
			s.log.WarnContext(ctx, "reconcile: listing owed refunds failed", "err", err)
		}
		return 0
	}
	for _, r := range due {
		if ctx.Err() != nil {
			break
		}
		s.tryRefund(ctx, r)
	}
	return len(due)
}
