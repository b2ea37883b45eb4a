-- Why an order was cancelled, as a stable code. "payment_unverified"
-- marks orders cancelled while the payment provider could not say whether
-- it took the money; the reconciler asks again until it knows, and
-- refunds money that arrived. Expand-only.

-- +goose Up
ALTER TABLE orders ADD COLUMN cancel_reason TEXT NOT NULL DEFAULT '';
CREATE INDEX orders_unverified ON orders (created_at) WHERE cancel_reason = 'payment_unverified';

-- +goose Down
DROP INDEX orders_unverified;
ALTER TABLE orders DROP COLUMN cancel_reason;
