-- Per-user rate-limit buckets (SECURITY.md IN-11), held in the database so that several server
-- processes behind one balancer count one user's requests together. One row per user and route
-- class: tokens left at `updated_at`, refilled continuously up to the class's capacity per minute.
-- UNLOGGED: every signed-in request updates its bucket, and a change to an unlogged table writes no
-- WAL, so a read does not wait for a disk flush at commit. After a database crash the buckets start
-- full again, which is harmless for a rate limit (and they are not replicated to standbys).
CREATE UNLOGGED TABLE rate_buckets (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    class text NOT NULL CHECK (class IN ('read', 'write')),
    tokens double precision NOT NULL,
    updated_at timestamptz NOT NULL,
    -- Whether the last request taken from the bucket was let through.
    last_allowed boolean NOT NULL,
    PRIMARY KEY (user_id, class)
);
GRANT SELECT, INSERT, UPDATE, DELETE ON rate_buckets TO confer_app;
