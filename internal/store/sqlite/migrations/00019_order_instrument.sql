-- The payment instrument an order was placed with, as the provider
-- fingerprints it (never the card itself): purchase limits also count per
-- instrument, under purchase_counts' customer 'instrument:<fingerprint>',
-- and a cancellation gives the units back to it. Expand-only: an older
-- binary writes '' and counts per customer only.

-- +goose Up
ALTER TABLE orders ADD COLUMN instrument TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE orders DROP COLUMN instrument;
