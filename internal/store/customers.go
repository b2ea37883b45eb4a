package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/surge-commerce/surge/internal/customer"
	"github.com/surge-commerce/surge/internal/errcode"
)

var _ customer.Store = (*Store)(nil)

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
