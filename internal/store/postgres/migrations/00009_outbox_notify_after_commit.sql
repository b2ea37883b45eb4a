-- A NOTIFY inside a transaction holds a database-wide lock through its
-- commit, so every checkout committed one at a time, without group commit.
-- The store now sends the wake-up after committing, on its own (see
-- Store.notifyRelays). Contract: the trigger goes; nothing reads it.

-- +goose Up
DROP TRIGGER outbox_notify ON outbox;
DROP FUNCTION surge_outbox_notify();

-- +goose Down
-- +goose StatementBegin
CREATE FUNCTION surge_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('surge_outbox', '');
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION surge_outbox_notify();
