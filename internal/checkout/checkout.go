// Package checkout turns a customer's items into a paid order without ever
// overselling or charging twice (DESIGN §3, §4):
//
//  1. one transaction claims the Idempotency-Key, reserves stock with
//     conditional decrements, inserts the order as pending_payment, writes
//     the order.created outbox event and stores the response;
//  2. the provider is charged with the order id as its idempotency key;
//  3. one transaction records the outcome (paid or cancelled);
//  4. an unknown outcome leaves the order pending until the reconciler asks
//     the provider — never a blind second charge;
//  5. only a capture of the order's exact amount and currency pays it; any
//     capture no paid order keeps is money owed back, recorded before it is
//     refunded and retried until the provider confirms.
//
// It must never import a driver or a transport.
package checkout

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/surge-commerce/surge/internal/cart"
	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/order"
)

// Placement is everything the store needs to place an order atomically.
type Placement struct {
	ShopID      int64
	CustomerID  string
	Key         string
	Fingerprint string
	OrderID     string
	Items       []Item // merged and sorted by SKU
	Now         time.Time
	// ReservationExpiry is when unpaid stock goes back on sale.
	ReservationExpiry time.Time
	// LockUntil is how long concurrent retries get 409 while this attempt
	// runs; after it (a crash mid-charge), they get the stored response.
	LockUntil time.Time
	KeyExpiry time.Time
	// Token, when set, must not have been signed out or revoked: the
	// placement fails with unauthorized (token_revoked) and changes nothing.
	Token Token
}

// Store is what checkout needs from persistence. Every method is one
// transaction.
type Store interface {
	// PlaceOrder claims the key, reserves stock, inserts the order, the
	// order.created event and the response rendered by respond. When the
	// key was used before it returns the stored response instead and
	// changes nothing. Errors: invalid (unknown SKU; key reused with another
	// request: Type idempotency_key_reused), conflict (out_of_stock,
	// purchase_limit, request_in_progress).
	PlaceOrder(ctx context.Context, p Placement, respond func(order.Order) Response) (order.Order, *Response, error)
	// CompletePayment moves a pending order to paid, its reservations to
	// sold, writes order.paid and the final response. Errors: not_found,
	// conflict (order_not_pending, with the order's current status).
	CompletePayment(ctx context.Context, shopID int64, orderID, paymentRef string, now time.Time, respond func(order.Order) Response) (order.Order, error)
	// CancelOrder moves a pending order to cancelled and releases its stock
	// and purchase counts, writing order.cancelled. Errors: not_found,
	// conflict (order_not_pending).
	CancelOrder(ctx context.Context, shopID int64, orderID, reason string, now time.Time, respond func(order.Order) Response) (order.Order, error)
	// FinishKey ends the in-progress lock of an idempotency key, so retries
	// get the stored response at once.
	FinishKey(ctx context.Context, shopID int64, customerID, key string) error
	// UnverifiedCancellations returns orders cancelled while the provider
	// could not say whether it took the money, oldest first.
	UnverifiedCancellations(ctx context.Context, limit int) ([]order.Order, error)
	// SetCancelReason changes a cancelled order's reason from one code to
	// another (nothing happens if it no longer is from).
	SetCancelReason(ctx context.Context, orderID, from, to string) error
	// StaleOrders returns pending orders created before olderThan, oldest
	// first.
	StaleOrders(ctx context.Context, olderThan time.Time, limit int) ([]order.Order, error)
	// RecordRefundOwed durably records that a payment must be refunded.
	// Recording one already recorded changes nothing.
	RecordRefundOwed(ctx context.Context, r Refund) error
	// DueRefunds returns unconfirmed refunds due to be tried at now,
	// oldest first.
	DueRefunds(ctx context.Context, now time.Time, limit int) ([]Refund, error)
	// RefundFailed records a failed attempt to refund a payment and when
	// to try again.
	RefundFailed(ctx context.Context, paymentRef, cause string, next time.Time) error
	// ConfirmRefund records that the provider confirmed a refund.
	ConfirmRefund(ctx context.Context, paymentRef string, now time.Time) error
	// Order returns one order. Errors: not_found.
	Order(ctx context.Context, orderID string) (order.Order, error)
	// OrderStatus returns an order's status alone; NotFound when unknown.
	OrderStatus(ctx context.Context, orderID string) (order.Status, error)
	// PruneKeys deletes up to limit idempotency keys that expired before
	// now and returns how many it deleted.
	PruneKeys(ctx context.Context, now time.Time, limit int) (int, error)
}

