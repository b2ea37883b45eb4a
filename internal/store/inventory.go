package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/inventory"
)

var _ inventory.Store = (*Store)(nil)

// Level implements inventory.Store.
func (s *Store) Level(ctx context.Context, shopID int64, sku string) (inventory.Level, error) {
	l := inventory.Level{SKU: sku}
	err := s.read.QueryRowContext(ctx, s.q(`SELECT SUM(t.received), SUM(t.available), SUM(t.reserved), SUM(t.sold)
		FROM (SELECT received, available, reserved, sold FROM inventory WHERE shop_id = ? AND sku = ?
			UNION ALL SELECT received, available, reserved, sold FROM inventory_buckets WHERE shop_id = ? AND sku = ?) t
		JOIN products p ON p.shop_id = ? AND p.sku = ? AND p.deleted_at IS NULL
		HAVING COUNT(*) > 0`), shopID, sku, shopID, sku, shopID, sku).
		Scan(&l.Received, &l.Available, &l.Reserved, &l.Sold)
	if err == sql.ErrNoRows {
		return l, errcode.Typed(errcode.NotFound, "product_not_found", "no product %q", sku)
	}
	return l, classify(err)
}

// Restock implements inventory.Store. The units received and their
// stock-ledger row commit together (docs/INVARIANTS.md, I10). A deleted
// product keeps its inventory row, but it is not found, so it receives
// nothing.
func (s *Store) Restock(ctx context.Context, shopID int64, sku string, units int64) (inventory.Level, error) {
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE inventory SET received = received + ?, available = available + ?
			WHERE shop_id = ? AND sku = ? AND EXISTS (SELECT 1 FROM products p
				WHERE p.shop_id = inventory.shop_id AND p.sku = inventory.sku AND p.deleted_at IS NULL)`), units, units, shopID, sku)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errcode.Typed(errcode.NotFound, "product_not_found", "no product %q", sku)
		}
		return s.recordStock(ctx, tx, shopID, sku, units, "restock", time.Time{})
	})
	if err != nil {
		return inventory.Level{}, classify(err)
	}
	return s.Level(ctx, shopID, sku)
}
