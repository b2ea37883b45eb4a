package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/inventory"
	"github.com/surge-commerce/surge/internal/precondition"
)

var _ inventory.Store = (*Store)(nil)

// Level implements inventory.Store.
func (s *Store) Level(ctx context.Context, shopID int64, sku string) (inventory.Level, error) {
	l := inventory.Level{SKU: sku}
	err := s.read.QueryRowContext(ctx, s.q(`SELECT SUM(t.received), SUM(t.available), SUM(t.reserved), SUM(t.sold), MAX(t.version)
		FROM (SELECT received, available, reserved, sold, version FROM inventory WHERE shop_id = ? AND sku = ?
			UNION ALL SELECT received, available, reserved, sold, 0 FROM inventory_buckets WHERE shop_id = ? AND sku = ?) t
		JOIN products p ON p.shop_id = ? AND p.sku = ? AND p.deleted_at IS NULL
		HAVING COUNT(*) > 0`), shopID, sku, shopID, sku, shopID, sku).
		Scan(&l.Received, &l.Available, &l.Reserved, &l.Sold, &l.Version)
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
	return s.RestockIf(ctx, shopID, sku, units, precondition.Condition{})
}

// RestockIf implements inventory.Store: the If-Match versions are part of
// the UPDATE's WHERE, so of two admins restocking from the same view only
// one adds their units.
func (s *Store) RestockIf(ctx context.Context, shopID int64, sku string, units int64, cond precondition.Condition) (inventory.Level, error) {
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		where, args := cond.VersionSQL("version")
		if cond.Absent {
			where = " AND 1 = 0" // a product's inventory always exists
		}
		res, err := tx.ExecContext(ctx, s.q(`UPDATE inventory SET received = received + ?, available = available + ?,
				version = version + 1
			WHERE shop_id = ? AND sku = ? AND EXISTS (SELECT 1 FROM products p
				WHERE p.shop_id = inventory.shop_id AND p.sku = inventory.sku AND p.deleted_at IS NULL)`+where),
			append([]any{units, units, shopID, sku}, args...)...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var one int
			err := tx.QueryRowContext(ctx, s.q(`SELECT 1 FROM products WHERE shop_id = ? AND sku = ? AND deleted_at IS NULL`),
				shopID, sku).Scan(&one)
			if err == sql.ErrNoRows {
				return errcode.Typed(errcode.NotFound, "product_not_found", "no product %q", sku)
			}
			if err != nil {
				return err
			}
			return cond.Failed(precondition.Name("inventory of", sku))
		}
		return s.recordStock(ctx, tx, shopID, sku, units, "restock", time.Time{})
	})
	if err != nil {
		return inventory.Level{}, classify(err)
	}
	return s.Level(ctx, shopID, sku)
}
