package store

import (
	"context"
	"time"

	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/order"
)

// CompletePayment implements checkout.Store.
func (s *Store) CompletePayment(ctx context.Context, shopID int64, orderID, paymentRef string, now time.Time, respond func(order.Order) checkout.Response) (order.Order, error) {
	return s.settleOrder(ctx, shopID, orderID, order.Paid, paymentRef, "", now, respond)
}

// CancelOrder implements checkout.Store.
func (s *Store) CancelOrder(ctx context.Context, shopID int64, orderID, reason string, now time.Time, respond func(order.Order) checkout.Response) (order.Order, error) {
	return s.settleOrder(ctx, shopID, orderID, order.Cancelled, "", reason, now, respond)
}

// UnverifiedCancellations implements checkout.Store.
func (s *Store) UnverifiedCancellations(ctx context.Context, limit int) ([]order.Order, error) {
	return s.queryOrders(ctx, `SELECT `+orderColumns+` FROM orders
		WHERE cancel_reason = ? ORDER BY created_at, order_id LIMIT ?`, order.ReasonPaymentUnverified, limit)
}

// SetCancelReason implements checkout.Store.
func (s *Store) SetCancelReason(ctx context.Context, orderID, from, to string) error {
	_, err := s.exec(ctx, s.q(`UPDATE orders SET cancel_reason = ?, version = version + 1
		WHERE order_id = ? AND status = 'cancelled' AND cancel_reason = ?`), to, orderID, from)
	return classify(err)
}

// settleOrder moves a pending order to paid (reservations become sold) or
// cancelled (reservations go back on sale), in one transaction with its
// event and the final idempotent response. On PostgreSQL it costs three
// round trips: the order, its lines and its reservations; the event, the
// response and the stock; the commit. An order that was not pending rolls
// back what the first one changed.
func (s *Store) settleOrder(ctx context.Context, shopID int64, orderID string, to order.Status, paymentRef, cancelReason string, now time.Time, respond func(order.Order) checkout.Response) (order.Order, error) {
	var o order.Order
	err := s.pipelined(ctx, func(ctx context.Context, t *pipeTx) error {
		var found bool
		var status, instrument string
		var created, updated int64
		t.queryRow(&found, `UPDATE orders SET status = ?, payment_ref = ?, cancel_reason = ?, updated_at = ?, version = version + 1
			WHERE shop_id = ? AND order_id = ? AND status = 'pending_payment' RETURNING `+orderColumns+`, instrument`,
			[]any{string(to), paymentRef, cancelReason, micros(now), shopID, orderID},
			&o.ShopID, &o.ID, &o.CustomerID, &status, &o.Currency, &o.Total, &o.PaymentRef, &o.CancelReason, &created, &updated, &o.Version, &instrument)
		var lines []order.Line
		t.query(func(scan func(...any) error) error {
			var l order.Line
			err := scan(&l.SKU, &l.Title, &l.UnitPrice, &l.Quantity)
			lines = append(lines, l)
			return err
		}, linesQuery, shopID, orderID)
		state := "sold"
		if to == order.Cancelled {
			state = "released"
		}
		buckets := map[string]int{} // of the reservations this settles; the others were settled before
		t.query(func(scan func(...any) error) error {
			var sku string
			var bucket int
			err := scan(&sku, &bucket)
			buckets[sku] = bucket
			return err
		}, `UPDATE reservations SET state = ? WHERE shop_id = ? AND order_id = ? AND state = 'held'
			RETURNING sku, bucket`, state, shopID, orderID)
		db, err := t.db(ctx)
		if err != nil {
			return err
		}
		if !found {
			cur, err := s.loadOrder(ctx, db, orderID)
			if err != nil {
				return err
			}
			return order.NotPending(cur)
		}
		o.Status, o.CreatedAt, o.UpdatedAt, o.Lines = order.Status(status), fromMicros(created), fromMicros(updated), lines
		event := "order.paid"
		if to == order.Cancelled {
			event = "order.cancelled"
		}
		query, args, err := orderEvent(ctx, o, event, now)
		if err != nil {
			return err
		}
		t.exec(nil, query, args...)
		r := respond(o)
		t.exec(nil, storeResponseQuery, outcomeCode(r.Outcome), string(r.Body), "done", o.ID)
		// Stock last, as in PlaceOrder: its lock is held until the commit.
		return s.settleStock(ctx, t, o, instrument, to, buckets)
	})
	if err == nil {
		s.wakeRelay()
	}
	return o, err
}

