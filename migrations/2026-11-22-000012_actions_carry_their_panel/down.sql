ALTER TABLE actions DROP COLUMN panel_id;
ALTER TABLE cases DROP CONSTRAINT cases_id_panel_key;
