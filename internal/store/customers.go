package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/surge-commerce/surge/internal/cart"
	"github.com/surge-commerce/surge/internal/customer"
	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/inventory"
)

var (
	_ customer.Store  = (*Store)(nil)
	_ cart.Store      = (*Store)(nil)
	_ inventory.Store = (*Store)(nil)
)

// CreateCustomer implements customer.Store.
func (s *Store) CreateCustomer(ctx context.Context, c customer.Customer) error {
	_, err := s.exec(ctx, s.q(`INSERT INTO customers (shop_id, customer_id, email, name, created_at)
		VALUES (?, ?, ?, ?, ?)`), c.ShopID, c.ID, c.Email, c.Name, micros(c.CreatedAt))
	return classify(err)
}

// TokenSecrets implements customer.Store.
func (s *Store) TokenSecrets(ctx context.Context) ([]customer.Secret, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT kid, secret FROM token_secrets ORDER BY created_at DESC, kid DESC")
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []customer.Secret
	for rows.Next() {
		var kid, secret string
		if err := rows.Scan(&kid, &secret); err != nil {
			return nil, classify(err)
		}
		out = append(out, customer.Secret{KID: kid, Secret: []byte(secret)})
	}
	return out, classify(rows.Err())
}

// AddTokenSecret implements customer.Store.
func (s *Store) AddTokenSecret(ctx context.Context, sec customer.Secret, now time.Time) error {
	_, err := s.exec(ctx, s.q("INSERT INTO token_secrets (kid, secret, created_at) VALUES (?, ?, ?)"),
		sec.KID, string(sec.Secret), micros(now))
	return classify(err)
}

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
		if lines >= maxLines {
			return errcode.Typed(errcode.Conflict, "cart_full", "a cart holds at most %d lines", maxLines)
		}
		t.exec(nil, `INSERT INTO cart_lines (shop_id, cart_id, sku, quantity) VALUES (?, ?, ?, ?)
			ON CONFLICT (shop_id, cart_id, sku) DO UPDATE SET quantity = excluded.quantity`, shopID, cartID, sku, qty)
		return nil // goes out with the commit
	})
}

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
// stock-ledger row commit together (docs/INVARIANTS.md, I10).
func (s *Store) Restock(ctx context.Context, shopID int64, sku string, units int64) (inventory.Level, error) {
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE inventory SET received = received + ?, available = available + ?
			WHERE shop_id = ? AND sku = ?`), units, units, shopID, sku)
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

// TokenRevoked implements customer.Store.
func (s *Store) TokenRevoked(ctx context.Context, shopID int64, customerID, tokenHash string, expires time.Time) (bool, error) {
	var r tokenRevocation
	err := s.read.QueryRowContext(ctx, s.q(tokenRevokedQuery), tokenArgs(shopID, customerID, tokenHash)...).Scan(&r.until, &r.signedOut)
	if err == sql.ErrNoRows {
		return true, nil // a signed token of a customer that is gone
	}
	if err != nil {
		return false, classify(err)
	}
	return r.revoked(expires), nil
}

// tokenRevokedQuery reads what decides whether a token was revoked: the
// customer's revoke-all watermark and whether this token was signed out.
const tokenRevokedQuery = `SELECT c.tokens_revoked_until,
		EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.token_hash = ?)
	FROM customers c WHERE c.shop_id = ? AND c.customer_id = ?`

func tokenArgs(shopID int64, customerID, tokenHash string) []any {
	return []any{tokenHash, shopID, customerID}
}

// tokenRevocation is one row of tokenRevokedQuery.
type tokenRevocation struct {
	until     int64
	signedOut bool
}

func (r tokenRevocation) revoked(expires time.Time) bool {
	return r.signedOut || micros(expires) <= r.until
}

// RevokeToken implements customer.Store. Rows past their token's expiry
// are pruned on the way: the token would be refused as expired anyway.
func (s *Store) RevokeToken(ctx context.Context, shopID int64, customerID, tokenHash string, expires time.Time) error {
	return s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM revoked_tokens WHERE expires_at < ?`), micros(time.Now())); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO revoked_tokens (token_hash, shop_id, customer_id, expires_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (token_hash) DO NOTHING`), tokenHash, shopID, customerID, micros(expires))
		return err
	})
}

// RevokeTokens implements customer.Store.
func (s *Store) RevokeTokens(ctx context.Context, shopID int64, customerID string, until time.Time) error {
	res, err := s.exec(ctx, s.q(`UPDATE customers SET tokens_revoked_until = ? WHERE shop_id = ? AND customer_id = ?
		AND tokens_revoked_until < ?`), micros(until), shopID, customerID, micros(until))
	if err != nil {
		return classify(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var one int
		err := s.read.QueryRowContext(ctx, s.q(`SELECT 1 FROM customers WHERE shop_id = ? AND customer_id = ?`), shopID, customerID).Scan(&one)
		if err == sql.ErrNoRows {
			return errcode.Typed(errcode.NotFound, "customer_not_found", "no customer %s", customerID)
		}
		return classify(err)
	}
	return nil
}
