DROP TABLE agency_names;
DROP TABLE agencies;
