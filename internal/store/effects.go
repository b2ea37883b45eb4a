package store

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"github.com/surge-commerce/surge/internal/analytics"
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

// ApplyNotifications stores rendered notifications once per event, in one
// transaction for the batch, and returns how many it stored.
func (s *Store) ApplyNotifications(ctx context.Context, rendered []notify.Rendered) (int, error) {
	stored := 0
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		stored = 0
		if len(rendered) == 0 {
			return nil
		}
		events := make([]claimed, len(rendered))
		for i, r := range rendered {
			events[i] = claimed{r.EventID, r.ShopID}
		}
		ids, err := s.claimEvents(ctx, tx, "notify", events, rendered[0].CreatedAt)
		if err != nil || len(ids) == 0 {
			return err
		}
		query := `INSERT INTO notifications (shop_id, notification_id, order_id, kind, recipient, subject, body, created_at) VALUES `
		var args []any
		for _, r := range rendered {
			if !ids[r.EventID] {
				continue
			}
			delete(ids, r.EventID) // the same event twice in one batch counts once
			query += valuesRow(stored, 8)
			args = append(args, r.ShopID, r.ID, r.OrderID, r.Kind, r.Recipient, r.Subject, r.Body, micros(r.CreatedAt))
			stored++
		}
		_, err = tx.ExecContext(ctx, s.q(query), args...)
		return err
	})
	if err != nil {
		return 0, err
	}
	return stored, nil
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

