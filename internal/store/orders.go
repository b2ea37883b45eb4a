package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/order"
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

// TransitionOrder implements order.Store.
func (s *Store) TransitionOrder(ctx context.Context, orderID string, from, to order.Status, now time.Time) (order.Order, error) {
	var o order.Order
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE orders SET status = ?, updated_at = ? WHERE order_id = ? AND status = ?`),
			string(to), micros(now), orderID, string(from))
		if err != nil {
			return err
		}
		if o, err = s.loadOrder(ctx, tx, orderID); err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errcode.Typed(errcode.Conflict, "order_not_in_status", "order %s is %s, not %s", orderID, o.Status, from)
		}
		return s.insertOrderEvent(ctx, tx, o, "order."+string(to), now)
	})
	if err == nil {
		s.wakeRelay()
	}
	return o, err
}
