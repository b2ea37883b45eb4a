package store

import (
	"context"
	"database/sql"
	"sort"
	"time"

	"github.com/surge-commerce/surge/internal/analytics"
	"github.com/surge-commerce/surge/internal/event"
	"github.com/surge-commerce/surge/internal/invoice"
	"github.com/surge-commerce/surge/internal/notify"
	"github.com/surge-commerce/surge/internal/recommend"
)

var (
	_ notify.Store    = (*Store)(nil)
	_ invoice.Store   = (*Store)(nil)
	_ analytics.Store = (*Store)(nil)
	_ recommend.Store = (*Store)(nil)
)

// applyOnce runs fn in one transaction with the record that consumer
// applied eventID, unless it already did: then it changes nothing and
// returns false. This is what makes redelivered events harmless.
func (s *Store) applyOnce(ctx context.Context, consumer, eventID string, shopID int64, now time.Time, fn func(context.Context, *sql.Tx) error) (bool, error) {
	applied := false
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`INSERT INTO consumed_events (consumer, event_id, shop_id, consumed_at)
			VALUES (?, ?, ?, ?) ON CONFLICT (consumer, event_id) DO NOTHING`), consumer, eventID, shopID, micros(now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		applied = true
		return fn(ctx, tx)
	})
	return applied, err
}

// ApplyNotification stores a rendered notification once per event.
func (s *Store) ApplyNotification(ctx context.Context, eventID string, n notify.Notification) (bool, error) {
	return s.applyOnce(ctx, "notify", eventID, n.ShopID, n.CreatedAt, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO notifications (shop_id, notification_id, order_id, kind, recipient, subject, body, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), n.ShopID, n.ID, n.OrderID, n.Kind, n.Recipient, n.Subject, n.Body, micros(n.CreatedAt))
		return err
	})
}

// CustomerEmail returns a customer's email ("" when none was given).
func (s *Store) CustomerEmail(ctx context.Context, shopID int64, customerID string) (string, error) {
	var email string
	err := s.read.QueryRowContext(ctx, s.q(`SELECT email FROM customers WHERE shop_id = ? AND customer_id = ?`),
		shopID, customerID).Scan(&email)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return email, classify(err)
}

// Notifications lists a shop's notifications, newest first, optionally for
// one order.
func (s *Store) Notifications(ctx context.Context, shopID int64, orderID string, limit int) ([]notify.Notification, error) {
	query := `SELECT shop_id, notification_id, order_id, kind, recipient, subject, body, created_at, sent_at
		FROM notifications WHERE shop_id = ?`
	args := []any{shopID}
	if orderID != "" {
		query += ` AND order_id = ?`
		args = append(args, orderID)
	}
	query += ` ORDER BY created_at DESC, notification_id DESC LIMIT ?`
	return s.queryNotifications(ctx, query, append(args, limit)...)
}

// UnsentNotifications returns notifications waiting for SMTP delivery,
// oldest first. Those without an email address stay in the shop's sink.
func (s *Store) UnsentNotifications(ctx context.Context, limit int) ([]notify.Notification, error) {
	return s.queryNotifications(ctx, `SELECT shop_id, notification_id, order_id, kind, recipient, subject, body, created_at, sent_at
		FROM notifications WHERE sent_at IS NULL AND recipient LIKE '%@%' ORDER BY created_at, notification_id LIMIT ?`, limit)
}

// MarkNotificationSent records an SMTP delivery.
func (s *Store) MarkNotificationSent(ctx context.Context, shopID int64, id string, now time.Time) error {
	_, err := s.exec(ctx, s.q(`UPDATE notifications SET sent_at = ? WHERE shop_id = ? AND notification_id = ?`),
		micros(now), shopID, id)
	return classify(err)
}

func (s *Store) queryNotifications(ctx context.Context, query string, args ...any) ([]notify.Notification, error) {
	rows, err := s.read.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []notify.Notification
	for rows.Next() {
		var n notify.Notification
		var created int64
		var sent sql.NullInt64
		if err := rows.Scan(&n.ShopID, &n.ID, &n.OrderID, &n.Kind, &n.Recipient, &n.Subject, &n.Body, &created, &sent); err != nil {
			return nil, classify(err)
		}
		n.CreatedAt = fromMicros(created)
		if sent.Valid {
			n.SentAt = fromMicros(sent.Int64)
		}
		out = append(out, n)
	}
	return out, classify(rows.Err())
}

