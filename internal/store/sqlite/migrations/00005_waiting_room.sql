-- The waiting room of a flash sale: buyers join a queue and are admitted
-- first come, first served at the rate checkout can sustain. seq comes
-- from an identity/autoincrement, not a counter row, so joining does not
-- serialise on one hot row. Expand-only.

-- +goose Up
ALTER TABLE flash_sales ADD COLUMN admission_rate BIGINT NOT NULL DEFAULT 0;
ALTER TABLE flash_sales ADD COLUMN admission_burst BIGINT NOT NULL DEFAULT 0;
ALTER TABLE flash_sales ADD COLUMN sold_out_at BIGINT;

CREATE TABLE queue_entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id     BIGINT NOT NULL,
    sku         TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    joined_at   BIGINT NOT NULL,
    UNIQUE (shop_id, sku, customer_id)
);
CREATE INDEX queue_entries_order ON queue_entries (shop_id, sku, seq);

-- +goose Down
DROP TABLE queue_entries;
ALTER TABLE flash_sales DROP COLUMN sold_out_at;
ALTER TABLE flash_sales DROP COLUMN admission_burst;
ALTER TABLE flash_sales DROP COLUMN admission_rate;
