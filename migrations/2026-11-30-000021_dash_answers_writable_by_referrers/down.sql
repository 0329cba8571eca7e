UPDATE field_policy SET access = 'read'
 WHERE subject_kind = 'role' AND subject = 'coordinator' AND tag = 'risk.dash_answers';
DELETE FROM field_policy WHERE subject_kind = 'agency_type' AND subject = 'police' AND tag = 'risk.dash_answers';
UPDATE field_policy_version SET version = 1 WHERE version = 2;
