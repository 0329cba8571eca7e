DELETE FROM field_policy WHERE subject_kind = 'role' AND tag = 'research_notes';
ALTER TABLE research_notes DROP COLUMN meeting_id;
