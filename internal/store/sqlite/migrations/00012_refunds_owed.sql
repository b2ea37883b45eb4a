-- Money owed back: a captured payment that must be refunded because it
-- came for an order that was cancelled, or did not match its order's
-- amount or currency. A row is written before the refund is tried, so a
-- crash cannot lose it; the reconciler retries it with backoff until the
-- provider confirms the refund (confirmed_at). Expand-only.

-- +goose Up
CREATE TABLE refunds_owed (
    payment_ref     TEXT PRIMARY KEY,
    order_id        TEXT NOT NULL,
    shop_id         BIGINT NOT NULL,
    amount          BIGINT NOT NULL,
    currency        TEXT NOT NULL,
    reason          TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    next_attempt_at BIGINT NOT NULL,
    confirmed_at    BIGINT
);
CREATE INDEX refunds_owed_due ON refunds_owed (next_attempt_at) WHERE confirmed_at IS NULL;
CREATE INDEX refunds_owed_order ON refunds_owed (order_id);

-- +goose Down
DROP TABLE refunds_owed;
