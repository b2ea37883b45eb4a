package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/surge-commerce/surge/internal/checkout"
)

const refundColumns = `payment_ref, order_id, shop_id, amount, currency, reason, created_at,
	attempts, last_error, next_attempt_at, confirmed_at`

// RecordRefundOwed implements checkout.Store.
func (s *Store) RecordRefundOwed(ctx context.Context, r checkout.Refund) error {
	_, err := s.exec(ctx, s.q(`INSERT INTO refunds_owed (payment_ref, order_id, shop_id, amount, currency, reason, created_at, next_attempt_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (payment_ref) DO NOTHING`),
		r.PaymentRef, r.OrderID, r.ShopID, r.Amount, r.Currency, r.Reason, micros(r.CreatedAt), micros(r.NextAttemptAt))
	return classify(err)
}

// DueRefunds implements checkout.Store.
func (s *Store) DueRefunds(ctx context.Context, now time.Time, limit int) ([]checkout.Refund, error) {
	return s.queryRefunds(ctx, `SELECT `+refundColumns+` FROM refunds_owed
		WHERE confirmed_at IS NULL AND next_attempt_at <= ? ORDER BY next_attempt_at, payment_ref LIMIT ?`, micros(now), limit)
}

// OwedRefunds returns every refund the provider has not confirmed yet,
// oldest first: money that still has to go back (docs/INVARIANTS.md, I9).
func (s *Store) OwedRefunds(ctx context.Context) ([]checkout.Refund, error) {
	return s.queryRefunds(ctx, `SELECT `+refundColumns+` FROM refunds_owed
		WHERE confirmed_at IS NULL ORDER BY created_at, payment_ref`)
}

// Refunds returns the refunds recorded for an order, confirmed or not.
func (s *Store) Refunds(ctx context.Context, orderID string) ([]checkout.Refund, error) {
	return s.queryRefunds(ctx, `SELECT `+refundColumns+` FROM refunds_owed
		WHERE order_id = ? ORDER BY created_at, payment_ref`, orderID)
}

// RefundFailed implements checkout.Store.
func (s *Store) RefundFailed(ctx context.Context, paymentRef, cause string, next time.Time) error {
	_, err := s.exec(ctx, s.q(`UPDATE refunds_owed SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?
		WHERE payment_ref = ? AND confirmed_at IS NULL`), cause, micros(next), paymentRef)
	return classify(err)
}

// ConfirmRefund implements checkout.Store.
func (s *Store) ConfirmRefund(ctx context.Context, paymentRef string, now time.Time) error {
	_, err := s.exec(ctx, s.q(`UPDATE refunds_owed SET confirmed_at = ?
		WHERE payment_ref = ? AND confirmed_at IS NULL`), micros(now), paymentRef)
	return classify(err)
}

func (s *Store) queryRefunds(ctx context.Context, query string, args ...any) ([]checkout.Refund, error) {
	rows, err := s.read.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []checkout.Refund
	for rows.Next() {
		var r checkout.Refund
		var created, next int64
		var confirmed sql.NullInt64
		err := rows.Scan(&r.PaymentRef, &r.OrderID, &r.ShopID, &r.Amount, &r.Currency, &r.Reason, &created,
			&r.Attempts, &r.LastError, &next, &confirmed)
		if err != nil {
			return nil, classify(err)
		}
		r.CreatedAt, r.NextAttemptAt = fromMicros(created), fromMicros(next)
		if confirmed.Valid {
			r.ConfirmedAt = fromMicros(confirmed.Int64)
		}
		out = append(out, r)
	}
	return out, classify(rows.Err())
}
