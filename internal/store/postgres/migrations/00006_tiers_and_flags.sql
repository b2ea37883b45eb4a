-- Quota tiers per shop and runtime feature flags, both set by the platform
-- admin. Expand-only (a column with a default, a new table).

-- +goose Up
ALTER TABLE shops ADD COLUMN tier TEXT NOT NULL DEFAULT 'standard';

CREATE TABLE feature_flags (
    name       TEXT PRIMARY KEY,
    enabled    INTEGER NOT NULL,
    updated_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE feature_flags;
ALTER TABLE shops DROP COLUMN tier;