// Carts is how checkout reads a cart given by id.
type Carts interface {
	Get(ctx context.Context, shopID int64, customerID, cartID string) (cart.Cart, error)
}

// Admission is the waiting room's gate: it refuses a checkout of a SKU
// sold through a waiting room unless the customer holds an admitted ticket.
type Admission interface {
	Admit(ctx context.Context, shopID int64, customerID, ticket string, skus []string) error
}

// Config tunes checkout.
type Config struct {
	// ReservationTTL is how long unpaid stock stays reserved; it must be
	// longer than ChargeBudget plus ChargeMargin, or a reservation could
	// expire while its charge is in flight (default 15m).
	ReservationTTL time.Duration
	KeyTTL         time.Duration // default 24h
	// ChargeBudget bounds a whole charge including retries; it is also how
	// long a retry of the same key answers 409.
	ChargeBudget time.Duration // default 10s
}

func (c *Config) defaults() {
	if c.ReservationTTL <= 0 {
		c.ReservationTTL = 15 * time.Minute
	}
	if c.KeyTTL <= 0 {
		c.KeyTTL = 24 * time.Hour
	}
	if c.ChargeBudget <= 0 {
		c.ChargeBudget = 10 * time.Second
	}
}

// ChargeMargin is added to the charge budget wherever a charge must be
// over for sure: the in-progress lock of a key, and how old an order must
// be before the sweeper may decide it. It covers the time between the
// order's creation and the start of its charge (the store bounds a write
// at a few seconds). A reservation must outlive both (see
// Config.ReservationTTL).
const ChargeMargin = 5 * time.Second

// recordBudget bounds the writes that record a charge's outcome, after
// the charge's own budget.
const recordBudget = 5 * time.Second

// inFlight is how long after it starts a charge may still be in flight.
func (c Config) inFlight() time.Duration { return c.ChargeBudget + ChargeMargin }

// Service runs checkouts.
type Service struct {
	store     Store
	carts     Carts
	payments  Payments
	admission Admission
	cfg       Config
	now       func() time.Time
	log       *slog.Logger
	// paying holds, by order id, a channel closed once this process has
	// recorded the outcome of the order's synchronous charge.
	paying sync.Map
	// ledgerMu serialises ledger sweeps; ledgerDone counts the entries at
	// the head of the ledger that need nothing more.
	ledgerMu   sync.Mutex
	ledgerDone int
}

// NewService returns a Service.
func NewService(store Store, carts Carts, payments Payments, admission Admission, cfg Config, now func() time.Time, log *slog.Logger) *Service {
	cfg.defaults()
	return &Service{store: store, carts: carts, payments: payments, admission: admission, cfg: cfg, now: now, log: log}
}

// Checkout places and pays an order, or replays the response stored under
// the request's key. Errors: see Store.PlaceOrder, plus invalid for a
// malformed request or key and unavailable when the database fails.
func (s *Service) Checkout(ctx context.Context, req Request) (Response, error) {
	if req.Key == "" {
		return Response{}, errcode.Typed(errcode.Invalid, "idempotency_key_missing",
			"an Idempotency-Key header of 1-255 visible ASCII characters is required")
	}
	if !ValidKey(req.Key) {
		return Response{}, errcode.Typed(errcode.Invalid, "idempotency_key_invalid",
			"the Idempotency-Key must be 1-255 visible ASCII characters (no spaces, no other characters)")
	}
	if err := req.validate(); err != nil {
		return Response{}, err
	}
	items := req.Items
	if req.CartID != "" {
		c, err := s.carts.Get(ctx, req.ShopID, req.CustomerID, req.CartID)
		if errcode.Is(err, errcode.NotFound) {
			var v errcode.Validation
			v.Add("cart_id", "unknown cart")
			return Response{}, v.Err()
		}
		if err != nil {
			return Response{}, err
		}
		for _, l := range c.Lines {
			items = append(items, Item{SKU: l.SKU, Quantity: l.Quantity})
		}
		if len(items) == 0 {
			var v errcode.Validation
			v.Add("cart_id", "the cart is empty")
			return Response{}, v.Err()
		}
	}
	merged, err := merge(items)
	if err != nil {
		return Response{}, err
	}
	skus := make([]string, len(merged))
	for i, it := range merged {
		skus[i] = it.SKU
	}
	if err := s.admission.Admit(ctx, req.ShopID, req.CustomerID, req.QueueTicket, skus); err != nil {
		return Response{}, err
	}
	now := s.now()
	o, replay, err := s.store.PlaceOrder(ctx, Placement{
		ShopID: req.ShopID, CustomerID: req.CustomerID, Key: req.Key, Fingerprint: req.fingerprint(),
		OrderID: "ord_" + uuid.Must(uuid.NewV7()).String(), Items: merged, Now: now,
		ReservationExpiry: now.Add(s.cfg.ReservationTTL),
		LockUntil:         now.Add(s.cfg.inFlight()),
		KeyExpiry:         now.Add(s.cfg.KeyTTL),
		Token:             req.Token,
	}, respond)
	if err != nil {
		return Response{}, err
	}
	if replay != nil {
		replay.Replayed = true
		return *replay, nil
	}
	return s.pay(ctx, req, o), nil
}

