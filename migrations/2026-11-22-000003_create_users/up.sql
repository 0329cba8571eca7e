-- Accounts. Emails are stored lower-cased. tokens_valid_after cuts off every access token issued
-- before it (SECURITY.md AN-5); it moves on disable, role or agency change and logout-all.
CREATE TABLE users (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email              text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254 AND email = lower(email)),
    display_name       text NOT NULL CHECK (char_length(display_name) BETWEEN 1 AND 200),
    agency_id          uuid REFERENCES agencies (id),
    password_hash      text NOT NULL,
    active             boolean NOT NULL DEFAULT true,
    tokens_valid_after timestamptz NOT NULL DEFAULT 'epoch',
    version            integer NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_key UNIQUE (email)
);

CREATE INDEX users_agency_id_idx ON users (agency_id);
CREATE INDEX users_created_at_id_idx ON users (created_at, id);

-- Roles. Panel roles (coordinator, chair, agency_rep, idva) and manager are held for one panel;
-- system_admin is global; an auditor is global (no panel) or per panel.
CREATE TABLE user_roles (
    id       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role     text NOT NULL CHECK (role IN
                 ('system_admin', 'coordinator', 'chair', 'agency_rep', 'idva', 'manager', 'auditor')),
    panel_id uuid REFERENCES panels (id) ON DELETE CASCADE,
    CONSTRAINT user_roles_scope_check CHECK (
        (role = 'system_admin' AND panel_id IS NULL)
        OR (role IN ('coordinator', 'chair', 'agency_rep', 'idva', 'manager') AND panel_id IS NOT NULL)
        OR role = 'auditor'),
    CONSTRAINT user_roles_key UNIQUE NULLS NOT DISTINCT (user_id, role, panel_id)
);

CREATE INDEX user_roles_panel_id_idx ON user_roles (panel_id);
