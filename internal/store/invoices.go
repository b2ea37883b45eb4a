package store

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/invoice"
)

// ApplyInvoices issues invoices for a batch of paid orders in one
// transaction, once per event and once per order, and returns how many it
// issued. Each shop's counter row is bumped once for the whole batch, just
// before the commit: every invoice of a shop needs that row, and its lock
// is held through the commit's disk flush, so one number per transaction
// capped a shop's invoicing at a few hundred a second (ADR 0015). On
// PostgreSQL it costs three round trips: the claim with the orders already
// invoiced, the counters, and the invoices with the commit.
func (s *Store) ApplyInvoices(ctx context.Context, paid []invoice.Paid, now time.Time) (int, error) {
	if len(paid) == 0 {
		return 0, nil
	}
	issued := 0
	err := s.pipelined(ctx, func(ctx context.Context, t *pipeTx) error {
		issued = 0
		claim := claimNew(t, "invoice", paid,
			func(p invoice.Paid) claimed { return claimed{p.EventID, p.ShopID} }, now)
		invoiced := map[string]bool{}
		args := make([]any, len(paid))
		for i, p := range paid {
			args[i] = p.Order.OrderID
		}
		t.query(func(scan func(...any) error) error {
			var id string
			err := scan(&id)
			invoiced[id] = true
			return err
		}, `SELECT order_id FROM invoices WHERE order_id IN (`+strings.Repeat("?, ", len(paid)-1)+`?)`, args...)
		if err := t.flush(ctx); err != nil {
			return err
		}
		// One invoice per order, even if it were paid twice over (it
		// cannot be).
		byShop := map[int64][]invoice.Paid{}
		var shops []int64
		for _, p := range claim() {
			if invoiced[p.Order.OrderID] {
				continue
			}
			invoiced[p.Order.OrderID] = true
			if byShop[p.ShopID] == nil {
				shops = append(shops, p.ShopID)
			}
			byShop[p.ShopID] = append(byShop[p.ShopID], p)
		}
		if len(shops) == 0 {
			return nil
		}
		slices.Sort(shops) // one lock order for every replica's batches
		last := make([]int64, len(shops))
		found := make([]bool, len(shops))
		for i, shopID := range shops {
			t.queryRow(&found[i], `INSERT INTO invoice_counters (shop_id, last_no) VALUES (?, ?)
				ON CONFLICT (shop_id) DO UPDATE SET last_no = invoice_counters.last_no + excluded.last_no RETURNING last_no`,
				[]any{shopID, len(byShop[shopID])}, &last[i])
		}
		if err := t.flush(ctx); err != nil {
			return err
		}
		for i, shopID := range shops {
			if !found[i] {
				return errcode.New(errcode.Internal, "the invoice counter of shop %d returned no number", shopID)
			}
			ps := byShop[shopID]
			query := `INSERT INTO invoices (shop_id, invoice_no, order_id, total, currency, issued_at) VALUES `
			args := make([]any, 0, 6*len(ps))
			for j, p := range ps {
				query += valuesRow(j, 6)
				args = append(args, shopID, last[i]-int64(len(ps)-1-j), p.Order.OrderID, p.Order.Total, p.Order.Currency, micros(now))
			}
			t.exec(nil, query, args...) // goes out with the commit
			issued += len(ps)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return issued, nil
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
