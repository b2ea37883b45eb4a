-- The relay reads unpublished events in position order. This index holds
-- only those, in that order, so the read never walks the published history
-- (PostgreSQL has had it since this version; both engines now share one
-- schema, checked by TestSchemasMatch). Expand-only.

-- +goose Up
CREATE INDEX outbox_pending ON outbox (seq) WHERE published_at IS NULL;

-- +goose Down
DROP INDEX outbox_pending;
