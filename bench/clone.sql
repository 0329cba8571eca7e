-- Grows a confer database to national scale by cloning the template cases (bench/templates.py)
-- in bulk, one transaction, set-based: every row is a copy of one the service wrote, with new ids
-- (md5 of the template id and the clone number, so a case's people, actions and audit events
-- follow it), a referral date spread over ten years, and a MARAC panel of its own.
--
-- psql -v cases=N -v panels=P -f bench/clone.sql   (P MARAC panels in all, the demo's included)
\set ON_ERROR_STOP on
BEGIN;

CREATE TEMP TABLE demo_marac AS SELECT id FROM panels WHERE kind = 'marac' ORDER BY created_at LIMIT 1;

INSERT INTO panels (kind, name, local_area, meeting_cadence)
SELECT 'marac', 'Bench MARAC ' || g, 'Bench area ' || g, 'fortnightly' FROM generate_series(1, :panels - 1) g;
INSERT INTO panel_members (panel_id, agency_id, isa_signed_on, active)
SELECT p.id, m.agency_id, m.isa_signed_on, m.active
FROM panels p CROSS JOIN panel_members m
WHERE p.name LIKE 'Bench MARAC %' AND m.panel_id = (SELECT id FROM demo_marac);
INSERT INTO panel_settings_versions (panel_id, version, settings)
SELECT p.id, 1, s.settings
FROM panels p CROSS JOIN panel_settings_versions s
WHERE p.name LIKE 'Bench MARAC %' AND s.panel_id = (SELECT id FROM demo_marac) AND s.version = 1;

CREATE TEMP TABLE bench_panel AS
SELECT id, (row_number() OVER (ORDER BY created_at, id) - 1)::int AS n FROM panels WHERE kind = 'marac';
CREATE TEMP TABLE template AS
SELECT id, (row_number() OVER (ORDER BY created_at, id) - 1)::int AS n FROM cases;
CREATE TEMP TABLE clone AS
SELECT g, t.id AS template_id, md5(t.id::text || ':' || g)::uuid AS id, p.id AS panel_id,
       (current_date - ((g::bigint * 3650) / :cases)::int) AS referral_date
FROM generate_series(1, :cases) g
JOIN template t ON t.n = g % (SELECT count(*) FROM template)
JOIN bench_panel p ON p.n = g % (SELECT count(*) FROM bench_panel);
CREATE INDEX ON clone (template_id);
ANALYZE clone;

INSERT INTO cases
SELECT (jsonb_populate_record(NULL::cases, to_jsonb(c) || jsonb_build_object(
    'id', k.id, 'panel_id', k.panel_id, 'reference', 'BENCH-' || k.g, 'referral_date', k.referral_date,
    'status', CASE WHEN k.referral_date > current_date - 30 THEN 'referred' ELSE 'open' END,
    'created_at', k.referral_date::timestamptz, 'updated_at', k.referral_date::timestamptz))).*
FROM clone k JOIN cases c ON c.id = k.template_id;

INSERT INTO people
SELECT (jsonb_populate_record(NULL::people, to_jsonb(p) || jsonb_build_object(
    'id', md5(p.id::text || ':' || k.g)::uuid, 'surname', p.surname || k.g,
    'normalized_name', p.normalized_name || k.g, 'created_at', k.referral_date::timestamptz))).*
FROM clone k JOIN case_participants cp ON cp.case_id = k.template_id JOIN people p ON p.id = cp.person_id;

INSERT INTO case_participants (case_id, person_id, role)
SELECT k.id, md5(cp.person_id::text || ':' || k.g)::uuid, cp.role
FROM clone k JOIN case_participants cp ON cp.case_id = k.template_id;

INSERT INTO case_status_history
SELECT (jsonb_populate_record(NULL::case_status_history, to_jsonb(h) || jsonb_build_object(
    'id', md5(h.id::text || ':' || k.g)::uuid, 'case_id', k.id, 'changed_at', k.referral_date::timestamptz))).*
FROM clone k JOIN case_status_history h ON h.case_id = k.template_id;

INSERT INTO risk_assessments
SELECT (jsonb_populate_record(NULL::risk_assessments, to_jsonb(a) || jsonb_build_object(
    'id', md5(a.id::text || ':' || k.g)::uuid, 'case_id', k.id, 'assessed_on', k.referral_date,
    'created_at', k.referral_date::timestamptz))).*
FROM clone k JOIN risk_assessments a ON a.case_id = k.template_id;

INSERT INTO actions
SELECT (jsonb_populate_record(NULL::actions, to_jsonb(a) || jsonb_build_object(
    'id', md5(a.id::text || ':' || k.g)::uuid, 'case_id', k.id, 'due_date', k.referral_date + 28,
    'created_at', k.referral_date::timestamptz, 'updated_at', k.referral_date::timestamptz))).*
FROM clone k JOIN actions a ON a.case_id = k.template_id;

-- Audit events follow their case; their hashes are not a chain (bench data only: the audit
-- verification route would report the break, as it should for rows written behind its back).
INSERT INTO audit_events (occurred_at, request_id, user_id, org_id, roles, panel_id, action, route, method,
                          object_type, object_ids, tags_disclosed, purpose, outcome, prev_hash, hash)
SELECT k.referral_date::timestamptz + e.id * interval '1 second', e.request_id, e.user_id, e.org_id, e.roles,
       k.panel_id, e.action, e.route, e.method, e.object_type,
       ARRAY(SELECT md5(o::text || ':' || k.g)::uuid FROM unnest(e.object_ids) o),
       e.tags_disclosed, e.purpose, e.outcome, e.prev_hash, e.hash
FROM clone k JOIN audit_events e ON k.template_id = ANY (e.object_ids) AND e.object_type = 'case'
UNION ALL
SELECT k.referral_date::timestamptz + e.id * interval '1 second', e.request_id, e.user_id, e.org_id, e.roles,
       k.panel_id, e.action, e.route, e.method, e.object_type,
       ARRAY(SELECT md5(o::text || ':' || k.g)::uuid FROM unnest(e.object_ids) o),
       e.tags_disclosed, e.purpose, e.outcome, e.prev_hash, e.hash
FROM clone k JOIN actions a ON a.case_id = k.template_id JOIN audit_events e ON a.id = ANY (e.object_ids)
WHERE e.object_type = 'action';

COMMIT;
ANALYZE;
