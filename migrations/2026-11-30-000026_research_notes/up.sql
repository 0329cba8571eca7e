-- Agency research notes (issue 13.6, SECURITY.md §2.4 tag `research_notes`): each organisation
-- records its pre-meeting research on a case (the table has stood empty since the field policy
-- came). Its own organisation reads it back (`own` in the field policy) and the panel's staff
-- read it; nobody else. Notes are kept as written: a correction is a later note. A note may name
-- the meeting it was researched for.
ALTER TABLE research_notes ADD COLUMN meeting_id uuid REFERENCES meetings (id);

-- The panel's coordinators and chairs read every organisation's research on their cases (the
-- issue asks for it; the seeded table had no row for them). Only for a policy nobody has changed.
INSERT INTO field_policy (subject_kind, subject, tag, access)
SELECT 'role', r, 'research_notes', 'read' FROM unnest(ARRAY['coordinator', 'chair']) AS r
 WHERE (SELECT version FROM field_policy_version) = 2
ON CONFLICT DO NOTHING;
UPDATE field_policy_version SET version = 3, changed_at = now() WHERE version = 2;