// pay charges the order and records the outcome. It runs on a context
// detached from the client's: a client that hangs up must not leave a
// charge half-recorded.
func (s *Service) pay(ctx context.Context, req Request, o order.Order) Response {
	detached := context.WithoutCancel(ctx)
	recorded := make(chan struct{})
	s.paying.Store(o.ID, recorded)
	defer func() { s.paying.Delete(o.ID); close(recorded) }()
	chargeCtx, cancelCharge := context.WithTimeout(detached, s.cfg.ChargeBudget)
	p := s.payments.Charge(chargeCtx, o.ID, o.Total, o.Currency)
	cancelCharge()
	// Recording has time of its own: a charge that used its whole budget
	// must still be recorded and its key released, or retries would get
	// 409 until the key's lock expires.
	ctx, cancel := context.WithTimeout(detached, recordBudget)
	defer cancel()
	final, err := s.settle(ctx, o, p)
	if err != nil {
		s.log.WarnContext(ctx, "checkout: payment outcome not recorded; the reconciler will finish it",
			"order_id", o.ID, "outcome", p.Outcome.String(), "err", err)
	}
	if final.Status == order.PendingPayment {
		if err := s.store.FinishKey(ctx, req.ShopID, req.CustomerID, req.Key); err != nil {
			s.log.WarnContext(ctx, "checkout: key stays locked until its lock expires", "order_id", o.ID, "err", err)
		}
	}
	return respond(final)
}

// settle records a payment outcome for a pending order and returns the
// order as it now stands. It is shared by checkout, the reconciler and the
// provider's webhooks, so all three apply an outcome the same way: only a
// capture of the order's exact amount and currency pays it
// (docs/INVARIANTS.md, I9).
func (s *Service) settle(ctx context.Context, o order.Order, p Payment) (order.Order, error) {
	switch p.Outcome {
	case PaymentPaid:
		if !p.pays(o) {
			return s.refuseMismatch(ctx, o, p)
		}
		done, err := s.store.CompletePayment(ctx, o.ShopID, o.ID, p.Ref, s.now(), respond)
		if errcode.Is(err, errcode.Conflict) {
			return s.refundStray(ctx, o.ID, p)
		}
		if err != nil {
			return o, err
		}
		return done, nil
	case PaymentDeclined:
		return s.cancel(ctx, o, order.ReasonPaymentDeclined)
	case PaymentNone:
		// A charge sent earlier may still land: the cancellation is
		// verified later (verifyCancellations).
		return s.cancel(ctx, o, order.ReasonPaymentUnverified)
	}
	return o, nil
}

// cancel cancels a pending order, releasing its stock; an order settled
// meanwhile is returned as it now is.
func (s *Service) cancel(ctx context.Context, o order.Order, reason string) (order.Order, error) {
	done, err := s.store.CancelOrder(ctx, o.ShopID, o.ID, reason, s.now(), respond)
	if errcode.Is(err, errcode.Conflict) {
		return s.store.Order(ctx, o.ID)
	}
	if err != nil {
		return o, err
	}
	return done, nil
}
