ALTER TABLE actions DROP COLUMN case_reference;
ALTER TABLE cases DROP CONSTRAINT cases_id_reference_key;
