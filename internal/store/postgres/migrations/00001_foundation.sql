-- Timestamps are unix microseconds in BIGINT columns in both engines, so
-- the store code reads and writes them identically.

-- +goose Up
CREATE TABLE admin_keys (
    key_hash   TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL
);

CREATE TABLE shops (
    shop_id    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE shop_keys (
    key_hash   TEXT PRIMARY KEY,
    shop_id    BIGINT NOT NULL REFERENCES shops (shop_id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT
);
CREATE INDEX shop_keys_shop ON shop_keys (shop_id);

CREATE TABLE products (
    shop_id        BIGINT NOT NULL REFERENCES shops (shop_id),
    sku            TEXT COLLATE "C" NOT NULL,
    title          TEXT NOT NULL,
    description    TEXT NOT NULL,
    price          BIGINT NOT NULL CHECK (price >= 0),
    currency       TEXT NOT NULL,
    attributes     TEXT NOT NULL,
    images         TEXT NOT NULL,
    purchase_limit BIGINT NOT NULL DEFAULT 0,
    version        BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    deleted_at     BIGINT,
    search         tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', title), 'A') ||
        setweight(to_tsvector('simple', description), 'B')
    ) STORED,
    PRIMARY KEY (shop_id, sku)
);
CREATE INDEX products_search ON products USING GIN (search);

CREATE TABLE inventory (
    shop_id   BIGINT NOT NULL,
    sku       TEXT COLLATE "C" NOT NULL,
    received  BIGINT NOT NULL CHECK (received >= 0),
    available BIGINT NOT NULL CHECK (available >= 0),
    reserved  BIGINT NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    sold      BIGINT NOT NULL DEFAULT 0 CHECK (sold >= 0),
    PRIMARY KEY (shop_id, sku),
    CHECK (available + reserved + sold = received)
);

-- +goose Down
DROP TABLE inventory;
DROP TABLE products;
DROP TABLE shop_keys;
DROP TABLE shops;
DROP TABLE admin_keys;
