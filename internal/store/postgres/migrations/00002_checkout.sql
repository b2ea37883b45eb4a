-- Customers, carts, orders, reservations, idempotency keys and the outbox.
-- Expand-only: nothing existing changes, so an older binary keeps working
-- against this schema during a rolling deploy.

-- +goose Up
CREATE TABLE token_secrets (
    kid        TEXT PRIMARY KEY,
    secret     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE customers (
    shop_id     BIGINT NOT NULL,
    customer_id TEXT NOT NULL,
    email       TEXT NOT NULL DEFAULT '',
    name        TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (shop_id, customer_id)
);

CREATE TABLE carts (
    shop_id     BIGINT NOT NULL,
    cart_id     TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (shop_id, cart_id)
);

CREATE TABLE cart_lines (
    shop_id  BIGINT NOT NULL,
    cart_id  TEXT NOT NULL,
    sku      TEXT COLLATE "C" NOT NULL,
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (shop_id, cart_id, sku)
);

CREATE TABLE orders (
    shop_id         BIGINT NOT NULL,
    order_id        TEXT NOT NULL UNIQUE,
    customer_id     TEXT NOT NULL,
    status          TEXT NOT NULL,
    currency        TEXT NOT NULL,
    total           BIGINT NOT NULL,
    idempotency_key TEXT NOT NULL,
    payment_ref     TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (shop_id, order_id)
);
CREATE INDEX orders_status ON orders (status, created_at);
CREATE INDEX orders_customer ON orders (shop_id, customer_id, created_at);

CREATE TABLE order_lines (
    shop_id    BIGINT NOT NULL,
    order_id   TEXT NOT NULL,
    sku        TEXT COLLATE "C" NOT NULL,
    title      TEXT NOT NULL,
    unit_price BIGINT NOT NULL,
    quantity   BIGINT NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (shop_id, order_id, sku)
);

CREATE TABLE reservations (
    shop_id    BIGINT NOT NULL,
    order_id   TEXT NOT NULL,
    sku        TEXT COLLATE "C" NOT NULL,
    quantity   BIGINT NOT NULL CHECK (quantity > 0),
    state      TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (shop_id, order_id, sku)
);
CREATE INDEX reservations_expiry ON reservations (state, expires_at);

CREATE TABLE purchase_counts (
    shop_id     BIGINT NOT NULL,
    customer_id TEXT NOT NULL,
    sku         TEXT COLLATE "C" NOT NULL,
    units       BIGINT NOT NULL CHECK (units >= 0),
    PRIMARY KEY (shop_id, customer_id, sku)
);

CREATE TABLE idempotency_keys (
    shop_id         BIGINT NOT NULL,
    customer_id     TEXT NOT NULL,
    idem_key        TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    order_id        TEXT NOT NULL,
    state           TEXT NOT NULL,
    response_status INTEGER NOT NULL,
    response_body   TEXT NOT NULL,
    locked_until    BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    PRIMARY KEY (shop_id, customer_id, idem_key)
);
CREATE INDEX idempotency_keys_order ON idempotency_keys (order_id);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

CREATE TABLE outbox (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     TEXT NOT NULL UNIQUE,
    shop_id      BIGINT NOT NULL,
    aggregate    TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    event_type   TEXT NOT NULL,
    payload      TEXT NOT NULL,
    occurred_at  BIGINT NOT NULL,
    published_at BIGINT
);
CREATE INDEX outbox_unpublished ON outbox (published_at, seq);

-- +goose Down
DROP TABLE outbox;
DROP TABLE idempotency_keys;
DROP TABLE purchase_counts;
DROP TABLE reservations;
DROP TABLE order_lines;
DROP TABLE orders;
DROP TABLE cart_lines;
DROP TABLE carts;
DROP TABLE customers;
DROP TABLE token_secrets;
