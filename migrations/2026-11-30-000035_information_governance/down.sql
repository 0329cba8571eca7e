DROP FUNCTION erase_case(uuid, date);
DROP VIEW case_retention;
DROP TABLE share_decisions;
DROP TABLE rights_requests;
ALTER TABLE cases DROP COLUMN restricted_at, DROP COLUMN restricted_by, DROP COLUMN restriction_reason;
ALTER TABLE case_participants DROP COLUMN age_at_referral;
ALTER TABLE cases DROP COLUMN erased_at;
DROP TABLE legal_holds;
DROP TABLE panel_retention;
DROP TABLE retention_policies;
DELETE FROM user_roles WHERE role = 'information_governance';
ALTER TABLE user_roles DROP CONSTRAINT user_roles_role_check;
ALTER TABLE user_roles ADD CONSTRAINT user_roles_role_check CHECK (role IN
    ('system_admin', 'coordinator', 'chair', 'agency_rep', 'idva', 'manager', 'auditor'));
ALTER TABLE user_roles DROP CONSTRAINT user_roles_scope_check;
ALTER TABLE user_roles ADD CONSTRAINT user_roles_scope_check CHECK (
    (role = 'system_admin' AND panel_id IS NULL)
    OR (role IN ('coordinator', 'chair', 'agency_rep', 'idva', 'manager') AND panel_id IS NOT NULL)
    OR role = 'auditor');
