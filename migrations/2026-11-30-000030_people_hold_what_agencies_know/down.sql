ALTER TABLE case_participants DROP COLUMN relationship_to_victim, DROP COLUMN relationship_to_perpetrator;
DROP TABLE person_addresses;
DROP TABLE person_dates_of_birth;
ALTER TABLE people DROP COLUMN language, DROP COLUMN interpreter_needed, DROP COLUMN gp_practice;
