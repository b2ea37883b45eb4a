package store

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"github.com/surge-commerce/surge/internal/invoice"
)

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
		fresh, err := claimNew(ctx, s, tx, "invoice", paid,
			func(p invoice.Paid) claimed { return claimed{p.EventID, p.ShopID} }, now)
		if err != nil || len(fresh) == 0 {
			return err
		}
		if fresh, err = s.notInvoiced(ctx, tx, fresh); err != nil {
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
