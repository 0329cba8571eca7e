DROP TABLE alerts;
ALTER TABLE cases DROP COLUMN safety_plan_supplied_by;
ALTER TABLE people
    DROP COLUMN identity_supplied_by,
    DROP COLUMN address_supplied_by,
    DROP COLUMN safe_contact_supplied_by,
    DROP COLUMN health_supplied_by,
    DROP COLUMN criminal_supplied_by;
