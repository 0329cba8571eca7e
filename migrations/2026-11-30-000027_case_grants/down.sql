DROP TABLE case_grants;
