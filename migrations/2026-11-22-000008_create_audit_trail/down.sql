DROP TRIGGER audit_events_append_only ON audit_events;
DROP FUNCTION audit_events_are_append_only();
DROP TABLE audit_chain_head;
DROP TABLE audit_events;
