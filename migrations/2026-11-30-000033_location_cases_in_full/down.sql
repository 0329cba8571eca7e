DROP TABLE community_triggers;
DROP TABLE case_links;
DROP TABLE interventions;
DROP TABLE location_cases;
DROP INDEX locations_uprn;
ALTER TABLE locations DROP COLUMN address, DROP COLUMN postcode, DROP COLUMN uprn;
