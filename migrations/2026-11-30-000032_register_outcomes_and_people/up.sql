-- Registers as kept (issue 14): a line still open that records an outcome is imported open, its
-- outcome kept verbatim on a data-quality flag (`detail`) for a coordinator to settle; a register
-- person matching more than one person already known is imported as a new person and flagged.
ALTER TABLE data_quality_flags DROP CONSTRAINT data_quality_flags_kind_check;
ALTER TABLE data_quality_flags ADD CONSTRAINT data_quality_flags_kind_check
    CHECK (kind IN ('referring_agency_not_recorded', 'ward_not_recorded', 'closure_reason_not_recorded',
                    'duplicate_row', 'outcome_on_open_line', 'possible_duplicate_person'));
ALTER TABLE data_quality_flags ADD COLUMN detail text CHECK (char_length(detail) <= 2000);
