package store

import (
	"context"
	"time"

	"github.com/surge-commerce/surge/internal/audit"
)

var _ audit.Store = (*Store)(nil)

// AuditStock implements audit.Store.
func (s *Store) AuditStock(ctx context.Context) ([]audit.StockRow, error) {
	// A SKU's counters are its main row plus its flash-sale buckets.
	rows, err := s.read.QueryContext(ctx, `SELECT t.shop_id, t.sku, SUM(t.received), SUM(t.available), SUM(t.reserved), SUM(t.sold),
			COALESCE((SELECT SUM(r.quantity) FROM reservations r WHERE r.shop_id = t.shop_id AND r.sku = t.sku AND r.state = 'held'), 0),
			COALESCE((SELECT SUM(r.quantity) FROM reservations r WHERE r.shop_id = t.shop_id AND r.sku = t.sku AND r.state = 'sold'), 0)
		FROM (SELECT shop_id, sku, received, available, reserved, sold FROM inventory
			UNION ALL SELECT shop_id, sku, received, available, reserved, sold FROM inventory_buckets) t
		GROUP BY t.shop_id, t.sku
		ORDER BY t.shop_id, t.sku`)
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

// AuditEvents implements audit.Store: it counts what invariant 5 compares,
// considering only what happened before settled (younger work may still be
// in flight through the relay and the consumers).
func (s *Store) AuditEvents(ctx context.Context, settled time.Time) (audit.EventCounts, error) {
	var c audit.EventCounts
	t := micros(settled)
	paid := `status IN ('paid', 'fulfilled', 'refunded')`
	queries := []struct {
		dst   *int64
		query string
		args  []any
	}{
		{&c.Unpublished, `SELECT COUNT(*) FROM outbox WHERE published_at IS NULL AND occurred_at < ?`, []any{t}},
		{&c.PaidOrders, `SELECT COUNT(*) FROM orders WHERE ` + paid + ` AND updated_at < ?`, []any{t}},
		{&c.PaidWithoutInvoice, `SELECT COUNT(*) FROM orders o WHERE ` + paid + ` AND updated_at < ?
			AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.order_id = o.order_id)`, []any{t}},
		{&c.InvoiceGaps, `SELECT COUNT(*) FROM (SELECT shop_id FROM invoices GROUP BY shop_id
			HAVING MAX(invoice_no) <> COUNT(*) OR MIN(invoice_no) <> 1) g`, nil},
		{&c.PaidWithoutConfirmation, `SELECT COUNT(*) FROM orders o WHERE ` + paid + ` AND updated_at < ?
			AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.shop_id = o.shop_id AND n.order_id = o.order_id AND n.kind = 'order.paid')`, []any{t}},
		{&c.DuplicateConfirmations, `SELECT COUNT(*) FROM (SELECT order_id FROM notifications WHERE kind = 'order.paid'
			GROUP BY shop_id, order_id HAVING COUNT(*) > 1) d`, nil},
		{&c.SoldUnits, `SELECT COALESCE(SUM(l.quantity), 0) FROM order_lines l JOIN orders o ON o.order_id = l.order_id WHERE o.` + paid, nil},
		{&c.AnalyticsUnits, `SELECT COALESCE(SUM(units), 0) FROM sales_by_minute`, nil},
		{&c.RecentlyPaid, `SELECT COUNT(*) FROM orders WHERE ` + paid + ` AND updated_at >= ?`, []any{t}},
	}
	for _, q := range queries {
		if err := s.read.QueryRowContext(ctx, s.q(q.query), q.args...).Scan(q.dst); err != nil {
			return c, classify(err)
		}
	}
	return c, nil
}
