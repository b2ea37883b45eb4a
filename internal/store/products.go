package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"
	"unicode"

	"github.com/surge-commerce/surge/internal/catalog"
	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/inventory"
	"github.com/surge-commerce/surge/internal/precondition"
)

var _ catalog.Store = (*Store)(nil)

const productColumns = `p.shop_id, p.sku, p.title, p.description, p.price, p.currency, p.attributes,
	p.images, p.purchase_limit, p.version, p.created_at, p.updated_at,
	i.received + COALESCE((SELECT SUM(b.received) FROM inventory_buckets b WHERE b.shop_id = p.shop_id AND b.sku = p.sku), 0)`

const productFrom = ` FROM products p JOIN inventory i ON i.shop_id = p.shop_id AND i.sku = p.sku `

// PutProduct implements catalog.Store.
func (s *Store) PutProduct(ctx context.Context, p catalog.Product, now time.Time) (catalog.Product, bool, error) {
	return s.PutProductIf(ctx, p, now, catalog.Precondition{})
}

// PutProductIf implements catalog.Store. The precondition is a condition
// of the upsert itself (its DO UPDATE ... WHERE), not of an earlier read:
// of two writers with the same If-Match, the second finds the version
// already moved on and changes nothing.
func (s *Store) PutProductIf(ctx context.Context, p catalog.Product, now time.Time, cond catalog.Precondition) (catalog.Product, bool, error) {
	attrs, _ := json.Marshal(nonNilMap(p.Attributes))
	images, _ := json.Marshal(nonNilSlice(p.Images))
	created := false
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var deleted sql.NullInt64
		err := tx.QueryRowContext(ctx, s.q("SELECT deleted_at FROM products WHERE shop_id = ? AND sku = ?"+s.forUpdate()),
			p.ShopID, p.SKU).Scan(&deleted)
		switch {
		case err == sql.ErrNoRows:
			created = true
		case err != nil:
			return err
		default:
			created = deleted.Valid
		}
		if cond.Match && created {
			return cond.Failed(precondition.Name("product", p.SKU)) // If-Match needs a product to match
		}
		where, args := productCondition(cond)
		res, err := tx.ExecContext(ctx, s.q(`INSERT INTO products (shop_id, sku, title, description, price, currency,
				attributes, images, purchase_limit, version, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)
			ON CONFLICT (shop_id, sku) DO UPDATE SET title = excluded.title, description = excluded.description,
				price = excluded.price, currency = excluded.currency, attributes = excluded.attributes,
				images = excluded.images, purchase_limit = excluded.purchase_limit,
				version = products.version + 1, updated_at = excluded.updated_at, deleted_at = NULL`+where),
			append([]any{p.ShopID, p.SKU, p.Title, p.Description, p.Price, p.Currency, string(attrs), string(images),
				p.PurchaseLimit, micros(now), micros(now)}, args...)...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return cond.Failed(precondition.Name("product", p.SKU))
		}
		return s.setReceived(ctx, tx, p.ShopID, p.SKU, p.Stock, now)
	})
	if err != nil {
		return catalog.Product{}, false, err
	}
	saved, err := s.product(ctx, s.write, p.ShopID, p.SKU)
	return saved, created, err
}

// setReceived sets the units received, moving the difference into (or out
// of) available, and records the difference in the stock ledger. Units a
// flash sale holds in buckets count towards received; the main row takes
// the rest, read under the rows' locks and split by inventory.MainReceived.
func (s *Store) setReceived(ctx context.Context, tx *sql.Tx, shopID int64, sku string, received int64, now time.Time) error {
	// The buckets are summed under their locks, in the lock order of ADR
	// 0018 (buckets, then the main row): a checkout gathering units from
	// the buckets into the main row, or a cancellation moving them back
	// there, cannot change the sum between this read and the write below
	// (the explorer found a unit lost that way on PostgreSQL).
	buckets, err := s.lockBuckets(ctx, tx, shopID, sku, s.forUpdate())
	if err != nil {
		return err
	}
	var inSale int64
	for _, b := range buckets {
		inSale += b.received
	}
	// Locked, so a restock beside this cannot slip between the read and
	// the write and make the ledger's delta wrong.
	var before, committed int64
	err = tx.QueryRowContext(ctx, s.q(`SELECT received, reserved + sold FROM inventory WHERE shop_id = ? AND sku = ?`+s.forUpdate()),
		shopID, sku).Scan(&before, &committed)
	if err != nil && err != sql.ErrNoRows {
		return err
	}
	main, err := inventory.MainReceived(sku, received, inSale, committed)
	if err != nil {
		return err
	}
	// The CHECK constraints back the rule: available stays non-negative.
	_, err = tx.ExecContext(ctx, s.q(`INSERT INTO inventory (shop_id, sku, received, available) VALUES (?, ?, ?, ?)
		ON CONFLICT (shop_id, sku) DO UPDATE SET received = excluded.received,
			available = inventory.available + (excluded.received - inventory.received), version = inventory.version + 1`),
		shopID, sku, main, main)
	if err != nil {
		return err
	}
	return s.recordStock(ctx, tx, shopID, sku, main-before, "product", now)
}

