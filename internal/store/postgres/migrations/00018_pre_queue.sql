-- Arrivals at a waiting room before its sale starts are a pre-queue,
-- shuffled once at the start (queue_shuffled_at) by a random draw each,
-- so arriving early gains nothing. A sale may ask a proof of work to join
-- (pow_difficulty: leading zero bits, 0 = none). Expand-only: an older
-- binary ignores all three.

-- +goose Up
ALTER TABLE flash_sales ADD COLUMN queue_shuffled_at BIGINT;
ALTER TABLE flash_sales ADD COLUMN pow_difficulty BIGINT NOT NULL DEFAULT 0;
ALTER TABLE queue_entries ADD COLUMN draw BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE queue_entries DROP COLUMN draw;
ALTER TABLE flash_sales DROP COLUMN pow_difficulty;
ALTER TABLE flash_sales DROP COLUMN queue_shuffled_at;
