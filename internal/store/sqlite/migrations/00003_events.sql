-- What the event consumers own: the record of applied events (so
-- redelivery never doubles an effect) and each consumer's read model.
-- Expand-only.

-- +goose Up
CREATE INDEX outbox_aggregate ON outbox (aggregate_id, seq);

CREATE TABLE consumed_events (
    consumer    TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    shop_id     BIGINT NOT NULL,
    consumed_at BIGINT NOT NULL,
    PRIMARY KEY (consumer, event_id)
);

CREATE TABLE notifications (
    shop_id         BIGINT NOT NULL,
    notification_id TEXT NOT NULL,
    order_id        TEXT NOT NULL,
    kind            TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT,
    PRIMARY KEY (shop_id, notification_id)
);
CREATE INDEX notifications_order ON notifications (shop_id, order_id);
CREATE INDEX notifications_unsent ON notifications (sent_at, created_at);

CREATE TABLE invoice_counters (
    shop_id BIGINT PRIMARY KEY,
    last_no BIGINT NOT NULL
);

CREATE TABLE invoices (
    shop_id    BIGINT NOT NULL,
    invoice_no BIGINT NOT NULL,
    order_id   TEXT NOT NULL UNIQUE,
    total      BIGINT NOT NULL,
    currency   TEXT NOT NULL,
    issued_at  BIGINT NOT NULL,
    PRIMARY KEY (shop_id, invoice_no)
);

CREATE TABLE sales_by_minute (
    shop_id BIGINT NOT NULL,
    sku     TEXT NOT NULL,
    minute  BIGINT NOT NULL,
    units   BIGINT NOT NULL,
    revenue BIGINT NOT NULL,
    PRIMARY KEY (shop_id, sku, minute)
);
CREATE INDEX sales_by_minute_time ON sales_by_minute (shop_id, minute);

CREATE TABLE bought_together (
    shop_id   BIGINT NOT NULL,
    sku       TEXT NOT NULL,
    other_sku TEXT NOT NULL,
    orders    BIGINT NOT NULL,
    PRIMARY KEY (shop_id, sku, other_sku)
);

-- +goose Down
DROP TABLE bought_together;
DROP TABLE sales_by_minute;
DROP TABLE invoices;
DROP TABLE invoice_counters;
DROP TABLE notifications;
DROP TABLE consumed_events;
DROP INDEX outbox_aggregate;
