-- The stock ledger: one row for every change the shop makes to the units
-- it received (a product's stock set, a restock, a flash sale's new total),
-- written in the same transaction as the change. The audit checks that a
-- SKU's received units, over its main row and its flash-sale buckets,
-- equal the sum of its ledger, so stock cannot be created or lost by
-- anything else (docs/INVARIANTS.md, I10). Existing stock is carried over
-- as one 'opening' row per SKU. Expand-only: an older binary runs against
-- it, but stock it changes during a rolling deploy writes no ledger row, and
-- the audit reports that SKU until an operator records the difference.

-- +goose Up
CREATE TABLE stock_ledger (
    shop_id    BIGINT NOT NULL,
    sku        TEXT NOT NULL,
    delta      BIGINT NOT NULL,
    reason     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX stock_ledger_sku ON stock_ledger (shop_id, sku);
INSERT INTO stock_ledger (shop_id, sku, delta, reason, created_at)
SELECT shop_id, sku, SUM(received), 'opening', 0
FROM (SELECT shop_id, sku, received FROM inventory
      UNION ALL SELECT shop_id, sku, received FROM inventory_buckets) t
GROUP BY shop_id, sku;

-- +goose Down
DROP TABLE stock_ledger;
