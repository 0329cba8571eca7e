ALTER TABLE case_imports DROP COLUMN report;
