-- Case edits keep every earlier value (issue 13): one row per changed field, with who changed it,
-- when and why. A tagged field's row carries its tag and the organisations that supplied the old
-- and the new value, so the history is redacted by the same policy as the case: a reader who may
-- not read the tag sees that the field changed, not its values.
CREATE TABLE case_field_changes (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    case_id uuid NOT NULL REFERENCES cases (id),
    field text NOT NULL CHECK (char_length(field) <= 100),
    tag text CHECK (char_length(tag) <= 50),
    old_value jsonb NOT NULL,
    new_value jsonb NOT NULL,
    old_supplied_by uuid REFERENCES agencies (id),
    new_supplied_by uuid REFERENCES agencies (id),
    reason text CHECK (char_length(reason) <= 2000),
    changed_by uuid NOT NULL REFERENCES users (id),
    changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_field_changes_by_case ON case_field_changes (case_id, changed_at, id);
GRANT SELECT, INSERT ON case_field_changes TO confer_app;
