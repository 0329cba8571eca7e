-- The role the service runs as (SECURITY.md AU-2): it owns nothing, may read and write the data
-- tables, and may only INSERT and SELECT audit events. The service switches to it with
-- `SET ROLE` on every pooled connection; migrations run as the owner. Roles are cluster-wide, so
-- the role outlives this migration's down (which only takes its privileges away).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'confer_app') THEN
        CREATE ROLE confer_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
END;
$$;

GRANT USAGE ON SCHEMA public TO confer_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO confer_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO confer_app;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM confer_app;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON __diesel_schema_migrations FROM confer_app;
-- The chain head is updated on every append, under its row lock.
GRANT UPDATE ON audit_chain_head TO confer_app;
