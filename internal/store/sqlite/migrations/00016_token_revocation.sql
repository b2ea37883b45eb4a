-- Customer tokens are signed and stateless; revoking them needs state.
-- tokens_revoked_until ends, at once, every token of a customer that
-- expires at or before it (those issued up to the revocation); revoked_tokens
-- holds single tokens signed out, until they would have expired anyway.
-- Expand-only: an older binary ignores both and keeps honouring tokens.

-- +goose Up
ALTER TABLE customers ADD COLUMN tokens_revoked_until INTEGER NOT NULL DEFAULT 0;
CREATE TABLE revoked_tokens (
    token_hash  TEXT PRIMARY KEY,
    shop_id     INTEGER NOT NULL,
    customer_id TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX revoked_tokens_expiry ON revoked_tokens (expires_at);

-- +goose Down
DROP TABLE revoked_tokens;
ALTER TABLE customers DROP COLUMN tokens_revoked_until;
