-- The audit trail (SECURITY.md §4): one event per request that touches case data, reads and
-- refusals included, plus authentication and policy changes. Append-only: a trigger refuses
-- UPDATE and DELETE for everyone, and the runtime role has only INSERT and SELECT. Each row's
-- hash chains it to the previous one; appends serialise on the one-row chain head.
CREATE TABLE audit_events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    request_id      text NOT NULL CHECK (char_length(request_id) <= 64),
    user_id         uuid,
    org_id          uuid,
    roles           text[] NOT NULL DEFAULT '{}' CHECK (array_position(roles, NULL) IS NULL),
    panel_id        uuid,
    action          text NOT NULL CHECK (action IN
                        ('collect', 'alter', 'consult', 'disclose', 'combine', 'erase', 'authenticate', 'policy_change')),
    route           text NOT NULL CHECK (char_length(route) <= 200),
    method          text NOT NULL CHECK (char_length(method) <= 10),
    object_type     text NOT NULL CHECK (char_length(object_type) <= 50),
    object_ids      uuid[] NOT NULL DEFAULT '{}' CHECK (array_position(object_ids, NULL) IS NULL),
    tags_disclosed  text[] NOT NULL DEFAULT '{}' CHECK (array_position(tags_disclosed, NULL) IS NULL),
    purpose         text CHECK (char_length(purpose) <= 500),
    outcome         text NOT NULL CHECK (outcome IN
                        ('ok', 'denied_function', 'denied_object', 'denied_field', 'invalid', 'error')),
    prev_hash       bytea NOT NULL CHECK (octet_length(prev_hash) = 32),
    hash            bytea NOT NULL CHECK (octet_length(hash) = 32)
);

CREATE INDEX audit_events_occurred_idx ON audit_events (occurred_at);
CREATE INDEX audit_events_user_idx ON audit_events (user_id, id);
CREATE INDEX audit_events_org_idx ON audit_events (org_id, id);
CREATE INDEX audit_events_objects_idx ON audit_events USING gin (object_ids);
CREATE INDEX audit_events_request_idx ON audit_events (request_id);

CREATE TABLE audit_chain_head (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    last_id    bigint NOT NULL,
    last_hash  bytea NOT NULL CHECK (octet_length(last_hash) = 32)
);

-- The chain starts from 32 zero bytes.
INSERT INTO audit_chain_head (last_id, last_hash) VALUES (0, decode(repeat('00', 32), 'hex'));

CREATE FUNCTION audit_events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END;
$$;

CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_are_append_only();
