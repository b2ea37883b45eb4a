package store

import (
	"context"
	"time"

	"github.com/surge-commerce/surge/internal/audit"
)

var _ audit.Store = (*Store)(nil)

// AuditStock implements audit.Store.
func (s *Store) AuditStock(ctx context.Context) ([]audit.StockRow, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT i.shop_id, i.sku, i.received, i.available, i.reserved, i.sold,
			COALESCE(SUM(CASE WHEN r.state = 'held' THEN r.quantity END), 0),
			COALESCE(SUM(CASE WHEN r.state = 'sold' THEN r.quantity END), 0)
		FROM inventory i LEFT JOIN reservations r ON r.shop_id = i.shop_id AND r.sku = i.sku
		GROUP BY i.shop_id, i.sku, i.received, i.available, i.reserved, i.sold
		ORDER BY i.shop_id, i.sku`)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []audit.StockRow
	for rows.Next() {
		var r audit.StockRow
		if err := rows.Scan(&r.ShopID, &r.SKU, &r.Received, &r.Available, &r.Reserved, &r.Sold,
			&r.HeldReservations, &r.SoldReservations); err != nil {
			return nil, classify(err)
		}
		out = append(out, r)
	}
	return out, classify(rows.Err())
}

// AuditExpiredHolds implements audit.Store.
func (s *Store) AuditExpiredHolds(ctx context.Context, t time.Time) (int, error) {
	var n int
	err := s.read.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM reservations WHERE state = 'held' AND expires_at < ?`),
		micros(t)).Scan(&n)
	return n, classify(err)
}

// AuditOrders implements audit.Store.
func (s *Store) AuditOrders(ctx context.Context) (map[string]audit.OrderRow, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT order_id, status, total FROM orders`)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	out := map[string]audit.OrderRow{}
	for rows.Next() {
		var o audit.OrderRow
		if err := rows.Scan(&o.ID, &o.Status, &o.Total); err != nil {
			return nil, classify(err)
		}
		out[o.ID] = o
	}
	return out, classify(rows.Err())
}

// AuditDuplicateKeys implements audit.Store.
func (s *Store) AuditDuplicateKeys(ctx context.Context) (int, error) {
	var n int
	err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT shop_id, customer_id, idempotency_key
		FROM orders GROUP BY shop_id, customer_id, idempotency_key HAVING COUNT(*) > 1) d`).Scan(&n)
	return n, classify(err)
}
