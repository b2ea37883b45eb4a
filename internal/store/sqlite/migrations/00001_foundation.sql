-- Timestamps are unix microseconds in BIGINT columns in both engines, so
-- the store code reads and writes them identically.

-- +goose Up
CREATE TABLE admin_keys (
    key_hash   TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL
);

CREATE TABLE shops (
    shop_id    INTEGER PRIMARY KEY AUTOINCREMENT,
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

-- product_id exists only to give the FTS index a stable rowid (a VACUUM may
-- renumber implicit rowids).
CREATE TABLE products (
    product_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id        BIGINT NOT NULL REFERENCES shops (shop_id),
    sku            TEXT NOT NULL,
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
    UNIQUE (shop_id, sku)
);

CREATE TABLE inventory (
    shop_id   BIGINT NOT NULL,
    sku       TEXT NOT NULL,
    received  BIGINT NOT NULL CHECK (received >= 0),
    available BIGINT NOT NULL CHECK (available >= 0),
    reserved  BIGINT NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    sold      BIGINT NOT NULL DEFAULT 0 CHECK (sold >= 0),
    PRIMARY KEY (shop_id, sku),
    CHECK (available + reserved + sold = received)
);

CREATE VIRTUAL TABLE products_fts USING fts5(
    title, description, content = 'products', content_rowid = 'product_id',
    tokenize = 'unicode61 remove_diacritics 2'
);

-- +goose StatementBegin
CREATE TRIGGER products_fts_insert AFTER INSERT ON products BEGIN
    INSERT INTO products_fts (rowid, title, description) VALUES (new.product_id, new.title, new.description);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER products_fts_delete AFTER DELETE ON products BEGIN
    INSERT INTO products_fts (products_fts, rowid, title, description) VALUES ('delete', old.product_id, old.title, old.description);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER products_fts_update AFTER UPDATE ON products BEGIN
    INSERT INTO products_fts (products_fts, rowid, title, description) VALUES ('delete', old.product_id, old.title, old.description);
    INSERT INTO products_fts (rowid, title, description) VALUES (new.product_id, new.title, new.description);
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE products_fts;
DROP TABLE inventory;
DROP TABLE products;
DROP TABLE shop_keys;
DROP TABLE shops;
DROP TABLE admin_keys;
