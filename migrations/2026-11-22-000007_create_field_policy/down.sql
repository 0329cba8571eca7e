DROP TABLE research_notes;
ALTER TABLE cases DROP COLUMN safety_plan;
ALTER TABLE people DROP COLUMN school;
ALTER TABLE people DROP COLUMN criminal_history;
ALTER TABLE people DROP COLUMN health_notes;
DROP TABLE field_policy_version;
DROP TABLE field_policy;
