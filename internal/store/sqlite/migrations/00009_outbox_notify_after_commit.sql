-- PostgreSQL moved its relay wake-up out of the transaction in this
-- version; SQLite has one relay, woken in-process. Kept so both engines
-- share version numbers.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