// settleStock moves the units of the reservations settleOrder just
// settled, by SKU the bucket each came from (an already settled one has
// nothing to move): purchase counts first, then inventory, the lock order
// of PlaceOrder, so a checkout and a cancellation of one customer cannot
// deadlock.
func (s *Store) settleStock(ctx context.Context, t *pipeTx, o order.Order, instrument string, to order.Status, buckets map[string]int) error {
	stock := `reserved = reserved - ?, sold = sold + ?`
	if to == order.Cancelled {
		stock = `reserved = reserved - ?, available = available + ?`
		for _, l := range o.Lines {
			if _, held := buckets[l.SKU]; held {
				t.exec(nil, `UPDATE purchase_counts SET units = units - ?
					WHERE shop_id = ? AND customer_id = ? AND sku = ? AND units >= ?`, l.Quantity, o.ShopID, o.CustomerID, l.SKU, l.Quantity)
				if instrument != "" {
					t.exec(nil, `UPDATE purchase_counts SET units = units - ?
						WHERE shop_id = ? AND customer_id = ? AND sku = ? AND units >= ?`, l.Quantity, o.ShopID, instrumentKey(instrument), l.SKU, l.Quantity)
				}
			}
		}
	}
	moved := make([]int64, len(o.Lines))
	for i, l := range o.Lines {
		bucket, held := buckets[l.SKU]
		if !held {
			continue
		}
		switch {
		case bucket >= 0 && to == order.Cancelled:
			// Released units go to the main row, not back to their bucket:
			// the sale may have ended or shrunk meanwhile, and a bucket
			// checkout no longer tries would strand them. Checkout tries
			// the main row after the buckets, so they stay on sale either
			// way. Bucket, then main row: the lock order (ADR 0018).
			t.exec(&moved[i], `UPDATE inventory_buckets SET reserved = reserved - ?, received = received - ?
				WHERE shop_id = ? AND sku = ? AND reserved >= ? AND bucket = ?`,
				l.Quantity, l.Quantity, o.ShopID, l.SKU, l.Quantity, bucket)
			t.exec(nil, `UPDATE inventory SET received = received + ?, available = available + ? WHERE shop_id = ? AND sku = ?`,
				l.Quantity, l.Quantity, o.ShopID, l.SKU)
		case bucket >= 0:
			t.exec(&moved[i], `UPDATE inventory_buckets SET `+stock+` WHERE shop_id = ? AND sku = ? AND reserved >= ? AND bucket = ?`,
				l.Quantity, l.Quantity, o.ShopID, l.SKU, l.Quantity, bucket)
		default:
			t.exec(&moved[i], `UPDATE inventory SET `+stock+` WHERE shop_id = ? AND sku = ? AND reserved >= ?`,
				l.Quantity, l.Quantity, o.ShopID, l.SKU, l.Quantity)
		}
	}
	if err := t.flush(ctx); err != nil {
		return err
	}
	for i, l := range o.Lines {
		if _, held := buckets[l.SKU]; held && moved[i] == 0 {
			return errcode.New(errcode.Internal, "inventory of %s holds less reserved stock than order %s", l.SKU, o.ID)
		}
	}
	return nil
}

// StaleOrders implements checkout.Store. Reservation expiry alone never
// makes an order stale: its charge may still be in flight
// (docs/INVARIANTS.md, I9).
func (s *Store) StaleOrders(ctx context.Context, olderThan time.Time, limit int) ([]order.Order, error) {
	return s.queryOrders(ctx, `SELECT `+orderColumns+` FROM orders
		WHERE status = 'pending_payment' AND created_at < ? ORDER BY created_at, order_id LIMIT ?`, micros(olderThan), limit)
}
