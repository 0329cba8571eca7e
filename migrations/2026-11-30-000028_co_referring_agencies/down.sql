ALTER TABLE cases DROP COLUMN co_referring_agency_ids;
