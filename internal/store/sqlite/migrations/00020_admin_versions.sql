-- A version on every resource an admin edits, so If-Match can guard
-- each write (ETag "v<version>"): each write moves it on and compares it
-- in its own WHERE. The inventory's version moves when the shop changes
-- its stock, not with each unit sold. Expand-only: an older binary leaves
-- versions where they are, which only makes a stale If-Match pass during
-- a rolling upgrade.

-- +goose Up
ALTER TABLE shops ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE feature_flags ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE flash_sales ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE orders ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE notifications ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE inventory ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

-- +goose Down
ALTER TABLE inventory DROP COLUMN version;
ALTER TABLE notifications DROP COLUMN version;
ALTER TABLE orders DROP COLUMN version;
ALTER TABLE flash_sales DROP COLUMN version;
ALTER TABLE feature_flags DROP COLUMN version;
ALTER TABLE shops DROP COLUMN version;
