-- Back to hashes on the events. Only for a trail whose seals follow event id order (the old
-- verifier walks ids); refuses while events wait for the sealer.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM audit_pending) THEN
        RAISE EXCEPTION 'audit events are waiting to be sealed: run confer audit verify first';
    END IF;
END;
$$;
DROP TRIGGER audit_events_queue ON audit_events;
DROP FUNCTION audit_events_queue_for_sealing();
DROP TABLE audit_pending;
ALTER TABLE audit_chain_head RENAME COLUMN last_seq TO last_id;
UPDATE audit_chain_head SET last_id = (SELECT coalesce(max(event_id), 0) FROM audit_seals);
ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only;
ALTER TABLE audit_events ADD COLUMN prev_hash bytea, ADD COLUMN hash bytea;
UPDATE audit_events e SET prev_hash = s.prev_hash, hash = s.hash FROM audit_seals s WHERE s.event_id = e.id;
ALTER TABLE audit_events ALTER COLUMN prev_hash SET NOT NULL, ALTER COLUMN hash SET NOT NULL,
    ADD CHECK (octet_length(prev_hash) = 32), ADD CHECK (octet_length(hash) = 32);
ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only;
DROP TABLE audit_seals;
