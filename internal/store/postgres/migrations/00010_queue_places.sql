-- A buyer's place in a waiting room was counted on every join (the rank of
-- their entry), which grew with the queue. The place is now stored with the
-- entry and handed out by a counter on the sale. Existing entries get
-- their rank. Expand-only.

-- +goose Up
ALTER TABLE flash_sales ADD COLUMN queue_places BIGINT NOT NULL DEFAULT 0;
ALTER TABLE queue_entries ADD COLUMN place BIGINT NOT NULL DEFAULT 0;
UPDATE queue_entries SET place = (SELECT COUNT(*) FROM queue_entries q
    WHERE q.shop_id = queue_entries.shop_id AND q.sku = queue_entries.sku AND q.seq <= queue_entries.seq);
UPDATE flash_sales SET queue_places = (SELECT COUNT(*) FROM queue_entries q
    WHERE q.shop_id = flash_sales.shop_id AND q.sku = flash_sales.sku);

-- +goose Down
ALTER TABLE queue_entries DROP COLUMN place;
ALTER TABLE flash_sales DROP COLUMN queue_places;