// ApplyInvoice issues the next invoice number of the shop for a paid order,
// once per event. The counter row is updated in the same transaction, so
// numbers have no gaps and no duplicates.
func (s *Store) ApplyInvoice(ctx context.Context, eventID string, shopID int64, d event.OrderData, now time.Time) (bool, error) {
	return s.applyOnce(ctx, "invoice", eventID, shopID, now, func(ctx context.Context, tx *sql.Tx) error {
		var exists int
		err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM invoices WHERE order_id = ?`), d.OrderID).Scan(&exists)
		if err != nil || exists > 0 {
			return err // one invoice per order even if the order was paid twice over (it cannot be)
		}
		var no int64
		err = tx.QueryRowContext(ctx, s.q(`INSERT INTO invoice_counters (shop_id, last_no) VALUES (?, 1)
			ON CONFLICT (shop_id) DO UPDATE SET last_no = invoice_counters.last_no + 1 RETURNING last_no`), shopID).Scan(&no)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO invoices (shop_id, invoice_no, order_id, total, currency, issued_at)
			VALUES (?, ?, ?, ?, ?, ?)`), shopID, no, d.OrderID, d.Total, d.Currency, micros(now))
		return err
	})
}

// Invoices lists a shop's invoices by number.
func (s *Store) Invoices(ctx context.Context, shopID int64, afterNo int64, limit int) ([]invoice.Invoice, error) {
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT invoice_no, order_id, total, currency, issued_at FROM invoices
		WHERE shop_id = ? AND invoice_no > ? ORDER BY invoice_no LIMIT ?`), shopID, afterNo, limit)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []invoice.Invoice
	for rows.Next() {
		var inv invoice.Invoice
		var issued int64
		if err := rows.Scan(&inv.Number, &inv.OrderID, &inv.Total, &inv.Currency, &issued); err != nil {
			return nil, classify(err)
		}
		inv.IssuedAt = fromMicros(issued)
		out = append(out, inv)
	}
	return out, classify(rows.Err())
}

// ApplySales adds a paid order's units and revenue to the per-minute sales
// of each SKU, once per event.
func (s *Store) ApplySales(ctx context.Context, eventID string, shopID int64, lines []event.OrderLine, at, now time.Time) (bool, error) {
	minute := at.Truncate(time.Minute).Unix()
	return s.applyOnce(ctx, "analytics", eventID, shopID, now, func(ctx context.Context, tx *sql.Tx) error {
		for _, l := range lines {
			_, err := tx.ExecContext(ctx, s.q(`INSERT INTO sales_by_minute (shop_id, sku, minute, units, revenue) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (shop_id, sku, minute) DO UPDATE SET units = sales_by_minute.units + excluded.units,
					revenue = sales_by_minute.revenue + excluded.revenue`),
				shopID, l.SKU, minute, l.Quantity, l.Quantity*l.UnitPrice)
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// BestSellers returns the SKUs that sold most units since the given time.
func (s *Store) BestSellers(ctx context.Context, shopID int64, since time.Time, limit int) ([]analytics.SKUSales, error) {
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT sku, SUM(units), SUM(revenue) FROM sales_by_minute
		WHERE shop_id = ? AND minute >= ? GROUP BY sku ORDER BY SUM(units) DESC, sku LIMIT ?`),
		shopID, since.Truncate(time.Minute).Unix(), limit)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []analytics.SKUSales
	for rows.Next() {
		var u analytics.SKUSales
		if err := rows.Scan(&u.SKU, &u.Units, &u.Revenue); err != nil {
			return nil, classify(err)
		}
		out = append(out, u)
	}
	return out, classify(rows.Err())
}

// ApplyBoughtTogether counts, once per event, every pair of distinct SKUs
// that appear in one paid order, in both directions.
func (s *Store) ApplyBoughtTogether(ctx context.Context, eventID string, shopID int64, skus []string, now time.Time) (bool, error) {
	skus = append([]string(nil), skus...)
	sort.Strings(skus) // a stable lock order across concurrent orders
	return s.applyOnce(ctx, "recommend", eventID, shopID, now, func(ctx context.Context, tx *sql.Tx) error {
		for _, a := range skus {
			for _, b := range skus {
				if a == b {
					continue
				}
				_, err := tx.ExecContext(ctx, s.q(`INSERT INTO bought_together (shop_id, sku, other_sku, orders) VALUES (?, ?, ?, 1)
					ON CONFLICT (shop_id, sku, other_sku) DO UPDATE SET orders = bought_together.orders + 1`), shopID, a, b)
				if err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// BoughtTogether returns the SKUs most often bought with sku.
func (s *Store) BoughtTogether(ctx context.Context, shopID int64, sku string, limit int) ([]analytics.SKUSales, error) {
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT other_sku, orders FROM bought_together
		WHERE shop_id = ? AND sku = ? ORDER BY orders DESC, other_sku LIMIT ?`), shopID, sku, limit)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []analytics.SKUSales
	for rows.Next() {
		var u analytics.SKUSales
		if err := rows.Scan(&u.SKU, &u.Units); err != nil {
			return nil, classify(err)
		}
		out = append(out, u)
	}
	return out, classify(rows.Err())
}
