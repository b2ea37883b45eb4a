package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/order"
	"github.com/surge-commerce/surge/internal/precondition"
)

var _ order.Store = (*Store)(nil)

// Orders implements order.Store.
func (s *Store) Orders(ctx context.Context, shopID int64, f order.Filter) ([]order.Order, error) {
	query := `SELECT ` + orderColumns + ` FROM orders WHERE shop_id = ? AND order_id > ?`
	args := []any{shopID, f.After}
	if f.Status != "" {
		query += ` AND status = ?`
		args = append(args, string(f.Status))
	}
	if f.CustomerID != "" {
		query += ` AND customer_id = ?`
		args = append(args, f.CustomerID)
	}
	query += ` ORDER BY order_id LIMIT ?`
	args = append(args, f.Limit)
	return s.queryOrders(ctx, query, args...)
}

// TransitionOrder moves an order on whatever its version.
func (s *Store) TransitionOrder(ctx context.Context, orderID string, from, to order.Status, now time.Time) (order.Order, error) {
	return s.TransitionOrderIf(ctx, orderID, from, to, now, precondition.Condition{})
}

// TransitionOrderIf implements order.Store. The If-Match versions are part
// of the UPDATE's WHERE beside the status it moves from.
func (s *Store) TransitionOrderIf(ctx context.Context, orderID string, from, to order.Status, now time.Time, cond precondition.Condition) (order.Order, error) {
	var o order.Order
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		where, args := cond.VersionSQL("version")
		res, err := tx.ExecContext(ctx, s.q(`UPDATE orders SET status = ?, updated_at = ?, version = version + 1
			WHERE order_id = ? AND status = ?`+where), append([]any{string(to), micros(now), orderID, string(from)}, args...)...)
		if err != nil {
			return err
		}
		if o, err = s.loadOrder(ctx, tx, orderID); err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return orderNotMoved(o, from, cond)
		}
		return s.insertOrderEvent(ctx, tx, o, "order."+string(to), now)
	})
	if err == nil {
		s.wakeRelay()
	}
	return o, err
}

// RefundOrder implements order.Store: the order becomes refunded and the
// money it was paid with owed back (refunds_owed, reason shop_refund) in one
// transaction, so the decision and the debt cannot part (docs/INVARIANTS.md,
// I9); the reconciler retries the refund until the provider confirms it.
func (s *Store) RefundOrder(ctx context.Context, orderID string, now time.Time) (order.Order, error) {
	return s.RefundOrderIf(ctx, orderID, now, precondition.Condition{})
}

// RefundOrderIf is RefundOrder when the order is at a version cond names,
// checked in the UPDATE's WHERE.
func (s *Store) RefundOrderIf(ctx context.Context, orderID string, now time.Time, cond precondition.Condition) (order.Order, error) {
	var o order.Order
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		where, args := cond.VersionSQL("version")
		res, err := tx.ExecContext(ctx, s.q(`UPDATE orders SET status = ?, updated_at = ?, version = version + 1
			WHERE order_id = ? AND status = ?`+where), append([]any{string(order.Refunded), micros(now), orderID, string(order.Paid)}, args...)...)
		if err != nil {
			return err
		}
		if o, err = s.loadOrder(ctx, tx, orderID); err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return orderNotMoved(o, order.Paid, cond)
		}
		if o.PaymentRef != "" {
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO refunds_owed (payment_ref, order_id, shop_id, amount, currency, reason, created_at, next_attempt_at)
				VALUES (?, ?, ?, ?, ?, 'shop_refund', ?, ?) ON CONFLICT (payment_ref) DO NOTHING`),
				o.PaymentRef, o.ID, o.ShopID, o.Total, o.Currency, micros(now), micros(now)); err != nil {
				return err
			}
		}
		return s.insertOrderEvent(ctx, tx, o, "order."+string(order.Refunded), now)
	})
	if err == nil {
		s.wakeRelay()
	}
	return o, err
}

// orderNotMoved says why an order's transition changed nothing: the order
// was not in the status it moves from, or else the client's precondition
// failed (RFC 9110 §13.2.1 applies preconditions only to a request that
// would otherwise succeed).
func orderNotMoved(o order.Order, from order.Status, cond precondition.Condition) error {
	if o.Status != from || cond.Holds(true, o.Version) {
		return order.NotInStatus(o, from)
	}
	return cond.Failed(precondition.Name("order", o.ID))
}

// queryOrders returns the orders a query selects (orderColumns, without
// their lines).
func (s *Store) queryOrders(ctx context.Context, query string, args ...any) ([]order.Order, error) {
	rows, err := s.read.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []order.Order
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, classify(err)
		}
		out = append(out, o)
	}
	return out, classify(rows.Err())
}

// Order implements checkout.Store.
func (s *Store) Order(ctx context.Context, orderID string) (order.Order, error) {
	opts := s.dialect.readTx
	tx, err := s.read.BeginTx(ctx, &opts)
	if err != nil {
		return order.Order{}, classify(err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	o, err := s.loadOrder(ctx, tx, orderID)
	return o, classify(err)
}

// OrderStatus returns an order's status in one read, for callers that act
// only on some statuses (a provider's webhook, mostly confirming what
// checkout already recorded).
func (s *Store) OrderStatus(ctx context.Context, orderID string) (order.Status, error) {
	var status string
	err := s.read.QueryRowContext(ctx, s.q(`SELECT status FROM orders WHERE order_id = ?`), orderID).Scan(&status)
	if err == sql.ErrNoRows {
		return "", errcode.Typed(errcode.NotFound, "order_not_found", "no order %q", orderID)
	}
	return order.Status(status), classify(err)
}

const orderColumns = `shop_id, order_id, customer_id, status, currency, total, payment_ref, cancel_reason, created_at, updated_at, version`

func scanOrder(row scanner) (order.Order, error) {
	var o order.Order
	var status string
	var created, updated int64
	err := row.Scan(&o.ShopID, &o.ID, &o.CustomerID, &status, &o.Currency, &o.Total, &o.PaymentRef, &o.CancelReason, &created, &updated, &o.Version)
	o.Status, o.CreatedAt, o.UpdatedAt = order.Status(status), fromMicros(created), fromMicros(updated)
	return o, err
}

func (s *Store) loadOrder(ctx context.Context, tx dbtx, orderID string) (order.Order, error) {
	o, err := scanOrder(tx.QueryRowContext(ctx, s.q(`SELECT `+orderColumns+` FROM orders WHERE order_id = ?`), orderID))
	if err == sql.ErrNoRows {
		return o, errcode.Typed(errcode.NotFound, "order_not_found", "no order %q", orderID)
	}
	if err != nil {
		return o, err
	}
	o.Lines, err = s.loadLines(ctx, tx, o.ShopID, orderID)
	return o, err
}

const linesQuery = `SELECT sku, title, unit_price, quantity FROM order_lines
	WHERE shop_id = ? AND order_id = ? ORDER BY sku`

func (s *Store) loadLines(ctx context.Context, tx dbtx, shopID int64, orderID string) ([]order.Line, error) {
	rows, err := tx.QueryContext(ctx, s.q(linesQuery), shopID, orderID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var lines []order.Line
	for rows.Next() {
		var l order.Line
		if err := rows.Scan(&l.SKU, &l.Title, &l.UnitPrice, &l.Quantity); err != nil {
			return nil, err
		}
		lines = append(lines, l)
	}
	return lines, rows.Err()
}
