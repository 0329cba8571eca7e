DELETE FROM data_quality_flags WHERE kind IN ('outcome_on_open_line', 'possible_duplicate_person');
ALTER TABLE data_quality_flags DROP COLUMN detail;
ALTER TABLE data_quality_flags DROP CONSTRAINT data_quality_flags_kind_check;
ALTER TABLE data_quality_flags ADD CONSTRAINT data_quality_flags_kind_check
    CHECK (kind IN ('referring_agency_not_recorded', 'ward_not_recorded', 'closure_reason_not_recorded',
                    'duplicate_row'));
