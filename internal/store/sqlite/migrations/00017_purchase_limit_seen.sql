-- Purchases are counted whether or not a limit is in force, so a limit
-- that comes into force later counts what the customer already holds;
-- limit_seen is the most permissive limit any counted purchase was made
-- under (-1: bought while no limit was in force), so the audit tells a
-- shop lowering a limit from a purchase that broke one. The backfill
-- counts live orders of SKUs that kept no count. Expand-only: an older
-- binary counts only under a limit and ignores limit_seen.

-- +goose Up
ALTER TABLE purchase_counts ADD COLUMN limit_seen BIGINT NOT NULL DEFAULT 0;
UPDATE purchase_counts SET limit_seen = COALESCE((SELECT p.purchase_limit FROM products p
    WHERE p.shop_id = purchase_counts.shop_id AND p.sku = purchase_counts.sku), 0);
INSERT INTO purchase_counts (shop_id, customer_id, sku, units, limit_seen)
SELECT o.shop_id, o.customer_id, l.sku, SUM(l.quantity), -1
FROM orders o JOIN order_lines l ON l.shop_id = o.shop_id AND l.order_id = o.order_id
WHERE o.status <> 'cancelled'
  AND NOT EXISTS (SELECT 1 FROM purchase_counts pc
      WHERE pc.shop_id = o.shop_id AND pc.customer_id = o.customer_id AND pc.sku = l.sku)
GROUP BY o.shop_id, o.customer_id, l.sku;

-- +goose Down
ALTER TABLE purchase_counts DROP COLUMN limit_seen;
