DROP TABLE case_exclusions;