// ApplyInvoices issues invoices for a batch of paid orders in one
// transaction, once per event and once per order, and returns how many it
// issued. Each shop's counter row is bumped once for the whole batch, just
// before the commit: every invoice of a shop needs that row, and its lock
// is held through the commit's disk flush, so one number per transaction
// capped a shop's invoicing at a few hundred a second (ADR 0015).
func (s *Store) ApplyInvoices(ctx context.Context, paid []invoice.Paid, now time.Time) (int, error) {
	issued := 0
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		issued = 0
		events := make([]claimed, len(paid))
		for i, p := range paid {
			events[i] = claimed{p.EventID, p.ShopID}
		}
		ids, err := s.claimEvents(ctx, tx, "invoice", events, now)
		if err != nil || len(ids) == 0 {
			return err
		}
		var fresh []invoice.Paid
		for _, p := range paid {
			if ids[p.EventID] {
				delete(ids, p.EventID) // the same event twice in one batch counts once
				fresh = append(fresh, p)
			}
		}
		fresh, err = s.notInvoiced(ctx, tx, fresh)
		if err != nil {
			return err
		}
		byShop := map[int64][]invoice.Paid{}
		var shops []int64
		for _, p := range fresh {
			if byShop[p.ShopID] == nil {
				shops = append(shops, p.ShopID)
			}
			byShop[p.ShopID] = append(byShop[p.ShopID], p)
		}
		slices.Sort(shops) // one lock order for every replica's batches
		for _, shopID := range shops {
			ps := byShop[shopID]
			var last int64
			err := tx.QueryRowContext(ctx, s.q(`INSERT INTO invoice_counters (shop_id, last_no) VALUES (?, ?)
				ON CONFLICT (shop_id) DO UPDATE SET last_no = invoice_counters.last_no + excluded.last_no RETURNING last_no`),
				shopID, len(ps)).Scan(&last)
			if err != nil {
				return err
			}
			query := `INSERT INTO invoices (shop_id, invoice_no, order_id, total, currency, issued_at) VALUES `
			args := make([]any, 0, 6*len(ps))
			for i, p := range ps {
				query += valuesRow(i, 6)
				args = append(args, shopID, last-int64(len(ps)-1-i), p.Order.OrderID, p.Order.Total, p.Order.Currency, micros(now))
			}
			if _, err := tx.ExecContext(ctx, s.q(query), args...); err != nil {
				return err
			}
			issued += len(ps)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return issued, nil
}

// claimed is an event a consumer records as applied, and its shop.
type claimed struct {
	eventID string
	shopID  int64
}

// claimEvents records, in one statement, that consumer applied the events,
// and returns the ids of those it had not applied before.
func (s *Store) claimEvents(ctx context.Context, tx *sql.Tx, consumer string, events []claimed, now time.Time) (map[string]bool, error) {
	query := `INSERT INTO consumed_events (consumer, event_id, shop_id, consumed_at) VALUES `
	args := make([]any, 0, 4*len(events))
	for i, e := range events {
		query += valuesRow(i, 4)
		args = append(args, consumer, e.eventID, e.shopID, micros(now))
	}
	rows, err := tx.QueryContext(ctx, s.q(query+` ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	fresh := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		fresh[id] = true
	}
	return fresh, rows.Err()
}

// notInvoiced drops the orders that already have an invoice, and all but
// the first event of an order: one invoice per order, even if it were paid
// twice over (it cannot be).
func (s *Store) notInvoiced(ctx context.Context, tx *sql.Tx, paid []invoice.Paid) ([]invoice.Paid, error) {
	args := make([]any, len(paid))
	for i, p := range paid {
		args[i] = p.Order.OrderID
	}
	marks := strings.Repeat("?, ", len(paid)-1) + "?"
	rows, err := tx.QueryContext(ctx, s.q(`SELECT order_id FROM invoices WHERE order_id IN (`+marks+`)`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		seen[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []invoice.Paid
	for _, p := range paid {
		if !seen[p.Order.OrderID] {
			seen[p.Order.OrderID] = true
			out = append(out, p)
		}
	}
	return out, nil
}

// valuesRow returns the i-th row of a multi-row VALUES list of n columns.
func valuesRow(i, n int) string {
	row := "(?" + strings.Repeat(", ?", n-1) + ")"
	if i > 0 {
		return ", " + row
	}
	return row
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

// ApplySales adds paid orders' lines to the per-minute sales of each SKU,
// once per event, in one transaction for the batch, and returns how many
// events it applied. Lines on the same SKU and minute are summed first:
// during a flash sale every order adds to one row, whose lock is held
// through the commit's disk flush (ADR 0015).
func (s *Store) ApplySales(ctx context.Context, sales []analytics.Sale, now time.Time) (int, error) {
	type key struct {
		shopID int64
		sku    string
		minute int64
	}
	applied := 0
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		applied = 0
		events := make([]claimed, len(sales))
		for i, sale := range sales {
			events[i] = claimed{sale.EventID, sale.ShopID}
		}
		ids, err := s.claimEvents(ctx, tx, "analytics", events, now)
		if err != nil || len(ids) == 0 {
			return err
		}
		sums := map[key][2]int64{} // units, revenue
		var keys []key
		for _, sale := range sales {
			if !ids[sale.EventID] {
				continue
			}
			delete(ids, sale.EventID) // the same event twice in one batch counts once
			applied++
			for _, l := range sale.Lines {
				k := key{sale.ShopID, l.SKU, sale.At.Truncate(time.Minute).Unix()}
				sum, seen := sums[k]
				if !seen {
					keys = append(keys, k)
				}
				sums[k] = [2]int64{sum[0] + l.Quantity, sum[1] + l.Quantity*l.UnitPrice}
			}
		}
		if len(keys) == 0 {
			return nil
		}
		// One lock order for every replica's batches.
		slices.SortFunc(keys, func(a, b key) int {
			return cmp.Or(cmp.Compare(a.shopID, b.shopID), strings.Compare(a.sku, b.sku), cmp.Compare(a.minute, b.minute))
		})
		query := `INSERT INTO sales_by_minute (shop_id, sku, minute, units, revenue) VALUES `
		args := make([]any, 0, 5*len(keys))
		for i, k := range keys {
			query += valuesRow(i, 5)
			args = append(args, k.shopID, k.sku, k.minute, sums[k][0], sums[k][1])
		}
		_, err = tx.ExecContext(ctx, s.q(query+` ON CONFLICT (shop_id, sku, minute) DO UPDATE SET
			units = sales_by_minute.units + excluded.units, revenue = sales_by_minute.revenue + excluded.revenue`), args...)
		return err
	})
	if err != nil {
		return 0, err
	}
	return applied, nil
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
// that appear in one paid order, in both directions, in one transaction
// for the batch, and returns how many events it applied. Pairs repeated
// across the batch are summed first.
func (s *Store) ApplyBoughtTogether(ctx context.Context, orders []recommend.Bought, now time.Time) (int, error) {
	type pair struct {
		shopID     int64
		sku, other string
	}
	applied := 0
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		applied = 0
		events := make([]claimed, len(orders))
		for i, o := range orders {
			events[i] = claimed{o.EventID, o.ShopID}
		}
		ids, err := s.claimEvents(ctx, tx, "recommend", events, now)
		if err != nil || len(ids) == 0 {
			return err
		}
		counts := map[pair]int64{}
		var pairs []pair
		for _, o := range orders {
			if !ids[o.EventID] {
				continue
			}
			delete(ids, o.EventID) // the same event twice in one batch counts once
			applied++
			skus := slices.Compact(slices.Sorted(slices.Values(o.SKUs)))
			for _, a := range skus {
				for _, b := range skus {
					if a == b {
						continue
					}
					p := pair{o.ShopID, a, b}
					if counts[p] == 0 {
						pairs = append(pairs, p)
					}
					counts[p]++
				}
			}
		}
		if len(pairs) == 0 {
			return nil
		}
		// One lock order for every replica's batches.
		slices.SortFunc(pairs, func(a, b pair) int {
			return cmp.Or(cmp.Compare(a.shopID, b.shopID), strings.Compare(a.sku, b.sku), strings.Compare(a.other, b.other))
		})
		query := `INSERT INTO bought_together (shop_id, sku, other_sku, orders) VALUES `
		args := make([]any, 0, 4*len(pairs))
		for i, p := range pairs {
			query += valuesRow(i, 4)
			args = append(args, p.shopID, p.sku, p.other, counts[p])
		}
		_, err = tx.ExecContext(ctx, s.q(query+` ON CONFLICT (shop_id, sku, other_sku) DO UPDATE SET
			orders = bought_together.orders + excluded.orders`), args...)
		return err
	})
	if err != nil {
		return 0, err
	}
	return applied, nil
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
