DROP TABLE data_quality_flags;
ALTER TABLE cases ALTER COLUMN referring_agency_id SET NOT NULL;
