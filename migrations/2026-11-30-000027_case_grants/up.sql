-- Per-case grants (issue 13.5, SECURITY.md §2.4, the `G` cells): a coordinator lets one member
-- organisation read one tag on one case, with a reason and an expiry date (the last day it
-- holds, London time). A grant lapses at its expiry or when the case ends (closed, rejected,
-- withdrawn, transferred out); a coordinator may revoke it sooner. Ended grants stay, with when,
-- why and (when revoked) by whom. `research_notes` are an organisation's own and not grantable.
CREATE TABLE case_grants (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    case_id uuid NOT NULL REFERENCES cases (id),
    agency_id uuid NOT NULL REFERENCES agencies (id),
    tag text NOT NULL CHECK (tag IN ('victim.address', 'victim.safe_contact', 'risk.dash_answers', 'health',
                                     'perpetrator.criminal', 'children', 'safety_plan')),
    reason text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 2000),
    expires_on date NOT NULL,
    granted_by uuid NOT NULL REFERENCES users (id),
    granted_at timestamptz NOT NULL DEFAULT now(),
    ended_at timestamptz,
    ended_by uuid REFERENCES users (id),
    end_reason text CHECK (end_reason IN ('revoked', 'expired', 'case_ended')),
    CHECK ((ended_at IS NULL) = (end_reason IS NULL)),
    CHECK (end_reason IS DISTINCT FROM 'revoked' OR ended_by IS NOT NULL)
);
-- One standing grant per case, organisation and tag; reads look grants up by case.
CREATE UNIQUE INDEX case_grants_standing ON case_grants (case_id, agency_id, tag) WHERE ended_at IS NULL;
GRANT SELECT, INSERT, UPDATE (ended_at, ended_by, end_reason) ON case_grants TO confer_app;
