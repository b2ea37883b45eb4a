-- Each notification keeps its own delivery attempts: a recipient the SMTP
-- server refuses is retried with backoff (next_attempt_at) without holding
-- back any other shop's mail, and a permanent refusal or too many attempts
-- marks it failed (failed_at, last_error), a dead letter the shop sees in
-- its admin API and may send again. Expand-only: an older binary ignores
-- the columns and keeps delivering.

-- +goose Up
ALTER TABLE notifications ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN next_attempt_at BIGINT;
ALTER TABLE notifications ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE notifications ADD COLUMN failed_at BIGINT;

-- +goose Down
ALTER TABLE notifications DROP COLUMN failed_at;
ALTER TABLE notifications DROP COLUMN last_error;
ALTER TABLE notifications DROP COLUMN next_attempt_at;
ALTER TABLE notifications DROP COLUMN attempts;
