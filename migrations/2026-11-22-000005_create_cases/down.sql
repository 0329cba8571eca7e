DROP TABLE case_imports;
DROP TABLE case_reference_counters;
DROP TABLE risk_assessments;
DROP TABLE case_status_history;
DROP TABLE case_participants;
DROP TABLE cases;
DROP TABLE locations;
DROP TABLE people;
