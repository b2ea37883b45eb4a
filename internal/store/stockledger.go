package store

import (
	"context"
	"time"
)

// recordStock writes one stock-ledger row in the caller's transaction:
// every change the shop makes to a SKU's received units goes through
// here, so the audit can tell stock the shop configured from stock
// created by anything else (docs/INVARIANTS.md, I10). A change of zero
// writes nothing; a zero at stamps the row with the database's clock, for
// callers that have none.
func (s *Store) recordStock(ctx context.Context, tx dbtx, shopID int64, sku string, delta int64, reason string, at time.Time) error {
	if delta == 0 {
		return nil
	}
	stamp, args := "?", []any{shopID, sku, delta, reason, micros(at)}
	if at.IsZero() {
		stamp, args = s.clockMicros(), args[:4]
	}
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO stock_ledger (shop_id, sku, delta, reason, created_at)
		VALUES (?, ?, ?, ?, `+stamp+`)`), args...)
	return err
}

// clockMicros is the database's clock in microseconds since the epoch.
func (s *Store) clockMicros() string { return s.dialect.clockMicros }
