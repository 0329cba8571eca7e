ALTER TABLE user_roles DROP COLUMN valid_from, DROP COLUMN valid_to;
