-- A session is one sign-in. Its refresh tokens form one family: each is single use, and presenting
-- a used one ends the session (SECURITY.md AN-4). Only SHA-256 hashes of refresh tokens are stored.
CREATE TABLE sessions (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    ended_at     timestamptz,
    ended_reason text CHECK (ended_reason IN ('logout', 'refresh_token_reuse', 'logout_all'))
);

CREATE INDEX sessions_user_id_idx ON sessions (user_id);

CREATE TABLE refresh_tokens (
    token_hash bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);

-- Failed sign-ins, keyed by a hash of the normalised email whether or not such an account exists,
-- so throttling itself does not reveal which emails have accounts.
CREATE TABLE login_throttles (
    key_hash      bytea PRIMARY KEY CHECK (octet_length(key_hash) = 32),
    failures      integer NOT NULL DEFAULT 0,
    last_failed_at timestamptz NOT NULL DEFAULT now(),
    blocked_until timestamptz
);
