-- Grows a confer database to national scale by cloning the template cases (bench/templates.py)
-- in bulk, one transaction, set-based: every row is a copy of one the service wrote, with new ids
-- (md5 of the template id and the clone number, so a case's people, actions and audit events
-- follow it), a referral date spread over ten years, and a MARAC panel of its own. Each panel
-- meets fortnightly for those ten years (copies of the template meeting, held), and every case
-- older than 30 days was heard at the first meeting on or after its referral date.
--
-- psql -v cases=N -v panels=P -f bench/clone.sql   (P MARAC panels in all, the demo's included)
--
-- Fast because it is bulk loading, not the service: columns are copied by name (one generated
-- INSERT … SELECT per table, no per-row record conversion), foreign-key triggers are off for the
-- load (session_replication_role = replica; every row copies one that passed them), and the
-- secondary indexes of the loaded tables are dropped first and rebuilt once at the end.
\set ON_ERROR_STOP on
BEGIN;
SET LOCAL session_replication_role = replica;
SET LOCAL maintenance_work_mem = '512MB';

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

-- Secondary indexes (not those behind a primary key or unique constraint) go for the load.
CREATE TEMP TABLE bench_dropped_index AS
SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index i
WHERE i.indrelid IN ('cases'::regclass, 'meetings'::regclass, 'agenda_items'::regclass, 'people'::regclass, 'case_participants'::regclass,
                     'case_status_history'::regclass, 'risk_assessments'::regclass,
                     'actions'::regclass, 'audit_events'::regclass)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid);
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT name FROM bench_dropped_index LOOP
        EXECUTE format('DROP INDEX %s', r.name);
    END LOOP;
END $$;

-- clone_rows(table, from, overrides): INSERT INTO table every column of the source rows `t`
-- (FROM … given), except the columns named in overrides, which take the SQL expression given.
CREATE FUNCTION pg_temp.clone_rows(target regclass, from_clause text, overrides jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    columns text;
    expressions text;
BEGIN
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum),
           string_agg(coalesce(overrides ->> attname, 't.' || quote_ident(attname)), ', ' ORDER BY attnum)
    INTO columns, expressions
    FROM pg_attribute
    WHERE attrelid = target AND attnum > 0 AND NOT attisdropped AND attidentity = '';
    EXECUTE format('INSERT INTO %s (%s) SELECT %s %s', target, columns, expressions, from_clause);
END $$;

SELECT pg_temp.clone_rows('cases', 'FROM clone k JOIN cases t ON t.id = k.template_id', jsonb_build_object(
    'id', 'k.id', 'panel_id', 'k.panel_id', 'reference', $$'BENCH-' || k.g$$, 'referral_date', 'k.referral_date',
    'status', $$CASE WHEN k.referral_date > current_date - 30 THEN 'referred' ELSE 'open' END$$,
    'created_at', 'k.referral_date::timestamptz', 'updated_at', 'k.referral_date::timestamptz'));

SELECT pg_temp.clone_rows('people',
    'FROM clone k JOIN case_participants cp ON cp.case_id = k.template_id JOIN people t ON t.id = cp.person_id',
    jsonb_build_object(
    'id', $$md5(t.id::text || ':' || k.g)::uuid$$, 'surname', 't.surname || k.g',
    'normalized_name', 't.normalized_name || k.g', 'created_at', 'k.referral_date::timestamptz'));

SELECT pg_temp.clone_rows('case_participants',
    'FROM clone k JOIN case_participants t ON t.case_id = k.template_id', jsonb_build_object(
    'case_id', 'k.id', 'person_id', $$md5(t.person_id::text || ':' || k.g)::uuid$$));

SELECT pg_temp.clone_rows('case_status_history',
    'FROM clone k JOIN case_status_history t ON t.case_id = k.template_id', jsonb_build_object(
    'id', $$md5(t.id::text || ':' || k.g)::uuid$$, 'case_id', 'k.id', 'changed_at', 'k.referral_date::timestamptz'));

SELECT pg_temp.clone_rows('risk_assessments',
    'FROM clone k JOIN risk_assessments t ON t.case_id = k.template_id', jsonb_build_object(
    'id', $$md5(t.id::text || ':' || k.g)::uuid$$, 'case_id', 'k.id', 'assessed_on', 'k.referral_date',
    'created_at', 'k.referral_date::timestamptz'));

SELECT pg_temp.clone_rows('actions', 'FROM clone k JOIN actions t ON t.case_id = k.template_id', jsonb_build_object(
    'id', $$md5(t.id::text || ':' || k.g)::uuid$$, 'case_id', 'k.id', 'panel_id', 'k.panel_id',
    'case_reference', $$'BENCH-' || k.g$$, 'due_date', 'k.referral_date + 28',
    'created_at', 'k.referral_date::timestamptz', 'updated_at', 'k.referral_date::timestamptz'));

-- Meeting j of a panel is held 14 × j days ago (j = 0 … 260: ten years).
CREATE TEMP TABLE template_meeting AS SELECT * FROM meetings ORDER BY created_at LIMIT 1;
SELECT pg_temp.clone_rows('meetings',
    'FROM bench_panel p CROSS JOIN generate_series(0, 260) j CROSS JOIN template_meeting t', jsonb_build_object(
    'id', $$md5(t.id::text || ':' || p.n || ':' || j)::uuid$$, 'panel_id', 'p.id', 'meeting_date', 'current_date - 14 * j',
    'agenda_cutoff_at', $$t.agenda_cutoff_at + (current_date - 14 * j - t.meeting_date) * interval '1 day'$$,
    'created_at', $$(current_date - 14 * j - 28)::timestamptz$$, 'updated_at', $$(current_date - 14 * j)::timestamptz$$));

SELECT pg_temp.clone_rows('agenda_items',
    'FROM clone k JOIN bench_panel p ON p.id = k.panel_id JOIN agenda_items t ON t.case_id = k.template_id
     WHERE k.referral_date <= current_date - 30', jsonb_build_object(
    'id', $$md5(t.id::text || ':' || k.g)::uuid$$, 'case_id', 'k.id', 'position', 'k.g',
    'meeting_id', $$md5(t.meeting_id::text || ':' || p.n || ':' || (current_date - k.referral_date) / 14)::uuid$$));

-- Audit events follow their case; their hashes are not a chain (bench data only: the audit
-- verification route would report the break, as it should for rows written behind its back).
CREATE TEMP TABLE template_event AS
SELECT e.*, t.id AS template_case_id
FROM audit_events e
JOIN cases t ON t.id = ANY (e.object_ids) AND e.object_type = 'case'
UNION ALL
SELECT e.*, a.case_id
FROM audit_events e
JOIN actions a ON a.id = ANY (e.object_ids) AND e.object_type = 'action'
WHERE a.case_id IN (SELECT id FROM template);
SELECT pg_temp.clone_rows('audit_events', 'FROM clone k JOIN template_event t ON t.template_case_id = k.template_id',
    jsonb_build_object(
    'occurred_at', $$k.referral_date::timestamptz + t.id * interval '1 second'$$, 'panel_id', 'k.panel_id',
    'object_ids', $$ARRAY(SELECT md5(o::text || ':' || k.g)::uuid FROM unnest(t.object_ids) o)$$));

DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT definition FROM bench_dropped_index LOOP
        EXECUTE r.definition;
    END LOOP;
END $$;

COMMIT;
ANALYZE;
