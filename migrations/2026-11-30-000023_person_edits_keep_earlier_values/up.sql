-- Person edits keep every earlier value (issue 13): a corrected name, a new address after a
-- refuge move. One row per changed field, with the organisations that supplied the old and the
-- new value; the history is redacted at read time by the tag the field carries in each role the
-- reader sees the person in (a perpetrator's address is core, a victim's is tagged).
CREATE TABLE person_field_changes (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    person_id uuid NOT NULL REFERENCES people (id),
    field text NOT NULL CHECK (char_length(field) <= 100),
    old_value jsonb NOT NULL,
    new_value jsonb NOT NULL,
    old_supplied_by uuid REFERENCES agencies (id),
    new_supplied_by uuid REFERENCES agencies (id),
    reason text CHECK (char_length(reason) <= 2000),
    changed_by uuid NOT NULL REFERENCES users (id),
    changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX person_field_changes_by_person ON person_field_changes (person_id, changed_at, id);
GRANT SELECT, INSERT ON person_field_changes TO confer_app;
