package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/surge-commerce/surge/internal/cart"
	"github.com/surge-commerce/surge/internal/errcode"
)

var _ cart.Store = (*Store)(nil)

// CreateCart implements cart.Store.
func (s *Store) CreateCart(ctx context.Context, c cart.Cart) error {
	_, err := s.exec(ctx, s.q(`INSERT INTO carts (shop_id, cart_id, customer_id, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?)`), c.ShopID, c.ID, c.CustomerID, micros(c.CreatedAt), micros(c.UpdatedAt))
	return classify(err)
}

// Cart implements cart.Store.
func (s *Store) Cart(ctx context.Context, shopID int64, cartID string) (cart.Cart, error) {
	c := cart.Cart{ShopID: shopID, ID: cartID, Lines: []cart.Line{}}
	var created, updated int64
	err := s.read.QueryRowContext(ctx, s.q(`SELECT customer_id, created_at, updated_at FROM carts
		WHERE shop_id = ? AND cart_id = ?`), shopID, cartID).Scan(&c.CustomerID, &created, &updated)
	if err == sql.ErrNoRows {
		return c, errcode.Typed(errcode.NotFound, "cart_not_found", "no cart %q", cartID)
	}
	if err != nil {
		return c, classify(err)
	}
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT sku, quantity FROM cart_lines
		WHERE shop_id = ? AND cart_id = ? ORDER BY sku`), shopID, cartID)
	if err != nil {
		return c, classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var l cart.Line
		if err := rows.Scan(&l.SKU, &l.Quantity); err != nil {
			return c, classify(err)
		}
		c.Lines = append(c.Lines, l)
	}
	return c, classify(rows.Err())
}

// SetCartLine implements cart.Store. On PostgreSQL it costs two round
// trips: touching the cart with counting its lines, then the change with
// the commit.
func (s *Store) SetCartLine(ctx context.Context, shopID int64, cartID, sku string, qty int64, maxLines int, now time.Time) error {
	return s.pipelined(ctx, func(ctx context.Context, t *pipeTx) error {
		var touched int64
		t.exec(&touched, `UPDATE carts SET updated_at = ? WHERE shop_id = ? AND cart_id = ?`, micros(now), shopID, cartID)
		// The cart row is locked by the UPDATE above, so counting lines
		// and inserting one cannot race with another line being added.
		var lines int
		if qty > 0 {
			t.queryRow(new(bool), `SELECT COUNT(*) FROM cart_lines WHERE shop_id = ? AND cart_id = ? AND sku <> ?`,
				[]any{shopID, cartID, sku}, &lines)
		}
		if err := t.flush(ctx); err != nil {
			return err
		}
		if touched == 0 {
			return errcode.Typed(errcode.NotFound, "cart_not_found", "no cart %q", cartID)
		}
		if qty == 0 {
			t.exec(nil, `DELETE FROM cart_lines WHERE shop_id = ? AND cart_id = ? AND sku = ?`, shopID, cartID, sku)
			return nil // goes out with the commit
		}
		if err := cart.Fits(lines, maxLines); err != nil {
			return err
		}
		t.exec(nil, `INSERT INTO cart_lines (shop_id, cart_id, sku, quantity) VALUES (?, ?, ?, ?)
			ON CONFLICT (shop_id, cart_id, sku) DO UPDATE SET quantity = excluded.quantity`, shopID, cartID, sku, qty)
		return nil // goes out with the commit
	})
}
