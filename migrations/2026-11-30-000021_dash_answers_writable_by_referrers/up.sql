-- DASH answers (issue 13.7): the default let only IDVA services write them, so neither a
-- coordinator entering a referral for an agency nor the police (the most common referrer, who
-- complete DASH at incidents) could record one. SECURITY.md's default gives both write. The police
-- get `own`: they write answers and read back those they supplied (provenance), not another
-- organisation's. Applied only to a policy nobody has changed since it was seeded (version 1): a
-- partnership's own policy is its decision.
UPDATE field_policy SET access = 'write'
 WHERE subject_kind = 'role' AND subject = 'coordinator' AND tag = 'risk.dash_answers'
   AND (SELECT version FROM field_policy_version) = 1;
INSERT INTO field_policy (subject_kind, subject, tag, access)
SELECT 'agency_type', 'police', 'risk.dash_answers', 'own'
 WHERE (SELECT version FROM field_policy_version) = 1
ON CONFLICT DO NOTHING;
UPDATE field_policy_version SET version = 2, changed_at = now() WHERE version = 1;
