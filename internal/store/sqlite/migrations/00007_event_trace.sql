-- The W3C traceparent of the request that caused an event, so the trace
-- continues through the relay and the workers. Expand-only.

-- +goose Up
ALTER TABLE outbox ADD COLUMN trace_parent TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE outbox DROP COLUMN trace_parent;
