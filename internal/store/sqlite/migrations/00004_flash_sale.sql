-- Flash sales: a hot SKU's stock is spread over buckets so buyers do not
-- all queue on one row lock. Each bucket balances on its own
-- (available + reserved + sold = received); a SKU's totals are its main
-- inventory row plus its buckets. Expand-only: new tables and columns with
-- defaults that keep older binaries working (they simply never see buckets).

-- +goose Up
CREATE TABLE flash_sales (
    shop_id    BIGINT NOT NULL,
    sku        TEXT NOT NULL,
    starts_at  BIGINT NOT NULL,
    buckets    INTEGER NOT NULL CHECK (buckets > 0),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (shop_id, sku)
);

CREATE TABLE inventory_buckets (
    shop_id   BIGINT NOT NULL,
    sku       TEXT NOT NULL,
    bucket    INTEGER NOT NULL,
    received  BIGINT NOT NULL CHECK (received >= 0),
    available BIGINT NOT NULL CHECK (available >= 0),
    reserved  BIGINT NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    sold      BIGINT NOT NULL DEFAULT 0 CHECK (sold >= 0),
    PRIMARY KEY (shop_id, sku, bucket),
    CHECK (available + reserved + sold = received)
);

-- bucket -1 is the SKU's main inventory row.
ALTER TABLE reservations ADD COLUMN bucket INTEGER NOT NULL DEFAULT -1;

-- +goose Down
ALTER TABLE reservations DROP COLUMN bucket;
DROP TABLE inventory_buckets;
DROP TABLE flash_sales;
