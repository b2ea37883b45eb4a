-- The relays read unpublished events in position order. This index holds
-- only those, in that order, so the read never walks the published history
-- and never sorts, whatever the planner's statistics say about how many
-- events are unpublished. Expand-only.

-- +goose Up
CREATE INDEX outbox_pending ON outbox (seq) WHERE published_at IS NULL;

-- +goose Down
DROP INDEX outbox_pending;
