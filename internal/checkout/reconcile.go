package checkout

import (
	"context"
	"sync"
	"time"

	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/order"
)

// Reconcile finishes pending orders whose charge has had its time: it asks
// the provider what happened and records that. Only orders older than the
// charge budget plus ChargeMargin are decided, whatever their reservation
// says, so no process cancels an order whose charge may still be in flight
// (docs/INVARIANTS.md, I9). When the provider has no payment at all (the
// charge never reached it, e.g. it timed out on the way in), the charge is
// sent again under the same idempotency key — the order id — so it can
// never be taken twice, as long as that charge ends before the reservation
// does; once the reservation has expired the order is cancelled instead
// and its stock released (money arriving after that is refunded: the order
// stays marked unverified until the provider answers). It also retries the
// refunds still owed. It returns how many orders it finished.
func (s *Service) Reconcile(ctx context.Context) (int, error) {
	now := s.now()
	stale, err := s.store.StaleOrders(ctx, now.Add(-s.cfg.inFlight()), 100)
	if err != nil {
		return 0, err
	}
	done := 0
	for _, o := range stale {
		if ctx.Err() != nil {
			break
		}
		age := now.Sub(o.CreatedAt)
		expired := age >= s.cfg.ReservationTTL
		p := s.payments.Lookup(ctx, o.ID)
		if p.Outcome == PaymentNone && age+s.cfg.inFlight() < s.cfg.ReservationTTL {
			p = s.charge(ctx, o)
		}
		var final order.Order
		switch {
		case (p.Outcome == PaymentUnknown || p.Outcome == PaymentNone) && expired:
			// The stock must go back on sale, but the money may have been
			// taken or be on its way: cancel, and keep asking
			// (verifyCancellations).
			final, err = s.cancel(ctx, o, order.ReasonPaymentUnverified)
		case p.Outcome == PaymentUnknown || p.Outcome == PaymentNone:
			continue // ask again next round
		default:
			final, err = s.settle(ctx, o, p)
		}
		if err != nil {
			s.log.WarnContext(ctx, "reconcile: order not settled", "order_id", o.ID, "err", err)
			continue
		}
		if final.Status != order.PendingPayment {
			done++
		}
	}
	done += s.verifyCancellations(ctx)
	s.retryRefunds(ctx)
	return done, nil
}

// charge sends an order's charge again, within the charge budget, so that
// it is over before the order's reservation expires.
func (s *Service) charge(ctx context.Context, o order.Order) Payment {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ChargeBudget)
	defer cancel()
	return s.payments.Charge(ctx, o.ID, o.Total, o.Currency)
}

// verifyCancellations asks the provider about orders cancelled while it
// could not answer, refunds money that did arrive, and records what it
// learnt. "No payment" is believed only once a charge sent before the
// cancellation can no longer land. It returns how many it settled.
func (s *Service) verifyCancellations(ctx context.Context) int {
	orders, err := s.store.UnverifiedCancellations(ctx, 100)
	if err != nil {
		if !errcode.Is(err, errcode.Unavailable) {
			s.log.WarnContext(ctx, "reconcile: listing unverified cancellations failed", "err", err)
		}
		return 0
	}
	done := 0
	for _, o := range orders {
		if ctx.Err() != nil {
			break
		}
		p := s.payments.Lookup(ctx, o.ID)
		reason := order.ReasonPaymentNone
		switch p.Outcome {
		case PaymentUnknown:
			continue // ask again next round
		case PaymentNone:
			if s.now().Sub(o.UpdatedAt) < s.cfg.inFlight() {
				continue // a charge may still land
			}
		case PaymentDeclined:
			reason = order.ReasonPaymentDeclined
		case PaymentPaid:
			s.log.WarnContext(ctx, "reconcile: refunding money that arrived for a cancelled order", "order_id", o.ID, "payment", p.Ref)
			r, err := s.oweRefund(ctx, o, p, RefundCancelledOrder)
			if err != nil {
				s.log.WarnContext(ctx, "reconcile: recording a refund owed failed; retrying next round", "order_id", o.ID, "err", err)
				continue
			}
			s.tryRefund(ctx, r)
			reason = order.ReasonLatePaymentRefunded
		}
		if err := s.store.SetCancelReason(ctx, o.ID, order.ReasonPaymentUnverified, reason); err != nil {
			s.log.WarnContext(ctx, "reconcile: recording a verified cancellation failed", "order_id", o.ID, "err", err)
			continue
		}
		done++
	}
	return done
}

// ApplyProviderEvent applies a payment outcome the provider pushed (a
// webhook) to the order it names. It is idempotent: an outcome already
// recorded changes nothing. Errors: not_found.
func (s *Service) ApplyProviderEvent(ctx context.Context, orderID string, p Payment) error {
	// The provider often reports a charge before checkout has recorded
	// the answer it got to the same charge: wait for that, rather than
	// racing it to the same rows.
	if recorded, ok := s.paying.Load(orderID); ok {
		select {
		case <-recorded.(chan struct{}):
		case <-ctx.Done():
			return errcode.Wrap(errcode.Unavailable, ctx.Err(), "the order's payment is still being recorded")
		}
	}
	status, err := s.store.OrderStatus(ctx, orderID)
	if err != nil {
		return err
	}
	switch {
	case status == order.PendingPayment && p.Outcome != PaymentUnknown:
		o, err := s.store.Order(ctx, orderID)
		if err != nil {
			return err
		}
		_, err = s.settle(ctx, o, p)
		return err
	case status == order.Cancelled && p.Outcome == PaymentPaid:
		// Only a cancelled order is read further: a paid one is nearly
		// always confirmed by its own capture, and this is every paid
		// order's path.
		_, err = s.refundStray(ctx, orderID, p)
		return err
	}
	return nil
}

// Reconciler runs Reconcile periodically in the background (the sweeper
// role).
type Reconciler struct {
	svc      *Service
	interval time.Duration
	ledger   Ledger
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// NewReconciler returns a Reconciler running every interval, and sweeping
// the provider's ledger every LedgerInterval when ledger is not nil.
func NewReconciler(svc *Service, interval time.Duration, ledger Ledger) *Reconciler {
	return &Reconciler{svc: svc, interval: interval, ledger: ledger}
}

// Start begins reconciling until Stop.
func (r *Reconciler) Start(ctx context.Context) error {
	ctx, r.cancel = context.WithCancel(ctx)
	r.wg.Go(func() {
		t := time.NewTicker(r.interval)
		defer t.Stop()
		swept := r.svc.now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if _, err := r.svc.Reconcile(ctx); err != nil && !errcode.Is(err, errcode.Unavailable) {
				r.svc.log.WarnContext(ctx, "reconcile failed", "err", err)
			}
			if _, err := r.svc.store.PruneKeys(ctx, r.svc.now(), 1000); err != nil && !errcode.Is(err, errcode.Unavailable) {
				r.svc.log.WarnContext(ctx, "pruning idempotency keys failed", "err", err)
			}
			if r.ledger != nil && r.svc.now().Sub(swept) >= LedgerInterval {
				swept = r.svc.now()
				if _, err := r.svc.SweepLedger(ctx, r.ledger); err != nil && !errcode.Is(err, errcode.Unavailable) {
					r.svc.log.WarnContext(ctx, "sweeping the provider's ledger failed", "err", err)
				}
			}
		}
	})
	return nil
}

// Stop ends the loop and waits for the round in progress.
func (r *Reconciler) Stop() {
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
}
