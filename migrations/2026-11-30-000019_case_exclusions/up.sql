-- Per-case exclusions (issue 13, SECURITY.md 2.3): a coordinator excludes a named user from one
-- case (a worker who knows the victim, a conflict of interest). While the exclusion stands the
-- case is, for that user, a case that does not exist: the access rule (models::access) leaves it
-- out of every read, list and count. Lifting keeps the row, with who lifted it and when.
CREATE TABLE case_exclusions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    case_id uuid NOT NULL REFERENCES cases (id),
    user_id uuid NOT NULL REFERENCES users (id),
    reason text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 2000),
    created_by uuid NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    lifted_by uuid REFERENCES users (id),
    lifted_at timestamptz,
    CHECK ((lifted_by IS NULL) = (lifted_at IS NULL))
);
-- One standing exclusion per user and case; the rule looks it up by both.
CREATE UNIQUE INDEX case_exclusions_standing ON case_exclusions (case_id, user_id) WHERE lifted_at IS NULL;
GRANT SELECT, INSERT, UPDATE (lifted_by, lifted_at) ON case_exclusions TO confer_app;
