DROP TABLE person_field_changes;
