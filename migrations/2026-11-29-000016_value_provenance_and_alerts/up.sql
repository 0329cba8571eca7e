-- Value provenance (SECURITY.md 2.4): the organisation that supplied each tagged value, so that
-- read-back is granted for the values an organisation supplied itself, not for a whole record it
-- happens to link to a new case. NULL: no value, or its supplier is not known.
ALTER TABLE people
    ADD COLUMN identity_supplied_by uuid REFERENCES agencies (id),
    ADD COLUMN address_supplied_by uuid REFERENCES agencies (id),
    ADD COLUMN safe_contact_supplied_by uuid REFERENCES agencies (id),
    ADD COLUMN health_supplied_by uuid REFERENCES agencies (id),
    ADD COLUMN criminal_supplied_by uuid REFERENCES agencies (id);
ALTER TABLE cases ADD COLUMN safety_plan_supplied_by uuid REFERENCES agencies (id);

-- Existing values were supplied by the organisation of the user who recorded them.
UPDATE people p SET
    identity_supplied_by = u.agency_id,
    address_supplied_by = CASE WHEN p.address IS NOT NULL OR p.postcode IS NOT NULL OR p.address_kind IS NOT NULL
                               THEN u.agency_id END,
    safe_contact_supplied_by = CASE WHEN p.safe_contact_details IS NOT NULL OR p.safe_to_contact IS NOT NULL
                                    THEN u.agency_id END,
    health_supplied_by = CASE WHEN p.health_notes IS NOT NULL THEN u.agency_id END,
    criminal_supplied_by = CASE WHEN p.criminal_history IS NOT NULL THEN u.agency_id END
FROM users u WHERE u.id = p.created_by;
UPDATE cases c SET safety_plan_supplied_by = u.agency_id
FROM users u WHERE u.id = c.created_by AND c.safety_plan IS NOT NULL;

-- Alerts for the people who must know at once (SECURITY.md AU-3: a break-glass read alerts the
-- panel's coordinators and the auditors). Rows, not log lines, so they can be listed and
-- acknowledged; they hold ids and the stated reason, never case values.
CREATE TABLE alerts (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind text NOT NULL CHECK (kind IN ('break_glass')),
    panel_id uuid NOT NULL REFERENCES panels (id),
    case_id uuid NOT NULL REFERENCES cases (id),
    user_id uuid NOT NULL REFERENCES users (id),
    agency_id uuid REFERENCES agencies (id),
    reason text NOT NULL,
    request_id text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alerts_by_panel ON alerts (panel_id, created_at DESC, id DESC);
GRANT SELECT, INSERT ON alerts TO confer_app;
