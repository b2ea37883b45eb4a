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
    sku     TEXT COLLATE "C" NOT NULL,
    minute  BIGINT NOT NULL,
    units   BIGINT NOT NULL,
    revenue BIGINT NOT NULL,
    PRIMARY KEY (shop_id, sku, minute)
);
CREATE INDEX sales_by_minute_time ON sales_by_minute (shop_id, minute);

CREATE TABLE bought_together (
    shop_id   BIGINT NOT NULL,
    sku       TEXT COLLATE "C" NOT NULL,
    other_sku TEXT COLLATE "C" NOT NULL,
    orders    BIGINT NOT NULL,
    PRIMARY KEY (shop_id, sku, other_sku)
);

-- A committed outbox insert wakes the relays at once (NOTIFY is delivered
-- on commit); polling remains the safety net since notifications are not
-- durable.
-- +goose StatementBegin
CREATE FUNCTION surge_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('surge_outbox', '');
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION surge_outbox_notify();

-- +goose Down
DROP TRIGGER outbox_notify ON outbox;
DROP FUNCTION surge_outbox_notify();
DROP TABLE bought_together;
DROP TABLE sales_by_minute;
DROP TABLE invoices;
DROP TABLE invoice_counters;
DROP TABLE notifications;
DROP TABLE consumed_events;
DROP INDEX outbox_aggregate;
