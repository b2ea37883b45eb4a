package checkout

import (
	"context"
	"iter"
	"time"

	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/order"
)

// LedgerInterval is how often the sweeper walks the provider's ledger.
const LedgerInterval = 5 * time.Minute

// LedgerEntry is one payment as the provider's ledger lists it, with the
// order it names. Its Outcome is Paid for a capture.
type LedgerEntry struct {
	OrderID string
	Payment
}

// Ledger is the provider's list of every payment it holds.
type Ledger interface {
	// Ledger yields every payment, oldest first; iteration stops at the
	// first error, which is yielded.
	Ledger(ctx context.Context) iter.Seq2[LedgerEntry, error]
}

// SweepLedger walks the provider's ledger and refunds every capture that
// no paid order keeps: a second capture of an order, or a capture for a
// cancelled order that no other path reported (docs/INVARIANTS.md, I2).
// Captures of orders still pending are left to Reconcile, and those of
// orders this store does not know to whoever made them. Entries at the
// head of the ledger that need nothing more are skipped on later sweeps.
// It returns how many refunds it recorded.
func (s *Service) SweepLedger(ctx context.Context, l Ledger) (int, error) {
	s.ledgerMu.Lock()
	defer s.ledgerMu.Unlock()
	n, owed, head := 0, 0, true
	for e, err := range l.Ledger(ctx) {
		if err != nil {
			return owed, err
		}
		n++
		if n <= s.ledgerDone {
			continue
		}
		done, refunded, err := s.judge(ctx, e)
		if err != nil {
			return owed, err
		}
		if refunded {
			owed++
		}
		if head = head && done; head {
			s.ledgerDone = n
		}
	}
	return owed, nil
}

// judge decides one ledger entry: done when it needs nothing more, ever;
// refunded when it is a capture no order keeps, now owed back.
func (s *Service) judge(ctx context.Context, e LedgerEntry) (done, refunded bool, err error) {
	if e.Outcome != PaymentPaid {
		return e.Outcome != PaymentUnknown, false, nil // an authorization may still be captured
	}
	o, err := s.store.Order(ctx, e.OrderID)
	switch {
	case errcode.Is(err, errcode.NotFound):
		return true, false, nil
	case err != nil:
		return false, false, err
	case o.Status == order.PendingPayment:
		return false, false, nil
	case o.PaymentRef == e.Ref:
		return true, false, nil
	}
	reason := RefundSecondCapture
	if o.Status == order.Cancelled {
		reason = RefundCancelledOrder
	}
	s.log.WarnContext(ctx, "reconcile: refunding a capture no order keeps",
		"order_id", o.ID, "status", o.Status, "payment", e.Ref, "reason", reason)
	r, err := s.oweRefund(ctx, o, e.Payment, reason)
	if err != nil {
		return false, false, err
	}
	s.tryRefund(ctx, r)
	return true, true, nil
}