// DeleteProduct implements catalog.Store.
func (s *Store) DeleteProduct(ctx context.Context, shopID int64, sku string, now time.Time) error {
	return s.DeleteProductIf(ctx, shopID, sku, now, catalog.Precondition{})
}

// DeleteProductIf implements catalog.Store; the precondition is part of
// the UPDATE's WHERE clause, as in PutProductIf.
func (s *Store) DeleteProductIf(ctx context.Context, shopID int64, sku string, now time.Time, cond catalog.Precondition) error {
	if cond.Absent {
		// If-None-Match: * on a delete holds only where there is nothing
		// to delete.
		if _, err := s.product(ctx, s.write, shopID, sku); err != nil {
			return err
		}
		return cond.Failed(precondition.Name("product", sku))
	}
	where, args := productCondition(cond)
	res, err := s.exec(ctx, s.q(`UPDATE products SET deleted_at = ?, version = version + 1, updated_at = ?
		WHERE shop_id = ? AND sku = ? AND deleted_at IS NULL`+strings.Replace(where, " WHERE ", " AND ", 1)),
		append([]any{micros(now), micros(now), shopID, sku}, args...)...)
	if err != nil {
		return classify(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		// Nothing changed; whether the product is there only picks the
		// answer.
		if _, err := s.product(ctx, s.write, shopID, sku); err != nil {
			return err
		}
		return cond.Failed(precondition.Name("product", sku))
	}
	return nil
}

// productCondition renders a precondition as the WHERE clause of a write
// to an existing product row (empty for none).
func productCondition(cond catalog.Precondition) (string, []any) {
	switch {
	case cond.Absent:
		return " WHERE products.deleted_at IS NOT NULL", nil
	case cond.Match && len(cond.Versions) > 0:
		args := make([]any, len(cond.Versions))
		for i, v := range cond.Versions {
			args[i] = v
		}
		return " WHERE products.deleted_at IS NULL AND products.version IN (?" + strings.Repeat(", ?", len(args)-1) + ")", args
	case cond.Match:
		return " WHERE products.deleted_at IS NULL", nil
	}
	return "", nil
}

// Product implements catalog.Store.
func (s *Store) Product(ctx context.Context, shopID int64, sku string) (catalog.Product, error) {
	var p catalog.Product
	err := s.catalogRead(ctx, func(db *sql.DB) error {
		var err error
		p, err = s.product(ctx, db, shopID, sku)
		return err
	})
	return p, err
}

func (s *Store) product(ctx context.Context, db *sql.DB, shopID int64, sku string) (catalog.Product, error) {
	row := db.QueryRowContext(ctx, s.q("SELECT "+productColumns+productFrom+
		"WHERE p.shop_id = ? AND p.sku = ? AND p.deleted_at IS NULL"), shopID, sku)
	p, err := scanProduct(row)
	if err == sql.ErrNoRows {
		return catalog.Product{}, errcode.Typed(errcode.NotFound, "product_not_found", "no product %q", sku)
	}
	return p, classify(err)
}

// Products implements catalog.Store.
func (s *Store) Products(ctx context.Context, shopID int64, after string, limit int) ([]catalog.Product, error) {
	return s.queryProducts(ctx, "SELECT "+productColumns+productFrom+
		"WHERE p.shop_id = ? AND p.sku > ? AND p.deleted_at IS NULL ORDER BY p.sku LIMIT ?", shopID, after, limit)
}

// SearchProducts implements catalog.Store.
func (s *Store) SearchProducts(ctx context.Context, shopID int64, q string, limit int) ([]catalog.Product, error) {
	// Both engines see the same words, ANDed, so a query means the same
	// thing on either; no user text ever reaches a query syntax.
	words := strings.FieldsFunc(q, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
	if len(words) == 0 {
		return nil, nil
	}
	tail, args := s.dialect.searchProducts(shopID, words)
	return s.queryProducts(ctx, "SELECT "+productColumns+productFrom+tail+" LIMIT ?", append(args, limit)...)
}

func (s *Store) forUpdate() string { return s.dialect.forUpdate }

func (s *Store) queryProducts(ctx context.Context, query string, args ...any) ([]catalog.Product, error) {
	var out []catalog.Product
	err := s.catalogRead(ctx, func(db *sql.DB) error {
		out = nil
		rows, err := db.QueryContext(ctx, s.q(query), args...)
		if err != nil {
			return classify(err)
		}
		defer rows.Close()
		for rows.Next() {
			p, err := scanProduct(rows)
			if err != nil {
				return classify(err)
			}
			out = append(out, p)
		}
		return classify(rows.Err())
	})
	return out, err
}

type scanner interface{ Scan(dest ...any) error }

func scanProduct(row scanner) (catalog.Product, error) {
	var p catalog.Product
	var attrs, images string
	var created, updated int64
	err := row.Scan(&p.ShopID, &p.SKU, &p.Title, &p.Description, &p.Price, &p.Currency, &attrs, &images,
		&p.PurchaseLimit, &p.Version, &created, &updated, &p.Stock)
	if err != nil {
		return p, err
	}
	p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updated)
	if err := json.Unmarshal([]byte(attrs), &p.Attributes); err != nil {
		return p, err
	}
	return p, json.Unmarshal([]byte(images), &p.Images)
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func nonNilSlice(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
