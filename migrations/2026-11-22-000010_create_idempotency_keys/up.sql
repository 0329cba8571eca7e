-- Idempotent creates (SECURITY.md RE-2): a retry with the same key and body answers with the
-- resource the first request made. Keys are per user and route and live 24 hours.
CREATE TABLE idempotency_keys (
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    route        text NOT NULL CHECK (char_length(route) <= 200),
    key          uuid NOT NULL,
    fingerprint  bytea NOT NULL CHECK (octet_length(fingerprint) = 32),
    resource_id  uuid NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, route, key)
);

CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

GRANT SELECT, INSERT, DELETE ON idempotency_keys TO confer_app;
