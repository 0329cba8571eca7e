-- Closure approval (issue 13.8, DOMAIN.md §6.1): a panel may require that a chair approves a
-- coordinator's closure. The coordinator's closure then waits as a request, checked as a closure
-- is; a chair approves it (the case closes with the requested categories, reason and date, checked
-- again) or declines it with a reason. Decided requests stay, with who decided and when.
ALTER TABLE panels ADD COLUMN closure_requires_approval boolean NOT NULL DEFAULT false;

CREATE TABLE case_closure_requests (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    case_id uuid NOT NULL REFERENCES cases (id),
    categories text[] NOT NULL CHECK (cardinality(categories) BETWEEN 1 AND 5 AND array_position(categories, NULL) IS NULL),
    reason text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 2000),
    closed_on date NOT NULL,
    requested_by uuid NOT NULL REFERENCES users (id),
    requested_at timestamptz NOT NULL DEFAULT now(),
    decision text CHECK (decision IN ('approved', 'declined')),
    decision_reason text CHECK (char_length(decision_reason) BETWEEN 1 AND 2000),
    decided_by uuid REFERENCES users (id),
    decided_at timestamptz,
    CHECK ((decision IS NULL) = (decided_by IS NULL) AND (decision IS NULL) = (decided_at IS NULL)),
    CHECK (decision IS DISTINCT FROM 'declined' OR decision_reason IS NOT NULL)
);
-- One pending request per case.
CREATE UNIQUE INDEX case_closure_requests_pending ON case_closure_requests (case_id) WHERE decision IS NULL;
GRANT SELECT, INSERT, UPDATE (decision, decision_reason, decided_by, decided_at) ON case_closure_requests TO confer_app;
