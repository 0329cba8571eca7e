DROP TABLE case_field_changes;
