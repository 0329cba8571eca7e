-- Dated memberships (SECURITY.md §2.1, issue 15): a role is held from `valid_from` to `valid_to`
-- (London dates, both inclusive, either open). The session check reads only the roles in force
-- today, so an expired role grants nothing from the next request on.
ALTER TABLE user_roles
    ADD COLUMN valid_from date,
    ADD COLUMN valid_to date,
    ADD CONSTRAINT user_roles_dates_check CHECK (valid_to >= valid_from);
