-- Appending each event to the hash chain inside its request's transaction held the chain head's
-- row lock until that transaction committed, so every audited request in the system waited for
-- the previous one's commit to reach disk: one audited request per WAL flush, no group commit
-- (bench/: the case read's ceiling). Events are still written in their request's transaction
-- (SECURITY.md AU-1); a sealer now links them into the chain in batches moments later, in the
-- order it seals them. The chain lives in audit_seals, append-only like the events themselves.
CREATE TABLE audit_seals (
    seq        bigint PRIMARY KEY,
    event_id   bigint NOT NULL UNIQUE REFERENCES audit_events (id),
    prev_hash  bytea NOT NULL CHECK (octet_length(prev_hash) = 32),
    hash       bytea NOT NULL CHECK (octet_length(hash) = 32)
);

-- The chain so far keeps its links and order (event id order).
INSERT INTO audit_seals (seq, event_id, prev_hash, hash) SELECT id, id, prev_hash, hash FROM audit_events;
ALTER TABLE audit_events DROP COLUMN prev_hash, DROP COLUMN hash;
ALTER TABLE audit_chain_head RENAME COLUMN last_id TO last_seq;

CREATE TRIGGER audit_seals_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_seals
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_are_append_only();

-- Events waiting for the sealer. A trigger queues every event, so none can escape the chain.
CREATE TABLE audit_pending (event_id bigint PRIMARY KEY REFERENCES audit_events (id));
CREATE FUNCTION audit_events_queue_for_sealing() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_pending (event_id) VALUES (NEW.id);
    RETURN NULL;
END;
$$;
CREATE TRIGGER audit_events_queue
    AFTER INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_queue_for_sealing();

GRANT SELECT, INSERT ON audit_seals TO confer_app;
GRANT SELECT, INSERT, DELETE ON audit_pending TO confer_app;
